/* latency.c — end-to-end latency of a running fastlane pipeline: commit in MySQL/MariaDB to
 * the value arriving in Redis.
 *
 * W writers (connections of their own) commit single-row transactions on one fixed schedule
 * into a table (id INT PRIMARY KEY, ts BIGINT, v VARCHAR): transaction i, written by writer
 * i % W, inserts id i for the first K (a multiple of W) and then updates id = i % K, so each
 * id has one writer and its transactions stay in order. Each row
 * carries the wall-clock time in microseconds taken just before its statement is sent. A
 * subscriber thread listens to Redis keyspace notifications for PREFIX* (the server must have
 * notify-keyspace-events with K and $) and timestamps each SET of PREFIX<id> as it arrives;
 * it belongs to the latest transaction written for that id.
 *
 * The first -W seconds of the schedule (1 by default) are a warm-up: written and waited for,
 * not counted (connections, caches and the first inserts settle). Three latencies per counted
 * transaction:
 *   from the statement: notification time - the time written into the row (includes the
 *                       commit itself; an upper bound);
 *   from the commit:    notification time - the moment the commit returned to the client
 *                       (a lower bound: the change may reach Redis before the client's OK);
 *   the commit itself:  the commit's OK - the statement's send, MariaDB's own latency in the
 *                       same run (the reference: what the machine gives any round trip now).
 * With -N there is no Redis: only the commits are timed (the source alone, as a reference),
 * and a thread sleeping 1 ms at a time meanwhile notes how late each sleep ends.
 * Prints human lines and one JSON line ({"bench":"apply_latency",...}, with -N
 * {"bench":"commit_latency",...}), with the client's own CPU seconds (what measuring costs the
 * machine); -o FILE also writes each transaction's times, to see where a slow one spent them,
 * and the sequence number of its GTID (MariaDB reports it in the commit's OK when the session
 * tracks last_gtid: no extra round trip), which names it in the binlog and the journal. */
#include <errno.h>
#include <getopt.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <mysql.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct {
    int redis_port;
    const char *prefix;
    size_t prefix_len;
    uint32_t keys;
    atomic_int_fast64_t *last;    /* per id: the latest transaction written, -1 none */
    atomic_int_fast64_t *seen_us; /* per transaction: notification time, 0 not seen */
    atomic_int ready;             /* 1 subscribed, -1 failed */
    uint64_t stray;               /* notifications for no pending transaction */
} subscriber;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *subscribe(void *arg)
{
    subscriber *s = arg;
    redisContext *c = redisConnect("127.0.0.1", s->redis_port);
    if (!c || c->err) {
        fprintf(stderr, "latency: redis: %s\n", c ? c->errstr : "out of memory");
        atomic_store(&s->ready, -1);
        redisFree(c);
        return NULL;
    }
    redisReply *r = redisCommand(c, "PSUBSCRIBE __keyspace@*__:%s*", s->prefix);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        fprintf(stderr, "latency: redis: PSUBSCRIBE failed: %s\n", r ? "unexpected reply" : c->errstr);
        atomic_store(&s->ready, -1);
        freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    atomic_store(&s->ready, 1);
    for (;;) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK) {
            fprintf(stderr, "latency: redis: %s\n", c->errstr);
            break;
        }
        int64_t t = now_us();
        r = reply;
        /* pmessage, pattern, channel, event */
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 4 || r->element[2]->type != REDIS_REPLY_STRING ||
            r->element[3]->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            continue;
        }
        const char *chan = r->element[2]->str, *event = r->element[3]->str;
        const char *key = strchr(chan, ':');
        int stop = !strcmp(event, "stop");
        if (!stop && key && !strcmp(event, "set") && !strncmp(key + 1, s->prefix, s->prefix_len)) {
            char *end;
            errno = 0;
            long id = strtol(key + 1 + s->prefix_len, &end, 10);
            if (!errno && *end == '\0' && id >= 0 && (uint64_t)id < s->keys) {
                int64_t txn = atomic_load(&s->last[id]);
                if (txn >= 0 && atomic_load(&s->seen_us[txn]) == 0)
                    atomic_store(&s->seen_us[txn], t);
                else
                    s->stray++;
            }
        }
        freeReplyObject(r);
        if (stop) break;
    }
    redisFree(c);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* the q-th quantile (0..1) of n sorted values, nearest rank */
static int64_t quantile(const int64_t *v, size_t n, double q)
{
    size_t i = (size_t)(q * (double)n + 0.999999);
    if (i < 1) i = 1;
    if (i > n) i = n;
    return v[i - 1];
}

static void usage(void)
{
    fprintf(stderr, "usage: latency -P MYSQL_PORT (-r REDIS_PORT | -N) [-H host] [-u user] [-p password] "
                    "[-t db.table] [-k PREFIX] [-R rate] [-s seconds] [-W warm-up seconds] [-n keys] [-w writers] "
                    "[-o FILE]\n");
    exit(2);
}

typedef struct writer {
    const char *host, *user, *password, *table;
    int port;
    uint32_t index, count; /* this writer takes transactions index, index + count, ... */
    size_t total;
    uint32_t keys;
    struct timespec t0;
    double period_ns;
    subscriber *s;
    int64_t *start_us, *commit_us, *gtid_no;
    size_t late;
    int failed;
} writer;

/* The sequence number of the GTID the last commit on db got (MariaDB "domain-server-seq", as
 * session tracking reports it), 0 when none was reported. */
static int64_t last_gtid_no(MYSQL *db)
{
    const char *data;
    size_t len;
    bool value = false;
    for (int rc = mysql_session_track_get_first(db, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len); rc == 0;
         rc = mysql_session_track_get_next(db, SESSION_TRACK_SYSTEM_VARIABLES, &data, &len)) {
        if (!value) {
            value = len == 9 && !memcmp(data, "last_gtid", 9);
            continue;
        }
        size_t i = len;
        while (i > 0 && data[i - 1] != '-') i--;
        int64_t n = 0;
        for (; i < len && data[i] >= '0' && data[i] <= '9'; i++) n = n * 10 + (data[i] - '0');
        return n;
    }
    return 0;
}

static void *write_schedule(void *arg)
{
    writer *w = arg;
    MYSQL *db = mysql_init(NULL);
    if (!mysql_real_connect(db, w->host, w->user, w->password, NULL, (unsigned)w->port, NULL, 0) ||
        mysql_query(db, "SET autocommit = 1") ||
        /* each OK then names the transaction's GTID (no extra round trip): the trace's key
         * to the journal's records and the binlog */
        (w->gtid_no && mysql_query(db, "SET SESSION session_track_system_variables = 'last_gtid'"))) {
        fprintf(stderr, "latency: mysql: %s\n", mysql_error(db));
        mysql_close(db);
        w->failed = 1;
        return NULL;
    }
    char sql[512];
    for (size_t i = w->index; i < w->total; i += w->count) {
        uint64_t off = (uint64_t)((double)i * w->period_ns);
        struct timespec at = {w->t0.tv_sec + (time_t)(off / 1000000000), w->t0.tv_nsec + (long)(off % 1000000000)};
        if (at.tv_nsec >= 1000000000) {
            at.tv_sec++;
            at.tv_nsec -= 1000000000;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > at.tv_sec || (now.tv_sec == at.tv_sec && now.tv_nsec > at.tv_nsec + 1000000))
            w->late++;
        else
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);

        uint32_t id = (uint32_t)(i % w->keys);
        atomic_store(&w->s->last[id], (int64_t)i);
        w->start_us[i] = now_us();
        if (i < w->keys)
            snprintf(sql, sizeof sql, "INSERT INTO %s (id, ts, v) VALUES (%u, %" PRId64 ", 'txn-%zu')", w->table,
                     id, w->start_us[i], i);
        else
            snprintf(sql, sizeof sql, "UPDATE %s SET ts = %" PRId64 ", v = 'txn-%zu' WHERE id = %u", w->table,
                     w->start_us[i], i, id);
        if (mysql_query(db, sql)) {
            fprintf(stderr, "latency: mysql: %s: %s\n", sql, mysql_error(db));
            w->failed = 1;
            break;
        }
        w->commit_us[i] = now_us();
        if (w->gtid_no) w->gtid_no[i] = last_gtid_no(db);
    }
    mysql_close(db);
    return NULL;
}

/* the median, 99th and 99.9th percentiles and the maximum of n values (sorted here), in us */
typedef struct {
    int64_t p50, p99, p999, max;
} spread;

static spread spread_of(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_i64);
    return (spread){quantile(v, n, 0.5), quantile(v, n, 0.99), quantile(v, n, 0.999), v[n - 1]};
}

static void show(const char *what, spread s)
{
    printf("  %-48s p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n", what, (double)s.p50 / 1000,
           (double)s.p99 / 1000, (double)s.p999 / 1000, (double)s.max / 1000);
}

static void sleep_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&d, NULL);
}

/* With -N: a thread that sleeps 1 ms at a time while the writers run and notes how late it
 * wakes each time: what one sleep and wake-up costs on the machine now (every stage of a
 * live pipeline sleeps and is woken for each transaction when the stream is quiet). */
typedef struct {
    atomic_bool stop;
    int64_t *late_us;
    size_t n, cap;
} sleeper;

static void *sleep_and_wake(void *arg)
{
    sleeper *z = arg;
    while (!atomic_load(&z->stop) && z->n < z->cap) {
        struct timespec a, b, d = {0, 1000000};
        clock_gettime(CLOCK_MONOTONIC, &a);
        nanosleep(&d, NULL);
        clock_gettime(CLOCK_MONOTONIC, &b);
        z->late_us[z->n++] = ((int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec) - 1000000) /
                             1000;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *user = "root", *password = "", *table = "b.lat", *trace = NULL;
    int mysql_port = 0, opt;
    uint32_t nwriters = 1;
    double rate = 1000, seconds = 10, warmup = 1;
    bool no_redis = false;
    subscriber s = {.prefix = "lat:", .keys = 1000};
    while ((opt = getopt(argc, argv, "H:P:u:p:r:Nt:k:R:s:W:n:w:o:")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'P': mysql_port = atoi(optarg); break;
        case 'u': user = optarg; break;
        case 'p': password = optarg; break;
        case 'r': s.redis_port = atoi(optarg); break;
        case 'N': no_redis = true; break;
        case 't': table = optarg; break;
        case 'k': s.prefix = optarg; break;
        case 'R': rate = atof(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'W': warmup = atof(optarg); break;
        case 'n': s.keys = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'w': nwriters = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'o': trace = optarg; break;
        default: usage();
        }
    }
    if (mysql_port <= 0 || (s.redis_port <= 0) != no_redis || rate <= 0 || rate > 1e6 || seconds <= 0 ||
        seconds > 3600 || warmup < 0 || warmup > 3600 || s.keys == 0 || s.keys > 10000000 || strlen(table) > 200 ||
        nwriters == 0 || nwriters > 64 || s.keys % nwriters != 0)
        usage();
    s.prefix_len = strlen(s.prefix);
    size_t skip = (size_t)(rate * warmup), total = skip + (size_t)(rate * seconds);
    if (total == skip) usage();

    s.last = malloc(sizeof *s.last * s.keys);
    s.seen_us = malloc(sizeof *s.seen_us * total);
    int64_t *start_us = calloc(total, sizeof *start_us), *commit_us = calloc(total, sizeof *commit_us),
            *gtid_no = trace ? calloc(total, sizeof *gtid_no) : NULL;
    int64_t *lat_stmt = malloc(sizeof(int64_t) * total), *lat_commit = malloc(sizeof(int64_t) * total),
            *lat_ack = malloc(sizeof(int64_t) * total);
    writer *writers = calloc(nwriters, sizeof *writers);
    pthread_t *wth = calloc(nwriters, sizeof *wth);
    if (!s.last || !s.seen_us || !start_us || !commit_us || !lat_stmt || !lat_commit || !lat_ack || !writers ||
        !wth || (trace && !gtid_no)) {
        fprintf(stderr, "latency: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < s.keys; i++) atomic_init(&s.last[i], -1);
    for (size_t i = 0; i < total; i++) atomic_init(&s.seen_us[i], 0);
    atomic_init(&s.ready, 0);

    if (mysql_library_init(0, NULL, NULL)) { /* once, before the writer threads connect */
        fprintf(stderr, "latency: mysql: cannot initialise the client library\n");
        return 1;
    }
    pthread_t th;
    if (!no_redis) {
        if (pthread_create(&th, NULL, subscribe, &s)) {
            fprintf(stderr, "latency: cannot start the subscriber thread\n");
            return 1;
        }
        while (atomic_load(&s.ready) == 0) sleep_ms(1);
        if (atomic_load(&s.ready) < 0) return 1;
    }

    sleeper z = {.cap = no_redis ? (size_t)((seconds + warmup) * 1000) + 1000 : 0};
    pthread_t zth;
    if (z.cap) {
        atomic_init(&z.stop, false);
        z.late_us = malloc(sizeof *z.late_us * z.cap);
        if (!z.late_us || pthread_create(&zth, NULL, sleep_and_wake, &z)) {
            fprintf(stderr, "latency: cannot start the sleeper thread\n");
            return 1;
        }
    }

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    t0.tv_nsec += 50000000; /* every writer connected before the first transaction is due */
    if (t0.tv_nsec >= 1000000000) {
        t0.tv_sec++;
        t0.tv_nsec -= 1000000000;
    }
    for (uint32_t w = 0; w < nwriters; w++) {
        writers[w] = (writer){.host = host,
                              .user = user,
                              .password = password,
                              .table = table,
                              .port = mysql_port,
                              .index = w,
                              .count = nwriters,
                              .total = total,
                              .keys = s.keys,
                              .t0 = t0,
                              .period_ns = 1e9 / rate,
                              .s = &s,
                              .start_us = start_us,
                              .commit_us = commit_us,
                              .gtid_no = gtid_no};
        if (pthread_create(&wth[w], NULL, write_schedule, &writers[w])) {
            fprintf(stderr, "latency: cannot start a writer thread\n");
            return 1;
        }
    }
    size_t late = 0;
    int failed = 0;
    for (uint32_t w = 0; w < nwriters; w++) {
        pthread_join(wth[w], NULL);
        late += writers[w].late;
        failed |= writers[w].failed;
    }
    if (z.cap) {
        atomic_store(&z.stop, true);
        pthread_join(zth, NULL);
    }
    if (failed) return 1;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

    if (!no_redis) {
        /* wait up to 5 s for the last notifications, then stop the subscriber */
        for (int w = 0; w < 5000; w++) {
            size_t i = 0;
            while (i < nwriters && total > i && atomic_load(&s.seen_us[total - 1 - i]) != 0) i++;
            if (i == nwriters || i == total) break;
            sleep_ms(1);
        }
        redisContext *pc = redisConnect("127.0.0.1", s.redis_port);
        if (!pc || pc->err) {
            fprintf(stderr, "latency: redis: %s\n", pc ? pc->errstr : "out of memory");
            return 1;
        }
        freeReplyObject(redisCommand(pc, "PUBLISH __keyspace@0__:%sstop stop", s.prefix));
        redisFree(pc);
        pthread_join(th, NULL);
    }

    struct rusage ru; /* the client's own CPU (writers, subscriber, sleeper): what measuring costs */
    getrusage(RUSAGE_SELF, &ru);
    double client_cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    FILE *tf = trace ? fopen(trace, "w") : NULL;
    if (trace && !tf) fprintf(stderr, "latency: %s: cannot write\n", trace);
    if (tf) {
        /* per transaction: its number, then statement sent, commit returned, seen in Redis (us),
         * and its GTID's sequence number (0: not reported) */
        for (size_t i = 0; i < total; i++)
            fprintf(tf, "%zu %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", i, start_us[i], commit_us[i],
                    (int64_t)atomic_load(&s.seen_us[i]), gtid_no[i]);
        fclose(tf);
    }
    size_t counted = total - skip, n = 0;
    for (size_t i = skip; i < total; i++) {
        lat_ack[i - skip] = commit_us[i] - start_us[i];
        int64_t seen = atomic_load(&s.seen_us[i]);
        if (!seen) continue;
        lat_stmt[n] = seen - start_us[i];
        lat_commit[n] = seen - commit_us[i];
        n++;
    }
    spread ack = spread_of(lat_ack, counted);
    double achieved = (double)total / took;
    if (no_redis) {
        printf("commit latency: %zu transactions at %.0f txn/s (target %.0f, %u writer%s, %zu sent late), %zu "
               "counted after a %.1f s warm-up\n",
               total, achieved, rate, nwriters, nwriters == 1 ? "" : "s", late, counted, warmup);
        show("the commit itself (statement to its OK):", ack);
        spread wake = z.n ? spread_of(z.late_us, z.n) : (spread){0, 0, 0, 0};
        show("meanwhile, a 1 ms sleep woke late by:", wake);
        printf("  this client's own CPU: %.2f s\n", client_cpu);
        printf("{\"bench\":\"commit_latency\",\"transactions\":%zu,\"counted\":%zu,\"target_txn_s\":%.0f,"
               "\"txn_s\":%.0f,\"writers\":%u,\"late\":%zu,\"client_cpu_s\":%.3f,\"commit_p50_us\":%" PRId64
               ",\"commit_p99_us\":%" PRId64 ",\"commit_p999_us\":%" PRId64 ",\"commit_max_us\":%" PRId64
               ",\"wake_late_p50_us\":%" PRId64 ",\"wake_late_p99_us\":%" PRId64 ",\"wake_late_p999_us\":%" PRId64
               "}\n",
               total, counted, rate, achieved, nwriters, late, client_cpu, ack.p50, ack.p99, ack.p999, ack.max,
               wake.p50, wake.p99, wake.p999);
    } else if (n == 0) {
        fprintf(stderr, "latency: no change reached Redis (is fl-apply running, notify-keyspace-events set?)\n");
        printf("{\"bench\":\"apply_latency\",\"error\":\"no change reached Redis\"}\n");
    } else {
        spread stmt = spread_of(lat_stmt, n), commit = spread_of(lat_commit, n);
        printf("live latency: %zu transactions at %.0f txn/s (target %.0f, %u writer%s, %zu sent late); of the "
               "%zu after a %.1f s warm-up, %zu seen in Redis (%zu not)\n",
               total, achieved, rate, nwriters, nwriters == 1 ? "" : "s", late, counted, warmup, n, counted - n);
        if (s.stray) printf("  %" PRIu64 " notifications matched no pending transaction\n", s.stray);
        show("from the statement (time in the row) to Redis:", stmt);
        show("from the commit's OK to Redis:", commit);
        show("the commit itself (statement to its OK):", ack);
        printf("  this client's own CPU (writers and subscriber): %.2f s\n", client_cpu);
        printf("{\"bench\":\"apply_latency\",\"transactions\":%zu,\"counted\":%zu,\"target_txn_s\":%.0f,"
               "\"txn_s\":%.0f,\"writers\":%u,\"late\":%zu,\"seen\":%zu,\"client_cpu_s\":%.3f,\"p50_us\":%" PRId64
               ",\"p99_us\":%" PRId64 ",\"p999_us\":%" PRId64 ",\"max_us\":%" PRId64
               ",\"p50_after_commit_us\":%" PRId64 ",\"p99_after_commit_us\":%" PRId64
               ",\"commit_p50_us\":%" PRId64 ",\"commit_p99_us\":%" PRId64 "}\n",
               total, counted, rate, achieved, nwriters, late, n, client_cpu, stmt.p50, stmt.p99, stmt.p999,
               stmt.max, commit.p50, commit.p99, ack.p50, ack.p99);
    }
    free(s.last);
    free(s.seen_us);
    free(start_us);
    free(commit_us);
    free(gtid_no);
    free(lat_stmt);
    free(lat_commit);
    free(lat_ack);
    free(z.late_us);
    free(writers);
    free(wth);
    mysql_library_end();
    return no_redis || (n > 0 && n == counted) ? 0 : 1;
}
