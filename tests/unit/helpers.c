/* helpers.c — free ports, temporary directories and one-row journal transactions for the unit
 * tests (see helpers.h). */
#include "tests/unit/helpers.h"

#include "common/txn.h"
#include "journal/store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int th_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l)) {
        perror("free port");
        abort();
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool redis_answers(int port)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    bool ok = false;
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        ok = r && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
    }
    if (c) redisFree(c);
    return ok;
}

pid_t th_redis_start(int port)
{
    pid_t pid = fork();
    if (pid == 0) {
        char p[16];
        snprintf(p, sizeof p, "%d", port);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--dir", "/tmp", (char *)NULL);
        _exit(127);
    }
    if (pid < 0) return -1;
    for (int i = 0; i < 200; i++) {
        if (redis_answers(port)) return pid;
        usleep(20000);
    }
    th_process_stop(&pid);
    return -1;
}

int th_redis_port;
static pid_t group_redis = -1;

int th_redis_group_start(void **state)
{
    (void)state;
    th_redis_port = th_free_port();
    group_redis = th_redis_start(th_redis_port);
    return group_redis < 0 ? -1 : 0;
}

int th_redis_group_stop(void **state)
{
    (void)state;
    th_process_stop(&group_redis);
    return 0;
}

void th_process_stop(pid_t *pid)
{
    if (*pid <= 0) return;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = -1;
}

int th_tmpdir_make(char *dir, size_t size, const char *name)
{
    int n = snprintf(dir, size, "/tmp/fl-test-%s-XXXXXX", name);
    if (n < 0 || (size_t)n >= size) return -1;
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int th_tmpdir_remove(const char *dir) { return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int th_journal_add_row(struct fl_store *s, uint64_t n, const char *table, int chunk, bool last, uint64_t ts)
{
    static const char *cols[] = {"id"};
    char err[256];
    fl_txn t;
    fl_txn_init(&t);
    t.gtid.flavor = FL_FLAVOR_MARIADB;
    t.gtid.server_id = 1;
    t.gtid.seq_no = n;
    t.ts = ts;
    t.flags = FL_TXN_LAST_PART;
    uint32_t ti = fl_txn_table(&t, "app", table, 1, cols);
    fl_change *c = fl_txn_add_change(&t, chunk >= 0 ? FL_OP_SNAPSHOT : FL_OP_INSERT);
    c->table = ti;
    c->after = fl_txn_values(&t, 1);
    c->after[0].type = FL_VAL_INT;
    c->after[0].i = (int64_t)n;
    t.nrows = 1;
    if (chunk >= 0) {
        t.flags |= FL_TXN_SNAPSHOT | (last ? FL_TXN_SNAPSHOT_LAST : 0);
        t.snapshot_table = ti;
        t.snapshot_chunk = (uint64_t)chunk;
    }
    int rc = fl_store_add(s, &t, err, sizeof err) == 0 && fl_store_commit(s, NULL, err, sizeof err) == 0 ? 0 : -1;
    if (rc) fprintf(stderr, "th_journal_add_row: %s\n", err);
    fl_txn_free(&t);
    return rc;
}
