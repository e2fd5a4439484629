/* fsync_latency.c — the disk's own commit latency, the floor under a journal with
 * `sync = group`: N times, write a small block at the end of a file in DIR and fdatasync it
 * (as a journal commit appends and syncs), timing each write+fdatasync. With -R, the syncs
 * are paced at RATE a second (a journal committing live does one per transaction at most),
 * and with -s they go on for SECONDS rather than COUNT times: so the disk can be measured
 * while other work (the source's own writes) runs on it.
 * Usage: fsync_latency [-n COUNT | -s SECONDS] [-R RATE] [-b BYTES] DIR. Prints a human
 * line and one JSON line ({"bench":"fsync_latency",...}) with p50, p99 and max in
 * microseconds. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

int main(int argc, char **argv)
{
    long count = 2000, bytes = 4096;
    double rate = 0, seconds = 0;
    int opt;
    while ((opt = getopt(argc, argv, "n:b:R:s:")) != -1) {
        switch (opt) {
        case 'n': count = strtol(optarg, NULL, 10); break;
        case 'b': bytes = strtol(optarg, NULL, 10); break;
        case 'R': rate = atof(optarg); break;
        case 's': seconds = atof(optarg); break;
        default: goto usage;
        }
    }
    if (optind != argc - 1 || count < 1 || count > 10000000 || bytes < 1 || bytes > 64 * 1024 * 1024 || rate < 0 ||
        rate > 1e6 || seconds < 0 || seconds > 3600 || (seconds > 0 && rate == 0))
        goto usage;
    if (seconds > 0) count = (long)(seconds * rate);
    if (count < 1 || count > 10000000) goto usage;

    char path[4096];
    snprintf(path, sizeof path, "%s/fsync_latency.%ld", argv[optind], (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "fsync_latency: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *block = malloc((size_t)bytes);
    int64_t *lat = malloc(sizeof *lat * (size_t)count);
    if (!block || !lat) {
        fprintf(stderr, "fsync_latency: out of memory\n");
        return 1;
    }
    memset(block, 'x', (size_t)bytes);
    int64_t start = now_ns();
    for (long i = 0; i < count; i++) {
        if (rate > 0) { /* the i-th sync is due at start + i / rate; a late one goes at once */
            int64_t due = start + (int64_t)((double)i * 1e9 / rate);
            struct timespec at = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
        }
        int64_t t0 = now_ns();
        if (write(fd, block, (size_t)bytes) != (ssize_t)bytes || fdatasync(fd) != 0) {
            fprintf(stderr, "fsync_latency: %s: %s\n", path, strerror(errno));
            unlink(path);
            return 1;
        }
        lat[i] = now_ns() - t0;
    }
    close(fd);
    unlink(path);
    qsort(lat, (size_t)count, sizeof *lat, cmp_i64);
    int64_t p50 = quantile(lat, (size_t)count, 0.5) / 1000, p99 = quantile(lat, (size_t)count, 0.99) / 1000,
            max = lat[count - 1] / 1000;
    char paced[64] = "";
    if (rate > 0) snprintf(paced, sizeof paced, " (%.0f a second)", rate);
    printf("fdatasync after a %ld-byte append, %ld times%s in %s: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", bytes,
           count, paced, argv[optind], (double)p50 / 1000, (double)p99 / 1000, (double)max / 1000);
    printf("{\"bench\":\"fsync_latency\",\"count\":%ld,\"bytes\":%ld,\"rate\":%.0f,\"p50_us\":%" PRId64
           ",\"p99_us\":%" PRId64 ",\"max_us\":%" PRId64 "}\n",
           count, bytes, rate, p50, p99, max);
    free(block);
    free(lat);
    return 0;
usage:
    fprintf(stderr, "usage: fsync_latency [-n COUNT | -s SECONDS -R RATE] [-R RATE] [-b BYTES] DIR\n");
    return 2;
}
