/* ingest.c — binlog files into the journal.
 *
 * Each file is mapped read-only, checked for the "\xfebin" magic and walked event by event
 * (length from the header, bounds-checked against the file) through one decoder shared by
 * all files, so the GTID set carries over. Every emitted transaction is queued with
 * fl_store_add and committed in groups (every 1000 transactions or 8 MiB, and at the end of
 * each file) together with the position after it: the GTID set and FILE:OFFSET. A
 * transaction is skipped when its GTID is already in the journal's set, or — without a
 * GTID — when it ends at or before the stored offset of the same file (or lies in an earlier
 * file of the same series), so re-running appends nothing twice. On an error the
 * transaction in progress is dropped, the complete ones before it are committed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "fl-relay/decoder.h"
#include "fl-relay/events.h"
#include "fl-relay/ingest.h"
#include "journal/store.h"

#define BATCH_TXNS 1000
#define BATCH_BYTES (8u << 20)

typedef struct ingest {
    fl_store *store;
    const char *dir;
    bool sync;
    fl_gtid_set *journaled; /* GTIDs in the journal: the stored set and this run's */
    fl_position start;      /* the stored position when we started */
    const char *file;       /* basename of the file being read */
    uint64_t event_end;     /* offset after the event being decoded */
    bool skipping;          /* the parts of the current transaction are skipped */
    bool open_parts;        /* parts of an unfinished transaction are queued */
    bool parts_committed;   /* ... and some of them were committed */
    uint32_t batch_txns;
    bool have_pos; /* pos holds the position after the last complete txn */
    fl_position pos;
    uint64_t added, skipped;
    char err[512];
} ingest;

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* a.000003 before b: same series ("a") and a smaller number */
static bool earlier_in_series(const char *a, const char *b)
{
    const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
    if (!da || !db || da - a != db - b || strncmp(a, b, (size_t)(da - a)) != 0) return false;
    char *ea, *eb;
    unsigned long long na = strtoull(da + 1, &ea, 10), nb = strtoull(db + 1, &eb, 10);
    if (*ea || *eb || ea == da + 1 || eb == db + 1) return false;
    return na < nb;
}

static bool already_journaled(const ingest *in, const fl_txn *t)
{
    if (t->gtid.flavor != FL_FLAVOR_NONE)
        return in->journaled && fl_gtid_set_flavor(in->journaled) == t->gtid.flavor &&
               fl_gtid_set_contains(in->journaled, &t->gtid);
    if (!in->start.file || !in->start.file[0]) return false;
    if (!strcmp(in->start.file, in->file)) return in->event_end <= in->start.pos;
    return earlier_in_series(in->file, in->start.file);
}

static int commit(ingest *in, bool with_pos)
{
    char err[400];
    if (fl_store_commit(in->store, with_pos && in->have_pos ? &in->pos : NULL, err, sizeof err) != 0) {
        snprintf(in->err, sizeof in->err, "journal: %s", err);
        return -1;
    }
    in->batch_txns = 0;
    return 0;
}

/* Drops the queued parts of a transaction that will not finish (cut short, or rolled back
 * after its first parts were emitted). Parts already committed are removed by the writer's
 * recovery when the journal is opened again. */
static int drop_unfinished(ingest *in)
{
    fl_store_abort(in->store);
    in->open_parts = false;
    if (!in->parts_committed) return 0;
    in->parts_committed = false;
    fl_store_close(in->store);
    char err[400];
    fl_store_opts so = {.write = true, .sync = in->sync};
    in->store = fl_store_open(in->dir, &so, err, sizeof err);
    if (!in->store) {
        snprintf(in->err, sizeof in->err, "journal: %s", err);
        return -1;
    }
    return 0;
}

static int on_emit(void *ctx, fl_txn *t, const fl_decoder_pos *p)
{
    ingest *in = ctx;
    char err[400];
    if (t->part == 0 && in->open_parts && drop_unfinished(in) != 0) return 1;
    /* positions in the journal are offsets in the file read (relay logs carry the
     * primary's offsets in their headers) */
    t->file = in->file;
    t->pos = in->event_end;
    if (t->part == 0) in->skipping = already_journaled(in, t);
    bool last = t->flags & FL_TXN_LAST_PART;
    if (!in->skipping) {
        if (!last && t->part == 0 && in->batch_txns && commit(in, true) != 0) return 1;
        if (fl_store_add(in->store, t, err, sizeof err) != 0) {
            snprintf(in->err, sizeof in->err, "journal: %s", err);
            return 1;
        }
        if (last && t->gtid.flavor != FL_FLAVOR_NONE) {
            /* a GTID met again later in this run (another file) is not journaled twice */
            if (!in->journaled) in->journaled = fl_gtid_set_new(t->gtid.flavor);
            if (fl_gtid_set_flavor(in->journaled) == t->gtid.flavor ||
                fl_gtid_set_flavor(in->journaled) == FL_FLAVOR_NONE)
                fl_gtid_set_add(in->journaled, &t->gtid);
        }
        if (!last) {
            in->open_parts = true;
            if (fl_store_pending_bytes(in->store) >= BATCH_BYTES) {
                if (commit(in, false) != 0) return 1;
                in->parts_committed = true;
            }
            return 0;
        }
        in->added++;
    } else if (last) {
        in->skipped++;
    }
    if (!last) return 0;
    in->open_parts = in->parts_committed = false;
    free(in->pos.gtid_set);
    in->pos.gtid_set = fl_gtid_set_format(p->gtid_set);
    free(in->pos.file);
    in->pos.file = fl_xstrdup(in->file);
    in->pos.pos = in->event_end;
    in->pos.flavor = (uint32_t)p->flavor;
    in->have_pos = true;
    in->batch_txns++;
    if (in->batch_txns >= BATCH_TXNS || fl_store_pending_bytes(in->store) >= BATCH_BYTES)
        if (commit(in, true) != 0) return 1;
    return 0;
}

/* Reads one file through the decoder. Returns 0, or -1 with in->err set to
 * "event at offset N: REASON" (or another reason naming the offset). */
static int ingest_file(ingest *in, fl_decoder *d, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(in->err, sizeof in->err, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(in->err, sizeof in->err, "not a regular file");
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    const uint8_t *data = NULL;
    if (size > 0) {
        void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            snprintf(in->err, sizeof in->err, "mmap: %s", strerror(errno));
            close(fd);
            return -1;
        }
        data = m;
        madvise(m, size, MADV_SEQUENTIAL);
    }
    close(fd);
    int rc = 0;
    if (size < 4 || memcmp(data,
                           "\xfe"
                           "bin",
                           4) != 0) {
        snprintf(in->err, sizeof in->err, "not a binlog file (no \\xfebin magic at offset 0)");
        rc = -1;
    }
    in->file = base_name(path);
    size_t off = 4;
    while (rc == 0 && off < size) {
        if (size - off < FL_EV_HEADER_LEN) {
            snprintf(in->err, sizeof in->err,
                     "event at offset %zu: truncated: %zu bytes left, the header alone is 19", off, size - off);
            rc = -1;
            break;
        }
        size_t len = (size_t)fl_le(data + off + FL_EV_SIZE_OFF, 4);
        if (len < FL_EV_HEADER_LEN) {
            snprintf(in->err, sizeof in->err, "event at offset %zu: length %zu is below the 19-byte header", off,
                     len);
            rc = -1;
            break;
        }
        if (len > size - off) {
            snprintf(in->err, sizeof in->err,
                     "event at offset %zu: truncated: %zu bytes long, the file ends after %zu", off, len,
                     size - off);
            rc = -1;
            break;
        }
        fl_decoder_set_file(d, in->file, off);
        in->event_end = off + len;
        char err[450];
        int r = fl_decoder_event(d, data + off, len, err, sizeof err);
        if (r == -1) {
            snprintf(in->err, sizeof in->err, "%s", err);
            rc = -1;
        } else if (r != 0) {
            char why[300];
            memcpy(why, in->err, sizeof why - 1);
            why[sizeof why - 1] = 0;
            snprintf(in->err, sizeof in->err, "event at offset %zu: %.300s", off, why);
            rc = -1;
        }
        off += len;
    }
    if (size > 0) munmap((void *)data, size);
    if (rc == 0) {
        /* a transaction cut off by the end of the file is not journaled */
        fl_decoder_drop_partial(d);
    }
    return rc;
}

int fl_ingest_files(const char *journal_dir, const char *const *files, int nfiles, const fl_config_source *filter,
                    const fl_config_journal *journal_opts)
{
    char err[512];
    fl_store_opts so = {.write = true, .sync = journal_opts ? journal_opts->sync : true};
    ingest in;
    memset(&in, 0, sizeof in);
    in.dir = journal_dir;
    in.sync = so.sync;
    in.store = fl_store_open(journal_dir, &so, err, sizeof err);
    if (!in.store) {
        fprintf(stderr, "fl-relay: %s: %s\n", journal_dir, err);
        return 1;
    }
    if (fl_store_position(in.store, &in.start, err, sizeof err) != 0) {
        fprintf(stderr, "fl-relay: %s: %s\n", journal_dir, err);
        fl_store_close(in.store);
        return 1;
    }
    if (in.start.gtid_set && in.start.gtid_set[0])
        in.journaled = fl_gtid_set_parse(in.start.gtid_set, err, sizeof err);

    fl_decoder_opts opts = {
        .filter = filter,
        .emit = on_emit,
        .ctx = &in,
        .record_images = true,
        .initial_gtid_set = in.start.gtid_set,
        .initial_file = in.start.file,
    };
    fl_decoder *d = fl_decoder_new(&opts);
    int status = 0;
    for (int i = 0; i < nfiles && status == 0; i++) {
        bool repeated = false;
        for (int k = 0; k < i; k++)
            if (!strcmp(base_name(files[k]), base_name(files[i]))) repeated = true;
        if (repeated) {
            log_warn("%s: listed twice; read once", files[i]);
            continue;
        }
        in.have_pos = false;
        if (ingest_file(&in, d, files[i]) != 0) {
            fprintf(stderr, "fl-relay: %s: %s\n", files[i], in.err);
            status = 1;
        }
        /* parts of a transaction cut short (by an error or the end of the file): the
         * complete transactions before it were committed when its first part came */
        if (in.open_parts && drop_unfinished(&in) != 0) {
            fprintf(stderr, "fl-relay: %s: %s\n", files[i], in.err);
            status = 1;
            break;
        }
        if (commit(&in, true) != 0) {
            fprintf(stderr, "fl-relay: %s: %s\n", files[i], in.err);
            status = 1;
        }
        if (status == 0)
            log_info("%s: ingested (%llu transactions journaled, %llu already there)", base_name(files[i]),
                     (unsigned long long)in.added, (unsigned long long)in.skipped);
    }
    fl_decoder_free(d);
    if (in.store) fl_store_close(in.store);
    fl_gtid_set_free(in.journaled);
    fl_position_free(&in.start);
    fl_position_free(&in.pos);
    return status;
}
