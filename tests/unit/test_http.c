/* http: http_do against a real libmicrohttpd server on 127.0.0.1 with a
 * scripted sequence of responses. The client runs on a fake clock, so
 * backoff and Retry-After waits are instant and measured exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/http.h"

#define SEC    1000000LL
#define SECRET "sk_live_7fQ2xZ9SECRETkey"

enum step_kind { STEP_NORMAL, STEP_LIE_LENGTH, STEP_CHUNKED_BIG };

struct step {
    enum step_kind kind;
    unsigned status;
    const char *retry_after; /* NULL: no header */
    size_t body_len;         /* 0: use body */
    const char *body;
};

/* Shared with the server thread. */
static struct {
    pthread_mutex_t mu;
    struct step steps[16];
    int n_steps;
    int served;
    char last_auth[256];
    char last_method[16];
    char last_body[256];
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct MHD_Daemon *daemon_;
static unsigned short port;

static void script(const struct step *steps, int n)
{
    pthread_mutex_lock(&srv.mu);
    memcpy(srv.steps, steps, (size_t)n * sizeof *steps);
    srv.n_steps = n;
    srv.served = 0;
    srv.last_auth[0] = srv.last_method[0] = srv.last_body[0] = '\0';
    pthread_mutex_unlock(&srv.mu);
}

static int served(void)
{
    pthread_mutex_lock(&srv.mu);
    int n = srv.served;
    pthread_mutex_unlock(&srv.mu);
    return n;
}

/* Sends 10 bytes of a declared 1000, then fails so MHD closes the socket. */
static ssize_t lie_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= 10)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = 10 - (size_t)pos < max ? 10 - (size_t)pos : max;
    memset(buf, 'x', n);
    return (ssize_t)n;
}

/* An endless chunked body: the client must stop reading at its cap. */
static ssize_t chunk_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= 10 * 1024 * 1024)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = max < 4096 ? max : 4096;
    memset(buf, 'y', n);
    return (ssize_t)n;
}

struct upload {
    char body[256];
    size_t len;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    struct upload *up = *con_cls;
    if (!up) {
        up = calloc(1, sizeof *up);
        *con_cls = up;
        return up ? MHD_YES : MHD_NO;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (n > sizeof up->body - 1 - up->len)
            n = sizeof up->body - 1 - up->len;
        memcpy(up->body + up->len, upload_data, n);
        up->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }

    pthread_mutex_lock(&srv.mu);
    struct step st = {STEP_NORMAL, 500, NULL, 0, "script exhausted"};
    if (srv.served < srv.n_steps)
        st = srv.steps[srv.served];
    srv.served++;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    snprintf(srv.last_auth, sizeof srv.last_auth, "%s", auth ? auth : "");
    snprintf(srv.last_method, sizeof srv.last_method, "%s", method);
    snprintf(srv.last_body, sizeof srv.last_body, "%s", up->body);
    pthread_mutex_unlock(&srv.mu);

    struct MHD_Response *r;
    char *big = NULL;
    if (st.kind == STEP_LIE_LENGTH) {
        r = MHD_create_response_from_callback(1000, 64, lie_reader, NULL, NULL);
    } else if (st.kind == STEP_CHUNKED_BIG) {
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, chunk_reader, NULL, NULL);
    } else if (st.body_len) {
        big = malloc(st.body_len);
        memset(big, 'z', st.body_len);
        r = MHD_create_response_from_buffer(st.body_len, big, MHD_RESPMEM_MUST_FREE);
    } else {
        r = MHD_create_response_from_buffer(strlen(st.body), (void *)st.body,
                                            MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (st.retry_after)
        MHD_add_response_header(r, "Retry-After", st.retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, st.status, r);
    MHD_destroy_response(r);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static int setup_all(void **state)
{
    (void)state;
    struct ss_err err = {0};
    if (http_global_init(&err) != 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    daemon_ = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, handler, NULL,
                               MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                               MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!daemon_)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0)
        return -1;
    port = info->port;
    log_set_level(LOG_ERROR); /* retries log warnings; keep test output quiet */
    return 0;
}

static int teardown_all(void **state)
{
    (void)state;
    MHD_stop_daemon(daemon_);
    http_global_cleanup();
    return 0;
}

struct fixture {
    struct fake_clock fc;
    struct ss_clock clk;
    struct rate_limiter *rl;
    struct http_client *c;
    struct http_response resp;
    struct ss_err err;
    char url[256];
};

static struct fixture *fixture_new(int max_attempts, size_t max_body, int with_rl)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fc.now = 5 * SEC;
    f->clk = clock_fake(&f->fc);
    if (with_rl) {
        const struct rl_window w[] = {{100, SEC}};
        f->rl = rl_new(w, 1, 0);
        assert_non_null(f->rl);
    }
    struct http_opts o = {
        .connect_timeout_ms = 2000,
        .timeout_ms = 5000,
        .max_body = max_body,
        .retry = {.max_attempts = max_attempts, .base_us = 200000, .max_us = 30 * SEC},
        .log_prefix = "test/acct",
    };
    f->c = http_new(&o, f->rl, &f->clk, &f->err);
    assert_non_null(f->c);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/scores", port);
    return f;
}

static void fixture_free(struct fixture *f)
{
    http_response_free(&f->resp);
    http_free(f->c);
    rl_free(f->rl);
    free(f);
}

static int get(struct fixture *f)
{
    struct http_request req = {"GET", f->url, NULL, NULL, 0};
    return http_do(f->c, &req, &f->resp, &f->err);
}

static void test_503_twice_then_200(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 503, NULL, 0, "busy"},
                             {STEP_NORMAL, 503, NULL, 0, "busy"},
                             {STEP_NORMAL, 200, NULL, 0, "{\"ok\":true}"}};
    script(s, 3);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    assert_int_equal(get(f), 0);
    assert_int_equal(f->resp.status, 200);
    assert_string_equal(f->resp.body.data, "{\"ok\":true}");
    assert_string_equal(f->resp.content_type, "application/json");
    const struct http_stats *st = http_stats(f->c);
    assert_int_equal(st->requests, 3);
    assert_int_equal(st->retries, 2);
    assert_int_equal(st->status_5xx, 2);
    assert_int_equal(st->transport_errors, 0);
    assert_int_equal(served(), 3);
    /* Full jitter: two backoffs below 200 ms and 400 ms, taken on the fake clock. */
    assert_true(f->fc.slept_total < 600000);
    assert_true(st->waited_us == f->fc.slept_total);
    fixture_free(f);
}

static void test_429_retry_after_exact(void **state)
{
    (void)state;
    for (int with_rl = 0; with_rl <= 1; with_rl++) {
        const struct step s[] = {{STEP_NORMAL, 429, "7", 0, "slow down"},
                                 {STEP_NORMAL, 200, NULL, 0, "done"}};
        script(s, 2);
        struct fixture *f = fixture_new(3, 1 << 20, with_rl);
        int64_t t0 = f->fc.now;
        assert_int_equal(get(f), 0);
        assert_int_equal(f->resp.status, 200);
        assert_string_equal(f->resp.body.data, "done");
        assert_true(f->fc.slept_total == 7 * SEC);
        assert_true(f->fc.now - t0 == 7 * SEC);
        const struct http_stats *st = http_stats(f->c);
        assert_int_equal(st->status_429, 1);
        assert_int_equal(st->retries, 1);
        assert_true(st->waited_us == 7 * SEC);
        if (f->rl) /* the block binds later requests too */
            assert_true(rl_delay(f->rl, t0 + 6 * SEC) == SEC);
        fixture_free(f);
    }
}

static void test_404_is_final(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 404, NULL, 0, "{\"error\":\"no such thing\"}"},
                             {STEP_NORMAL, 200, NULL, 0, "should not be reached"}};
    script(s, 2);
    struct fixture *f = fixture_new(5, 1 << 20, 1);
    assert_int_equal(get(f), 0);
    assert_int_equal(f->resp.status, 404);
    assert_string_equal(f->resp.body.data, "{\"error\":\"no such thing\"}");
    assert_int_equal(http_stats(f->c)->requests, 1);
    assert_int_equal(http_stats(f->c)->retries, 0);
    assert_int_equal(served(), 1);
    assert_true(f->fc.slept_total == 0);
    fixture_free(f);
}

static void test_body_too_big(void **state)
{
    (void)state;
    /* Declared length over the cap, then a chunked body with no length. */
    const struct step s1[] = {{STEP_NORMAL, 200, NULL, 5000, NULL}};
    script(s1, 1);
    struct fixture *f = fixture_new(3, 1000, 1);
    assert_int_equal(get(f), -1);
    assert_int_equal(f->err.code, SS_ETOOBIG);
    assert_non_null(strstr(f->err.msg, "GET"));
    assert_non_null(strstr(f->err.msg, f->url));
    assert_int_equal(http_stats(f->c)->requests, 1);
    assert_int_equal(http_stats(f->c)->retries, 0);
    assert_true(f->resp.body.len <= 1000);

    const struct step s2[] = {{STEP_CHUNKED_BIG, 200, NULL, 0, NULL}};
    script(s2, 1);
    assert_int_equal(get(f), -1);
    assert_int_equal(f->err.code, SS_ETOOBIG);
    assert_int_equal(http_stats(f->c)->requests, 2);
    assert_int_equal(http_stats(f->c)->retries, 0);
    assert_true(f->resp.body.len <= 1000);

    /* A body exactly at the cap is accepted. */
    const struct step s3[] = {{STEP_NORMAL, 200, NULL, 1000, NULL}};
    script(s3, 1);
    assert_int_equal(get(f), 0);
    assert_int_equal(f->resp.body.len, 1000);
    fixture_free(f);
}

static void test_short_body_is_retried(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_LIE_LENGTH, 200, NULL, 0, NULL},
                             {STEP_NORMAL, 200, NULL, 0, "[1,2,3]"}};
    script(s, 2);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    assert_int_equal(get(f), 0);
    assert_int_equal(f->resp.status, 200);
    assert_string_equal(f->resp.body.data, "[1,2,3]"); /* no leftovers from the short body */
    assert_int_equal(f->resp.body.len, 7);
    const struct http_stats *st = http_stats(f->c);
    assert_int_equal(st->transport_errors, 1);
    assert_int_equal(st->retries, 1);
    assert_int_equal(st->requests, 2);
    fixture_free(f);
}

static void test_attempts_exhausted(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 502, NULL, 0, "bad gateway"},
                             {STEP_NORMAL, 503, NULL, 0, "busy"},
                             {STEP_NORMAL, 504, NULL, 0, "timeout"},
                             {STEP_NORMAL, 200, NULL, 0, "too late"}};
    script(s, 4);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    assert_int_equal(get(f), -1);
    assert_int_equal(f->err.code, SS_EHTTP);
    assert_non_null(strstr(f->err.msg, "GET"));
    assert_non_null(strstr(f->err.msg, f->url));
    assert_non_null(strstr(f->err.msg, "504"));
    assert_int_equal(served(), 3);
    assert_int_equal(http_stats(f->c)->requests, 3);
    assert_int_equal(http_stats(f->c)->retries, 2);

    /* Rate limited to the end is reported as such. */
    const struct step r[] = {{STEP_NORMAL, 429, "1", 0, ""},
                             {STEP_NORMAL, 429, "1", 0, ""},
                             {STEP_NORMAL, 429, "1", 0, ""}};
    script(r, 3);
    assert_int_equal(get(f), -1);
    assert_int_equal(f->err.code, SS_ERATE);
    assert_non_null(strstr(f->err.msg, "429"));
    fixture_free(f);
}

static void test_transport_error_exhausted(void **state)
{
    (void)state;
    /* A port nobody listens on: connection refused on every attempt. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    close(s);
    struct fixture *f = fixture_new(2, 1 << 20, 0);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/x", ntohs(sa.sin_port));
    assert_int_equal(get(f), -1);
    assert_int_equal(f->err.code, SS_EHTTP);
    assert_int_equal(http_stats(f->c)->transport_errors, 2);
    assert_int_equal(http_stats(f->c)->requests, 2);
    fixture_free(f);
}

static void test_secret_never_printed(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 500, NULL, 0, "oops"},
                             {STEP_NORMAL, 500, NULL, 0, "oops"}};
    script(s, 2);
    struct fixture *f = fixture_new(2, 1 << 20, 1);
    http_add_secret(f->c, SECRET);
    http_add_secret(f->c, "s1g+n/d=");
    /* Secrets also in the URL, as a query-string signing scheme would put them:
     * the second one percent-encoded. */
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/scores?key=%s&sig=s1g%%2Bn%%2Fd%%3D", port,
             SECRET);

    /* Capture stderr to check the retry warning too. */
    char path[] = "/tmp/test_http_logXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    log_set_level(LOG_WARN);

    const char *headers[] = {"Authorization: Bearer " SECRET, "Content-Type: application/json",
                             NULL};
    struct http_request req = {"POST", f->url, headers, "{\"a\":1}", 7};
    int rc = http_do(f->c, &req, &f->resp, &f->err);

    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    log_set_level(LOG_ERROR);
    char logs[8192] = {0};
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    ssize_t n = read(fd, logs, sizeof logs - 1);
    close(fd);
    unlink(path);

    assert_int_equal(rc, -1);
    pthread_mutex_lock(&srv.mu);
    assert_string_equal(srv.last_auth, "Bearer " SECRET); /* it was sent */
    assert_string_equal(srv.last_method, "POST");
    assert_string_equal(srv.last_body, "{\"a\":1}");
    pthread_mutex_unlock(&srv.mu);
    assert_null(strstr(f->err.msg, SECRET));
    assert_null(strstr(f->err.msg, "Bearer"));
    assert_non_null(strstr(f->err.msg, "key=***&sig=***"));
    assert_null(strstr(f->err.msg, "s1g"));
    assert_null(strstr(logs, "s1g"));
    assert_non_null(strstr(f->err.msg, "POST"));
    assert_non_null(strstr(f->err.msg, "500"));
    assert_true(n > 0);
    assert_non_null(strstr(logs, "test/acct")); /* the retry was logged with its prefix */
    assert_non_null(strstr(logs, "warning"));
    assert_null(strstr(logs, SECRET));
    fixture_free(f);
}

static void test_keepalive_reuse(void **state)
{
    (void)state;
    /* Many requests in a row on one client all succeed and count. */
    struct step s[16];
    for (int i = 0; i < 16; i++)
        s[i] = (struct step){STEP_NORMAL, 200, NULL, 0, "ok"};
    script(s, 16);
    struct fixture *f = fixture_new(1, 1 << 20, 1);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(get(f), 0);
        assert_string_equal(f->resp.body.data, "ok");
    }
    assert_int_equal(http_stats(f->c)->requests, 16);
    assert_true(f->fc.slept_total == 0); /* 16 requests fit 100/s */
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_503_twice_then_200),
        cmocka_unit_test(test_429_retry_after_exact),
        cmocka_unit_test(test_404_is_final),
        cmocka_unit_test(test_body_too_big),
        cmocka_unit_test(test_short_body_is_retried),
        cmocka_unit_test(test_attempts_exhausted),
        cmocka_unit_test(test_transport_error_exhausted),
        cmocka_unit_test(test_secret_never_printed),
        cmocka_unit_test(test_keepalive_reuse),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
