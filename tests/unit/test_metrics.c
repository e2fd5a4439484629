/* test_metrics.c — the metrics registry, its Prometheus rendering, and the HTTP endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/metrics.h"
#include "tests/unit/helpers.h"

static int teardown(void **state)
{
    (void)state;
    fl_metrics_shutdown();
    return 0;
}

static void test_render(void **state)
{
    (void)state;
    fl_metric *tx = fl_metric_counter("fastlane_test_transactions_total", "Transactions.");
    fl_metric *lag = fl_metric_gauge("fastlane_test_lag_seconds", "Lag.");
    fl_metric *gtid = fl_metric_info("fastlane_test_gtid", "gtid", "Current GTID.");
    assert_ptr_equal(tx, fl_metric_counter("fastlane_test_transactions_total", "again"));
    fl_metric_add(tx, 3);
    fl_metric_add(tx, 4);
    fl_metric_set(lag, 0.25);
    fl_metric_set_text(gtid, "0-1-\"7\"");
    assert_true(fl_metric_value(tx) == 7.0);
    fl_buf out = {0};
    fl_metrics_render(&out);
    assert_string_equal(fl_buf_cstr(&out), "# HELP fastlane_test_transactions_total Transactions.\n"
                                           "# TYPE fastlane_test_transactions_total counter\n"
                                           "fastlane_test_transactions_total 7\n"
                                           "# HELP fastlane_test_lag_seconds Lag.\n"
                                           "# TYPE fastlane_test_lag_seconds gauge\n"
                                           "fastlane_test_lag_seconds 0.25\n"
                                           "# HELP fastlane_test_gtid Current GTID.\n"
                                           "# TYPE fastlane_test_gtid gauge\n"
                                           "fastlane_test_gtid{gtid=\"0-1-\\\"7\\\"\"} 1\n");
    fl_buf_free(&out);
}

/* Series of one family share one HELP/TYPE header, whatever order they were registered in. */
static void test_series(void **state)
{
    (void)state;
    fl_metric *st = fl_metric_counter_series("fastlane_test_not_applied_total", "kind", "statement",
                                             "Not applied.");
    fl_metric *other = fl_metric_gauge("fastlane_test_other", "Other.");
    fl_metric *ddl = fl_metric_counter_series("fastlane_test_not_applied_total", "kind", "ddl", "ignored");
    assert_ptr_equal(st, fl_metric_counter_series("fastlane_test_not_applied_total", "kind", "statement", "x"));
    assert_ptr_not_equal(st, ddl);
    fl_metric_add(st, 2);
    fl_metric_add(ddl, 5);
    fl_metric_set(other, 1);
    fl_buf out = {0};
    fl_metrics_render(&out);
    assert_string_equal(fl_buf_cstr(&out), "# HELP fastlane_test_not_applied_total Not applied.\n"
                                           "# TYPE fastlane_test_not_applied_total counter\n"
                                           "fastlane_test_not_applied_total{kind=\"statement\"} 2\n"
                                           "fastlane_test_not_applied_total{kind=\"ddl\"} 5\n"
                                           "# HELP fastlane_test_other Other.\n"
                                           "# TYPE fastlane_test_other gauge\n"
                                           "fastlane_test_other 1\n");
    fl_buf_free(&out);
}

static char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    static char resp[8192];
    size_t len = 0;
    ssize_t r;
    while ((r = recv(fd, resp + len, sizeof resp - 1 - len, 0)) > 0) len += (size_t)r;
    resp[len] = 0;
    close(fd);
    return resp;
}

static void test_http(void **state)
{
    (void)state;
    fl_metric *m = fl_metric_counter("fastlane_test_rows_total", "Rows.");
    fl_metric_add(m, 42);
    int port = th_free_port();
    char addr[64], err[256];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    assert_int_equal(fl_metrics_serve(addr, err, sizeof err), 0);
    char *resp = http_get(port, "/metrics");
    assert_non_null(strstr(resp, "HTTP/1.0 200 OK"));
    assert_non_null(strstr(resp, "\nfastlane_test_rows_total 42\n"));
    resp = http_get(port, "/nope");
    assert_non_null(strstr(resp, "404"));
}

static void test_bad_listen(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(fl_metrics_serve("nonsense", err, sizeof err), -1);
    assert_non_null(strstr(err, "[metrics]"));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ntohs(a.sin_port));
    assert_int_equal(fl_metrics_serve(addr, err, sizeof err), -1);
    assert_non_null(strstr(err, "Address already in use"));
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_render, teardown),
        cmocka_unit_test_teardown(test_series, teardown),
        cmocka_unit_test_teardown(test_http, teardown),
        cmocka_unit_test_teardown(test_bad_listen, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
