/* metrics.c — a registry of named metrics guarded by one mutex, and a thread that answers
 * HTTP GET /metrics with their Prometheus text. Updates take the mutex briefly; they happen
 * once per batch or transaction, never per byte, so contention is negligible. The HTTP side
 * reads one request (bounded size and time), answers, and closes the connection. */
#include "common/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/net.h"

enum metric_kind { M_COUNTER, M_GAUGE, M_INFO };

struct fl_metric {
    char *name, *help, *label;
    char *series; /* a fixed label of one series of a family, rendered as {k="v"}, or NULL */
    enum metric_kind kind;
    double value;
    char *text;
    struct fl_metric *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static fl_metric *metrics, **metrics_tail = &metrics;
static pthread_t server_thread;
static bool serving;
static int listen_fd = -1, stop_pipe[2] = {-1, -1};

static void put_label_value(fl_buf *out, const char *s);

static fl_metric *metric_register(const char *name, const char *help, const char *label, enum metric_kind kind,
                                  const char *series_label, const char *series_value)
{
    char *series = NULL;
    if (series_label) {
        fl_buf b = {0};
        fl_buf_printf(&b, "{%s=\"", series_label);
        put_label_value(&b, series_value);
        fl_buf_puts(&b, "\"}");
        series = fl_xstrdup(fl_buf_cstr(&b));
        fl_buf_free(&b);
    }
    pthread_mutex_lock(&lock);
    fl_metric *m;
    for (m = metrics; m; m = m->next)
        if (strcmp(m->name, name) == 0 && (m->series && series ? !strcmp(m->series, series) : m->series == series))
            break;
    if (m) {
        free(series);
    } else {
        m = fl_xcalloc(1, sizeof *m);
        m->name = fl_xstrdup(name);
        m->help = fl_xstrdup(help);
        m->label = label ? fl_xstrdup(label) : NULL;
        m->series = series;
        m->kind = kind;
        *metrics_tail = m;
        metrics_tail = &m->next;
    }
    pthread_mutex_unlock(&lock);
    return m;
}

fl_metric *fl_metric_counter(const char *name, const char *help)
{
    return metric_register(name, help, NULL, M_COUNTER, NULL, NULL);
}
fl_metric *fl_metric_gauge(const char *name, const char *help)
{
    return metric_register(name, help, NULL, M_GAUGE, NULL, NULL);
}
fl_metric *fl_metric_counter_series(const char *name, const char *label, const char *value, const char *help)
{
    return metric_register(name, help, NULL, M_COUNTER, label, value);
}
fl_metric *fl_metric_info(const char *name, const char *label, const char *help)
{
    return metric_register(name, help, label, M_INFO, NULL, NULL);
}

void fl_metric_add(fl_metric *m, uint64_t n)
{
    pthread_mutex_lock(&lock);
    m->value += (double)n;
    pthread_mutex_unlock(&lock);
}

void fl_metric_set(fl_metric *m, double v)
{
    pthread_mutex_lock(&lock);
    m->value = v;
    pthread_mutex_unlock(&lock);
}

void fl_metric_set_text(fl_metric *m, const char *text)
{
    char *copy = fl_xstrdup(text ? text : "");
    pthread_mutex_lock(&lock);
    free(m->text);
    m->text = copy;
    pthread_mutex_unlock(&lock);
}

double fl_metric_value(const fl_metric *m)
{
    pthread_mutex_lock(&lock);
    double v = m->value;
    pthread_mutex_unlock(&lock);
    return v;
}

static fl_metric *last_error;

static void stamp_last_error(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (last_error) fl_metric_set(last_error, (double)ts.tv_sec + ts.tv_nsec / 1e9);
}

void fl_metrics_program(const char *prefix)
{
    char name[128];
    snprintf(name, sizeof name, "%s_build_info", prefix);
    fl_metric_set_text(fl_metric_info(name, "version", "The running build's version"), fl_version());
    snprintf(name, sizeof name, "%s_last_error_timestamp_seconds", prefix);
    last_error = fl_metric_gauge(name, "Time of the last error logged (0: none since start)");
    fl_log_on_error(stamp_last_error);
}

/* Label values escape backslash, double quote and newline. */
static void put_label_value(fl_buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            fl_buf_putc(out, '\\');
            fl_buf_putc(out, (uint8_t)*s);
        } else if (*s == '\n')
            fl_buf_puts(out, "\\n");
        else
            fl_buf_putc(out, (uint8_t)*s);
    }
}

void fl_metrics_render(fl_buf *out)
{
    static const char *types[] = {"counter", "gauge", "gauge"};
    pthread_mutex_lock(&lock);
    /* A family's HELP and TYPE once, then each of its series (registered in any order). */
    for (fl_metric *f = metrics; f; f = f->next) {
        bool seen = false;
        for (fl_metric *p = metrics; p != f && !seen; p = p->next) seen = !strcmp(p->name, f->name);
        if (seen) continue;
        fl_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, types[f->kind]);
        for (fl_metric *m = f; m; m = m->next) {
            if (strcmp(m->name, f->name) != 0) continue;
            if (m->kind == M_INFO) {
                fl_buf_printf(out, "%s{%s=\"", m->name, m->label);
                put_label_value(out, m->text ? m->text : "");
                fl_buf_puts(out, "\"} 1\n");
                continue;
            }
            fl_buf_printf(out, "%s%s ", m->name, m->series ? m->series : "");
            if (m->value == floor(m->value) && fabs(m->value) < 1e15)
                fl_buf_printf(out, "%.0f\n", m->value);
            else
                fl_buf_printf(out, "%.6g\n", m->value);
        }
    }
    pthread_mutex_unlock(&lock);
}

static void answer(int fd)
{
    char req[4096];
    size_t len = 0;
    /* Read the request head, at most 2 s and 4 KiB. */
    while (len < sizeof req - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0) return;
        ssize_t r = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (r <= 0) return;
        len += (size_t)r;
        req[len] = 0;
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n")) break;
    }
    fl_buf body = {0}, resp = {0};
    const char *status = "200 OK";
    if (strncmp(req, "GET /metrics", 12) == 0 && (req[12] == ' ' || req[12] == '?')) {
        fl_metrics_render(&body);
    } else if (strncmp(req, "GET / ", 6) == 0) {
        fl_buf_puts(&body, "fastlane metrics: GET /metrics\n");
    } else {
        status = "404 Not Found";
        fl_buf_puts(&body, "not found; try /metrics\n");
    }
    fl_buf_printf(&resp,
                  "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
                  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                  status, body.len);
    fl_buf_put(&resp, body.data, body.len);
    size_t off = 0;
    while (off < resp.len) {
        ssize_t w = send(fd, resp.data + off, resp.len - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    fl_buf_free(&body);
    fl_buf_free(&resp);
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN}, {.fd = stop_pipe[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[1].revents) break;
        if (p[0].revents) {
            int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) continue;
            answer(fd);
            close(fd);
        }
    }
    return NULL;
}

int fl_metrics_serve(const char *listen_addr, char *err, size_t errlen)
{
    int fd = fl_net_listen("[metrics]", listen_addr, 16, 0, err, errlen);
    if (fd < 0) return -1;
    if (pipe2(stop_pipe, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "[metrics] cannot create a pipe: %s", strerror(errno));
        close(fd);
        return -1;
    }
    listen_fd = fd;
    if (pthread_create(&server_thread, NULL, serve, NULL) != 0) {
        snprintf(err, errlen, "[metrics] cannot start the server thread");
        close(fd);
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        listen_fd = stop_pipe[0] = stop_pipe[1] = -1;
        return -1;
    }
    serving = true;
    return 0;
}

void fl_metrics_shutdown(void)
{
    if (serving) {
        ssize_t w = write(stop_pipe[1], "x", 1);
        (void)w;
        pthread_join(server_thread, NULL);
        close(listen_fd);
        close(stop_pipe[0]);
        close(stop_pipe[1]);
        listen_fd = stop_pipe[0] = stop_pipe[1] = -1;
        serving = false;
    }
    pthread_mutex_lock(&lock);
    for (fl_metric *m = metrics, *next; m; m = next) {
        next = m->next;
        free(m->name);
        free(m->help);
        free(m->label);
        free(m->series);
        free(m->text);
        free(m);
    }
    metrics = NULL;
    metrics_tail = &metrics;
    last_error = NULL;
    fl_log_on_error(NULL);
    pthread_mutex_unlock(&lock);
}
