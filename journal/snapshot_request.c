/* snapshot_request.c — the snapshot request file and the writer-lock probe (see
 * snapshot_request.h). */
#include "journal/snapshot_request.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "journal/store.h"

#define TAKE_WAIT_MS 30000
#define LOOK_EVERY_MS 50

bool fl_journal_writer_running(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/writer.lock", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

void fl_snapshot_request_path(const char *dir, char *buf, size_t n)
{
    snprintf(buf, n, "%s/" FL_SNAPSHOT_REQUEST_FILE, dir);
}

void fl_snapshot_put_hex(fl_buf *b, const char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    if (n == 0) fl_buf_putc(b, '-');
    for (size_t i = 0; i < n; i++) {
        fl_buf_putc(b, (uint8_t)hx[(uint8_t)p[i] >> 4]);
        fl_buf_putc(b, (uint8_t)hx[(uint8_t)p[i] & 15]);
    }
}

int fl_snapshot_request_send(const char *dir, const char *text, char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    fl_snapshot_request_path(dir, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    if (!fl_journal_writer_running(dir)) {
        snprintf(err, errlen, "no relay is running on journal %s", dir);
        return -1;
    }
    for (int waited = 0; access(path, F_OK) == 0; waited += LOOK_EVERY_MS) { /* another request not taken yet */
        if (waited >= TAKE_WAIT_MS) {
            snprintf(err, errlen, "the relay has not taken %s for %d s", path, TAKE_WAIT_MS / 1000);
            return -1;
        }
        poll(NULL, 0, LOOK_EVERY_MS);
    }
    size_t len = strlen(text);
    FILE *f = fopen(tmp, "w");
    bool written = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f) != 0) written = false;
    if (!written || rename(tmp, path) != 0) {
        snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    for (int waited = 0; access(path, F_OK) == 0; waited += LOOK_EVERY_MS) {
        if (waited >= TAKE_WAIT_MS || !fl_journal_writer_running(dir)) {
            unlink(path);
            snprintf(err, errlen, "the relay did not take the request within %d s", TAKE_WAIT_MS / 1000);
            return -1;
        }
        poll(NULL, 0, LOOK_EVERY_MS);
    }
    return 0;
}

/* The request text for list: one "table DBHEX NAMEHEX" line per item; -1 with err when an
 * item is not db.table or none is named. */
static int tables_text(const char *list, fl_buf *out, char *err, size_t errlen)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *item = p;
        p += n + (comma ? 1 : 0);
        while (n && *item == ' ') item++, n--;
        while (n && item[n - 1] == ' ') n--;
        if (!n) continue;
        const char *dot = memchr(item, '.', n);
        if (!dot || dot == item || dot == item + n - 1) {
            snprintf(err, errlen, "snapshot request: '%.*s' is not db.table", (int)(n > 200 ? 200 : n), item);
            return -1;
        }
        fl_buf_puts(out, "table ");
        fl_snapshot_put_hex(out, item, (size_t)(dot - item));
        fl_buf_putc(out, ' ');
        fl_snapshot_put_hex(out, dot + 1, n - (size_t)(dot - item) - 1);
        fl_buf_putc(out, '\n');
    }
    if (!out->len) {
        snprintf(err, errlen, "snapshot request: no table named");
        return -1;
    }
    return 0;
}

int fl_snapshot_request_tables(const char *dir, const char *list, char *err, size_t errlen)
{
    fl_buf text = {0};
    if (tables_text(list, &text, err, errlen) < 0) {
        fl_buf_free(&text);
        return -1;
    }
    char path[4096], tmp[4200];
    fl_snapshot_request_path(dir, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    bool written = f && fwrite(text.data, 1, text.len, f) == text.len;
    if (f && fclose(f) != 0) written = false;
    fl_buf_free(&text);
    int rc = 0;
    if (!written) {
        snprintf(err, errlen, "snapshot request: writing %s: %s", tmp, strerror(errno));
        rc = -1;
    } else if (link(tmp, path) != 0) { /* unlike rename, never replaces a request not taken yet */
        if (errno == EEXIST) {
            rc = 1;
        } else {
            snprintf(err, errlen, "snapshot request: %s: %s", path, strerror(errno));
            rc = -1;
        }
    }
    unlink(tmp);
    return rc;
}

int fl_snapshot_repairs_pending(const char *dir, bool *pending, char *err, size_t errlen)
{
    fl_store_opts o = {0};
    fl_store *st = fl_store_open(dir, &o, err, errlen);
    if (!st) return -1;
    char *text = NULL;
    int rc = fl_store_snapshot_progress(st, &text, err, errlen);
    fl_store_close(st);
    if (rc < 0) return -1;
    *pending = !strncmp(text, "repair ", 7) || strstr(text, "\nrepair ") != NULL;
    free(text);
    return 0;
}
