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

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/redact.h"
#include "http/http.h"

#define SEC     1000000LL
#define SECRET  "sk_live_7fQ2xZ9SECRETkey"
#define SECRET2 "qk_test_Zr8Lw2QueryKey77"
#define SECRET3 "bk_live_Hd93FormHeaderKey"

/* STEP_ECHO answers with what it received (URI, Authorization, X-Sig), as a
 * vendor that quotes the request in its error does; STEP_STREAM sends
 * body_len bytes of a pattern in small blocks. */
enum step_kind { STEP_NORMAL, STEP_LIE_LENGTH, STEP_CHUNKED_BIG, STEP_ECHO, STEP_STREAM };

struct step {
    enum step_kind kind;
    unsigned status;
    const char *retry_after; /* NULL: no header */
    size_t body_len;         /* 0: use body */
    const char *body;
};

/* What one request brought to the server. */
struct seen {
    char method[16];
    char uri[512]; /* raw, query string included */
    char auth[256];
    char api_key[256]; /* X-Api-Key */
    char sig[256];     /* X-Sig */
    char ctype[128];
    char body[512];
};

#define MAX_SEEN 16

/* Shared with the server thread. */
static struct {
    pthread_mutex_t mu;
    struct step steps[16];
    int n_steps;
    int served;
    struct seen seen[MAX_SEEN];
    char last_auth[256];
    char last_method[16];
    char last_body[512];
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
    memset(srv.seen, 0, sizeof srv.seen);
    pthread_mutex_unlock(&srv.mu);
}

/* A copy of what request i (0-based) brought. */
static struct seen seen(int i)
{
    assert_true(i >= 0 && i < MAX_SEEN);
    pthread_mutex_lock(&srv.mu);
    struct seen r = srv.seen[i];
    pthread_mutex_unlock(&srv.mu);
    return r;
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

/* Bytes 'a'..'z' repeating, sent in blocks of the size MHD asks for. */
static ssize_t pattern_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    size_t total = (size_t)(uintptr_t)cls;
    if (pos >= total)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = total - (size_t)pos < max ? total - (size_t)pos : max;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (pos + i) % 26);
    return (ssize_t)n;
}

struct upload {
    int started;
    char uri[512];
    char body[512];
    size_t len;
};

/* MHD hands the raw request URI here first: the query string as sent. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct upload *up = calloc(1, sizeof *up);
    if (up)
        snprintf(up->uri, sizeof up->uri, "%s", uri);
    return up;
}

static void copy_header(struct MHD_Connection *conn, const char *name, char *out, size_t cap)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)version;
    struct upload *up = *con_cls;
    if (!up)
        return MHD_NO;
    if (!up->started) {
        up->started = 1;
        return MHD_YES;
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
    struct seen *sn = NULL;
    if (srv.served <= MAX_SEEN) {
        sn = &srv.seen[srv.served - 1];
        snprintf(sn->method, sizeof sn->method, "%s", method);
        snprintf(sn->uri, sizeof sn->uri, "%s", up->uri);
        copy_header(conn, "Authorization", sn->auth, sizeof sn->auth);
        copy_header(conn, "X-Api-Key", sn->api_key, sizeof sn->api_key);
        copy_header(conn, "X-Sig", sn->sig, sizeof sn->sig);
        copy_header(conn, "Content-Type", sn->ctype, sizeof sn->ctype);
        snprintf(sn->body, sizeof sn->body, "%s", up->body);
    }
    char echo[2048];
    snprintf(echo, sizeof echo,
             "{\"error\":\"bad credentials\",\"uri\":\"%s\",\"auth\":\"%s\","
             "\"sig\":\"%s\"}",
             up->uri, sn ? sn->auth : "", sn ? sn->sig : "");
    pthread_mutex_unlock(&srv.mu);

    struct MHD_Response *r;
    char *big = NULL;
    if (st.kind == STEP_LIE_LENGTH) {
        r = MHD_create_response_from_callback(1000, 64, lie_reader, NULL, NULL);
    } else if (st.kind == STEP_STREAM) {
        r = MHD_create_response_from_callback(st.body_len, 1000, pattern_reader,
                                              (void *)(uintptr_t)st.body_len, NULL);
    } else if (st.kind == STEP_ECHO) {
        r = MHD_create_response_from_buffer(strlen(echo), echo, MHD_RESPMEM_MUST_COPY);
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
                               MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                               MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL, MHD_OPTION_END);
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
    struct http_request req = {.method = "GET", .url = f->url};
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
    struct http_request req = {
        .method = "POST", .url = f->url, .headers = headers, .body = "{\"a\":1}", .body_len = 7};
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

/* stderr capture for log checks */
static struct {
    char path[64];
    int fd, saved;
    char text[16384];
} cap;

static void capture_start(void)
{
    snprintf(cap.path, sizeof cap.path, "/tmp/test_http_logXXXXXX");
    cap.fd = mkstemp(cap.path);
    assert_true(cap.fd >= 0);
    fflush(stderr);
    cap.saved = dup(STDERR_FILENO);
    dup2(cap.fd, STDERR_FILENO);
    log_set_level(LOG_WARN);
}

static const char *capture_end(void)
{
    fflush(stderr);
    dup2(cap.saved, STDERR_FILENO);
    close(cap.saved);
    log_set_level(LOG_ERROR);
    assert_int_equal(lseek(cap.fd, 0, SEEK_SET), 0);
    ssize_t n = read(cap.fd, cap.text, sizeof cap.text - 1);
    cap.text[n > 0 ? n : 0] = '\0';
    close(cap.fd);
    unlink(cap.path);
    return cap.text;
}

static int do_req(struct fixture *f, const char *method, const char *const *headers,
                  const char *body, const struct http_auth *auth, const struct http_sink *sink)
{
    struct http_request req = {.method = method,
                               .url = f->url,
                               .headers = headers,
                               .body = body,
                               .body_len = body ? strlen(body) : 0,
                               .auth = auth,
                               .sink = sink};
    return http_do(f->c, &req, &f->resp, &f->err);
}

static void test_header_auth_every_attempt(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 503, NULL, 0, "busy"},
                             {STEP_LIE_LENGTH, 200, NULL, 0, NULL},
                             {STEP_NORMAL, 200, NULL, 0, "ok"}};
    script(s, 3);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    const struct http_auth bearer = {
        .place = HTTP_AUTH_HEADER, .name = "Authorization", .prefix = "Bearer ", .value = SECRET};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &bearer, NULL), 0);
    assert_string_equal(f->resp.body.data, "ok");
    assert_int_equal(served(), 3);
    for (int i = 0; i < 3; i++) {
        struct seen sn = seen(i);
        assert_string_equal(sn.auth, "Bearer " SECRET);
        assert_string_equal(sn.uri, "/scores"); /* nothing else carries it */
    }

    /* A plain API key header, no prefix; the caller's other headers stay. */
    const struct step s2[] = {{STEP_NORMAL, 200, NULL, 0, "ok"}};
    script(s2, 1);
    const struct http_auth key = {.place = HTTP_AUTH_HEADER, .name = "X-Api-Key", .value = SECRET};
    const char *headers[] = {"Authorization: Basic Zm9vOmJhcg==", NULL};
    assert_int_equal(do_req(f, "GET", headers, NULL, &key, NULL), 0);
    assert_string_equal(seen(0).api_key, SECRET);
    assert_string_equal(seen(0).auth, "Basic Zm9vOmJhcg==");

    /* Names and values that would forge a header are refused before sending. */
    const struct http_auth bad_name = {.place = HTTP_AUTH_HEADER, .name = "X-A: b", .value = "v"};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &bad_name, NULL), -1);
    assert_int_equal(f->err.code, SS_EINVAL);
    const struct http_auth bad_value = {
        .place = HTTP_AUTH_HEADER, .name = "X-Api-Key", .value = "abcd\r\nX-Evil: 1"};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &bad_value, NULL), -1);
    assert_int_equal(f->err.code, SS_EINVAL);
    const struct http_auth no_value = {.place = HTTP_AUTH_HEADER, .name = "X-Api-Key"};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &no_value, NULL), -1);
    assert_int_equal(f->err.code, SS_EINVAL);
    assert_int_equal(served(), 1);
    fixture_free(f);
}

static void test_query_auth(void **state)
{
    (void)state;
    /* A value with characters that must be encoded. */
    const struct http_auth q = {.place = HTTP_AUTH_QUERY, .name = "api_key", .value = "k+y/=&z 1"};
    const char *enc = "api_key=k%2By%2F%3D%26z%201";
    static const char *const paths[][2] = {
        {"/scores", "/scores?"},
        {"/scores?from=2020-01-01&x=1", "/scores?from=2020-01-01&x=1&"},
        {"/scores?", "/scores?"},
        {"/scores?a=1&", "/scores?a=1&"},
        {"/scores?a=1#frag", "/scores?a=1&"}, /* a fragment is never sent */
    };
    struct fixture *f = fixture_new(2, 1 << 20, 1);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        const struct step s[] = {{STEP_NORMAL, 503, NULL, 0, "busy"},
                                 {STEP_NORMAL, 200, NULL, 0, "ok"}};
        script(s, 2);
        snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u%s", port, paths[i][0]);
        assert_int_equal(do_req(f, "GET", NULL, NULL, &q, NULL), 0);
        char want[256];
        snprintf(want, sizeof want, "%s%s", paths[i][1], enc);
        assert_string_equal(seen(0).uri, want);
        assert_string_equal(seen(1).uri, want); /* the retry carries it too */
        assert_string_equal(seen(1).auth, "");
    }
    fixture_free(f);
}

static void test_form_auth(void **state)
{
    (void)state;
    const struct http_auth fa = {
        .place = HTTP_AUTH_FORM, .name = "signed_request", .value = "v/x=" SECRET3};
    const char *enc = "signed_request=v%2Fx%3D" SECRET3;
    struct fixture *f = fixture_new(2, 1 << 20, 1);
    char want[512];

    /* After the caller's fields, with the form Content-Type it did not give. */
    const struct step s[] = {{STEP_NORMAL, 502, NULL, 0, "busy"},
                             {STEP_NORMAL, 200, NULL, 0, "ok"}};
    script(s, 2);
    assert_int_equal(do_req(f, "POST", NULL, "a=1&b=2", &fa, NULL), 0);
    snprintf(want, sizeof want, "a=1&b=2&%s", enc);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(seen(i).method, "POST");
        assert_string_equal(seen(i).body, want);
        assert_string_equal(seen(i).ctype, "application/x-www-form-urlencoded");
        assert_string_equal(seen(i).uri, "/scores");
    }

    /* An empty body; the caller's Content-Type is kept. */
    const struct step s2[] = {{STEP_NORMAL, 200, NULL, 0, "ok"}};
    script(s2, 1);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                             NULL};
    assert_int_equal(do_req(f, "POST", headers, NULL, &fa, NULL), 0);
    assert_string_equal(seen(0).body, enc);
    assert_string_equal(seen(0).ctype, "application/x-www-form-urlencoded; charset=utf-8");

    /* A body that already ends in '&' gets no second one. */
    script(s2, 1);
    assert_int_equal(do_req(f, "POST", NULL, "a=1&", &fa, NULL), 0);
    snprintf(want, sizeof want, "a=1&%s", enc);
    assert_string_equal(seen(0).body, want);

    /* A GET has no body to carry it. */
    script(s2, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, &fa, NULL), -1);
    assert_int_equal(f->err.code, SS_EINVAL);
    assert_int_equal(served(), 0);
    fixture_free(f);
}

struct signer {
    int calls;
    int fail;
    int64_t wall[8];
    char made[8][64];
};

static int test_sign_cb(void *arg, int64_t now_wall_us, struct buf *out, struct ss_err *err)
{
    struct signer *sg = arg;
    if (sg->fail)
        return err_set(err, SS_ECONFIG, "no signing secret configured");
    assert_true(sg->calls < 8);
    assert_int_equal(out->len, 0); /* a fresh buffer each attempt */
    sg->wall[sg->calls] = now_wall_us;
    snprintf(sg->made[sg->calls], sizeof sg->made[0], "sigvalue-%d-%lld", sg->calls,
             (long long)now_wall_us);
    if (buf_append(out, sg->made[sg->calls], strlen(sg->made[sg->calls]), err) != 0)
        return -1;
    sg->calls++;
    return 0;
}

static void test_sign_per_attempt(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 429, "2", 0, "slow down"},
                             {STEP_NORMAL, 503, NULL, 0, "busy"},
                             {STEP_NORMAL, 200, NULL, 0, "ok"}};
    script(s, 3);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct signer sg = {0};
    const struct http_auth a = {
        .place = HTTP_AUTH_HEADER, .name = "X-Sig", .sign = test_sign_cb, .sign_arg = &sg};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &a, NULL), 0);
    assert_int_equal(sg.calls, 3);
    assert_int_equal(served(), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(seen(i).sig, sg.made[i]);
    /* Wall time moves with the (fake) clock: Retry-After 2 s, then a backoff. */
    assert_true(sg.wall[1] - sg.wall[0] == 2 * SEC);
    assert_true(sg.wall[2] >= sg.wall[1]);
    assert_string_not_equal(seen(0).sig, seen(1).sig);
    /* ... and is the real wall time, give or take the fake waits. */
    assert_true(sg.wall[0] > 1600000000LL * SEC);

    /* A query signature is renewed the same way. */
    script(s, 3);
    struct signer sq = {0};
    const struct http_auth aq = {
        .place = HTTP_AUTH_QUERY, .name = "sig", .sign = test_sign_cb, .sign_arg = &sq};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &aq, NULL), 0);
    assert_int_equal(sq.calls, 3);
    for (int i = 0; i < 3; i++) {
        char want[128];
        snprintf(want, sizeof want, "/scores?sig=%s", sq.made[i]);
        assert_string_equal(seen(i).uri, want);
    }

    /* A signer that fails stops the request before anything is sent. */
    script(s, 3);
    struct signer bad = {.fail = 1};
    const struct http_auth ab = {
        .place = HTTP_AUTH_HEADER, .name = "X-Sig", .sign = test_sign_cb, .sign_arg = &bad};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &ab, NULL), -1);
    assert_int_equal(f->err.code, SS_ECONFIG);
    assert_non_null(strstr(f->err.msg, "no signing secret configured"));
    assert_int_equal(served(), 0);
    fixture_free(f);
}

static void test_auth_secret_never_leaks(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(2, 1 << 20, 1);

    /* A query key; the vendor echoes the URL and headers in its errors. */
    const struct step s[] = {{STEP_ECHO, 500, NULL, 0, NULL}, {STEP_ECHO, 500, NULL, 0, NULL}};
    script(s, 2);
    const struct http_auth q = {.place = HTTP_AUTH_QUERY, .name = "api_key", .value = SECRET2};
    capture_start();
    int rc = do_req(f, "GET", NULL, NULL, &q, NULL);
    const char *logs = capture_end();
    assert_int_equal(rc, -1);
    assert_non_null(strstr(seen(0).uri, "api_key=" SECRET2)); /* it was sent */
    assert_non_null(strstr(logs, "warning"));
    assert_non_null(strstr(logs, f->url)); /* the caller's URL is what is logged */
    assert_null(strstr(logs, SECRET2));
    assert_null(strstr(logs, "api_key"));
    assert_null(strstr(f->err.msg, SECRET2));
    assert_null(strstr(f->err.msg, "api_key")); /* the URL in errors is the caller's */
    assert_non_null(strstr(f->err.msg, f->url));
    assert_null(strstr(f->resp.body.data, SECRET2)); /* the last error body, redacted */
    assert_non_null(strstr(f->resp.body.data, "api_key=***"));

    /* A final 400 that quotes the key: status and (redacted) body returned. */
    const struct step s400[] = {{STEP_ECHO, 400, NULL, 0, NULL}};
    script(s400, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, &q, NULL), 0);
    assert_int_equal(f->resp.status, 400);
    assert_null(strstr(f->resp.body.data, SECRET2));
    assert_non_null(strstr(f->resp.body.data, "bad credentials"));
    assert_int_equal(f->resp.body.len, strlen(f->resp.body.data));

    /* A bearer key echoed back. */
    script(s400, 1);
    const struct http_auth b = {
        .place = HTTP_AUTH_HEADER, .name = "Authorization", .prefix = "Bearer ", .value = SECRET3};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &b, NULL), 0);
    assert_string_equal(seen(0).auth, "Bearer " SECRET3);
    assert_null(strstr(f->resp.body.data, SECRET3));
    assert_non_null(strstr(f->resp.body.data, "\"auth\":\"Bearer ***\""));

    /* A signature is not in the registry, and still masked in what returns. */
    script(s400, 1);
    struct signer sg = {0};
    const struct http_auth a = {
        .place = HTTP_AUTH_HEADER, .name = "X-Sig", .sign = test_sign_cb, .sign_arg = &sg};
    assert_int_equal(do_req(f, "GET", NULL, NULL, &a, NULL), 0);
    assert_string_equal(seen(0).sig, sg.made[0]);
    assert_null(strstr(f->resp.body.data, "sigvalue"));
    assert_non_null(strstr(f->resp.body.data, "\"sig\":\"***\""));
    /* Not registered process-wide: per-attempt values would fill the registry. */
    char probe[64];
    snprintf(probe, sizeof probe, "%s", sg.made[0]);
    redact_apply(probe, sizeof probe);
    assert_string_equal(probe, sg.made[0]);

    /* A form credential in a POST that fails: the body is not in the error. */
    const struct step s5[] = {{STEP_ECHO, 503, NULL, 0, NULL}, {STEP_ECHO, 503, NULL, 0, NULL}};
    script(s5, 2);
    const struct http_auth fa = {.place = HTTP_AUTH_FORM, .name = "token", .value = SECRET3};
    capture_start();
    rc = do_req(f, "POST", NULL, "a=1", &fa, NULL);
    logs = capture_end();
    assert_int_equal(rc, -1);
    assert_string_equal(seen(1).body, "a=1&token=" SECRET3);
    assert_null(strstr(logs, SECRET3));
    assert_null(strstr(f->err.msg, SECRET3));
    assert_null(strstr(f->err.msg, "token"));
    fixture_free(f);
}

/* A sink that keeps what it is given and can be told to refuse it. */
struct tsink {
    int begins, datas, ends;
    long status;
    int bad_ends; /* end() says malformed this many times; -1: always */
    int fail_data;
    struct buf got;
};

static int ts_begin(void *arg, long status, struct ss_err *err)
{
    (void)err;
    struct tsink *t = arg;
    t->begins++;
    t->status = status;
    buf_reset(&t->got);
    return 0;
}

static int ts_data(void *arg, const char *p, size_t n, struct ss_err *err)
{
    struct tsink *t = arg;
    t->datas++;
    if (t->fail_data)
        return err_set(err, SS_EINVAL, "record 3 is not an object");
    return buf_append(&t->got, p, n, err);
}

static int ts_end(void *arg, struct ss_err *err)
{
    struct tsink *t = arg;
    t->ends++;
    if (t->bad_ends != 0) {
        if (t->bad_ends > 0)
            t->bad_ends--;
        err_set(err, SS_EINVAL, "JSON truncated at byte %zu", t->got.len);
        return 1;
    }
    return 0;
}

static struct http_sink tsink_of(struct tsink *t)
{
    buf_init(&t->got, 0);
    return (struct http_sink){ts_begin, ts_data, ts_end, t};
}

static void test_stream_in_pieces(void **state)
{
    (void)state;
    const size_t total = 300000;
    const struct step s[] = {{STEP_STREAM, 200, NULL, total, NULL}};
    script(s, 1);
    struct fixture *f = fixture_new(1, 1 << 20, 1);
    struct tsink t = {0};
    struct http_sink sk = tsink_of(&t);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), 0);
    assert_int_equal(f->resp.status, 200);
    assert_int_equal(t.begins, 1);
    assert_int_equal(t.status, 200);
    assert_int_equal(t.ends, 1);
    assert_true(t.datas > 1);
    assert_int_equal(t.got.len, total);
    for (size_t i = 0; i < total; i++)
        if (t.got.data[i] != (char)('a' + i % 26))
            fail_msg("byte %zu differs", i);
    assert_int_equal(f->resp.body.len, 0); /* streamed, not kept */

    /* A 204 with no body still begins and ends. */
    const struct step s2[] = {{STEP_NORMAL, 204, NULL, 0, ""}};
    script(s2, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), 0);
    assert_int_equal(t.begins, 2);
    assert_int_equal(t.ends, 2);
    assert_int_equal(t.got.len, 0);
    buf_free(&t.got);
    fixture_free(f);
}

static void test_stream_malformed_retried(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 200, NULL, 0, "[1,2"},
                             {STEP_NORMAL, 200, NULL, 0, "[1,2,3]"}};
    script(s, 2);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct tsink t = {.bad_ends = 1};
    struct http_sink sk = tsink_of(&t);
    capture_start();
    int rc = do_req(f, "GET", NULL, NULL, NULL, &sk);
    const char *logs = capture_end();
    assert_int_equal(rc, 0);
    assert_int_equal(served(), 2);
    assert_int_equal(t.begins, 2);
    assert_int_equal(t.ends, 2);
    assert_string_equal(t.got.data, "[1,2,3]");
    assert_non_null(strstr(logs, "JSON truncated at byte 4")); /* the sink's reason */
    assert_non_null(strstr(logs, "retry 1 of 2"));
    const struct http_stats *st = http_stats(f->c);
    assert_int_equal(st->bad_bodies, 1);
    assert_int_equal(st->retries, 1);
    assert_int_equal(st->requests, 2);
    assert_int_equal(st->transport_errors, 0);
    assert_true(st->waited_us == f->fc.slept_total); /* backoff, on the fake clock */
    buf_free(&t.got);
    fixture_free(f);
}

static void test_stream_malformed_one_budget(void **state)
{
    (void)state;
    /* A 503, then bodies that are always malformed: three attempts in all. */
    const struct step s[] = {{STEP_NORMAL, 503, NULL, 0, "busy"},
                             {STEP_NORMAL, 200, NULL, 0, "[1"},
                             {STEP_NORMAL, 200, NULL, 0, "[1,"},
                             {STEP_NORMAL, 200, NULL, 0, "[1,2]"}};
    script(s, 4);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct tsink t = {.bad_ends = -1};
    struct http_sink sk = tsink_of(&t);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), -1);
    assert_int_equal(served(), 3);
    assert_int_equal(f->err.code, SS_EINVAL);
    assert_non_null(strstr(f->err.msg, "3 attempts"));
    assert_non_null(strstr(f->err.msg, "JSON truncated at byte 3"));
    assert_non_null(strstr(f->err.msg, f->url));
    assert_int_equal(t.begins, 2);
    assert_int_equal(t.ends, 2);
    const struct http_stats *st = http_stats(f->c);
    assert_int_equal(st->requests, 3);
    assert_int_equal(st->retries, 2);
    assert_int_equal(st->status_5xx, 1);
    assert_int_equal(st->bad_bodies, 2);

    /* The other way round: malformed first, then 5xx to the end -> an HTTP error. */
    const struct step s2[] = {{STEP_NORMAL, 200, NULL, 0, "[1"},
                              {STEP_NORMAL, 503, NULL, 0, "busy"},
                              {STEP_NORMAL, 503, NULL, 0, "busy"},
                              {STEP_NORMAL, 200, NULL, 0, "[1]"}};
    script(s2, 4);
    t.bad_ends = 1;
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), -1);
    assert_int_equal(served(), 3);
    assert_int_equal(f->err.code, SS_EHTTP);
    assert_non_null(strstr(f->err.msg, "503"));
    assert_string_equal(f->resp.body.data, "busy"); /* error bodies still land in resp */
    buf_free(&t.got);
    fixture_free(f);
}

static void test_stream_short_body_begins_again(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_LIE_LENGTH, 200, NULL, 0, NULL},
                             {STEP_NORMAL, 200, NULL, 0, "[1,2,3]"}};
    script(s, 2);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct tsink t = {0};
    struct http_sink sk = tsink_of(&t);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), 0);
    assert_int_equal(t.begins, 2); /* the cut body had begun */
    assert_int_equal(t.ends, 1);   /* ... and never ended */
    assert_string_equal(t.got.data, "[1,2,3]");
    const struct http_stats *st = http_stats(f->c);
    assert_int_equal(st->transport_errors, 1);
    assert_int_equal(st->retries, 1);
    assert_int_equal(st->bad_bodies, 0);
    buf_free(&t.got);
    fixture_free(f);
}

static void test_stream_too_big(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(3, 1000, 1);
    struct tsink t = {0};
    struct http_sink sk = tsink_of(&t);
    /* Declared too long: refused before the sink hears of it. */
    const struct step s1[] = {{STEP_STREAM, 200, NULL, 5000, NULL}};
    script(s1, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), -1);
    assert_int_equal(f->err.code, SS_ETOOBIG);
    assert_int_equal(t.datas, 0);
    /* No length, endless: stopped at the cap, not retried. */
    const struct step s2[] = {{STEP_CHUNKED_BIG, 200, NULL, 0, NULL}};
    script(s2, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), -1);
    assert_int_equal(f->err.code, SS_ETOOBIG);
    assert_true(t.got.len <= 1000);
    assert_int_equal(t.ends, 0);
    assert_int_equal(http_stats(f->c)->requests, 2);
    assert_int_equal(http_stats(f->c)->retries, 0);
    /* Exactly at the cap is fine. */
    const struct step s3[] = {{STEP_STREAM, 200, NULL, 1000, NULL}};
    script(s3, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), 0);
    assert_int_equal(t.got.len, 1000);
    buf_free(&t.got);
    fixture_free(f);
}

static void test_stream_error_body_not_to_sink(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct tsink t = {0};
    struct http_sink sk = tsink_of(&t);
    const struct step s[] = {{STEP_NORMAL, 404, NULL, 0, "{\"error\":\"no such thing\"}"}};
    script(s, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), 0);
    assert_int_equal(f->resp.status, 404);
    assert_string_equal(f->resp.body.data, "{\"error\":\"no such thing\"}");
    assert_int_equal(t.begins + t.datas + t.ends, 0);

    /* A 5xx on the way to a 200: only the 200 reaches the sink. */
    const struct step s2[] = {{STEP_NORMAL, 503, NULL, 0, "busy"},
                              {STEP_NORMAL, 200, NULL, 0, "[]"}};
    script(s2, 2);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), 0);
    assert_int_equal(t.begins, 1);
    assert_string_equal(t.got.data, "[]");
    assert_int_equal(f->resp.body.len, 0);

    /* A long error body is kept up to HTTP_ERROR_BODY_MAX; the message is at the start. */
    const struct step s3[] = {{STEP_NORMAL, 400, NULL, 100000, NULL}};
    script(s3, 1);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), 0);
    assert_int_equal(f->resp.status, 400);
    assert_int_equal(f->resp.body.len, HTTP_ERROR_BODY_MAX);
    assert_int_equal(t.begins, 1);
    buf_free(&t.got);
    fixture_free(f);
}

static void test_stream_data_abort(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_STREAM, 200, NULL, 5000, NULL},
                             {STEP_NORMAL, 200, NULL, 0, "[]"}};
    script(s, 2);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct tsink t = {.fail_data = 1};
    struct http_sink sk = tsink_of(&t);
    assert_int_equal(do_req(f, "GET", NULL, NULL, NULL, &sk), -1);
    assert_int_equal(f->err.code, SS_EINVAL);
    assert_non_null(strstr(f->err.msg, "record 3 is not an object"));
    assert_non_null(strstr(f->err.msg, f->url));
    assert_int_equal(served(), 1);
    assert_int_equal(t.datas, 1);
    assert_int_equal(t.ends, 0);
    assert_int_equal(http_stats(f->c)->retries, 0);
    buf_free(&t.got);
    fixture_free(f);
}

/* An admission hook that answers from a script (0 send, > 0 wait, < 0 fail)
 * and remembers what the client told it about 429s. */
struct gate {
    int64_t answers[8];
    int n, calls;
    int64_t refused_us[4];
    int refusals;
    struct fake_clock *fc;
    int64_t asked_at[8]; /* the fake clock at each call */
};

static int64_t gate_admit(void *arg, struct ss_err *err)
{
    struct gate *g = arg;
    int i = g->calls++;
    if (i < 8)
        g->asked_at[i] = g->fc->now;
    int64_t a = i < g->n ? g->answers[i] : 0;
    if (a < 0)
        err_set(err, SS_EDB, "the ledger is down");
    return a;
}

static void gate_refused(void *arg, int64_t block_us)
{
    struct gate *g = arg;
    if (g->refusals < 4)
        g->refused_us[g->refusals] = block_us;
    g->refusals++;
}

/* The fixture's client again, with the gate as its admission hooks. */
static void with_gate(struct fixture *f, struct gate *g)
{
    g->fc = &f->fc;
    struct http_opts o = {
        .connect_timeout_ms = 2000,
        .timeout_ms = 5000,
        .max_body = 1 << 20,
        .retry = {.max_attempts = 3, .base_us = 200000, .max_us = 30 * SEC},
        .log_prefix = "test/acct",
        .admit = gate_admit,
        .refused = gate_refused,
        .admit_arg = g,
    };
    http_free(f->c);
    f->c = http_new(&o, f->rl, &f->clk, &f->err);
    assert_non_null(f->c);
}

/* The hook's waits are taken on the client's clock and it is asked again
 * until it says send; the limiter records the attempt once, when it goes. */
static void test_admit_waits_then_sends(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 200, NULL, 0, "ok"}};
    script(s, 1);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct gate g = {.answers = {250000, 100000, 0}, .n = 3};
    with_gate(f, &g);
    int64_t t0 = f->fc.now;
    assert_int_equal(get(f), 0);
    assert_int_equal(f->resp.status, 200);
    assert_int_equal(g.calls, 3);
    assert_true(g.asked_at[1] - g.asked_at[0] == 250000);
    assert_true(g.asked_at[2] - g.asked_at[1] == 100000);
    assert_int_equal(served(), 1);
    assert_true(f->fc.slept_total == 350000);
    assert_true(http_stats(f->c)->waited_us == 350000);
    assert_int_equal(rl_count_recent(f->rl, f->fc.now, SEC), 1);
    assert_int_equal(rl_count_recent(f->rl, t0 + 349999, 349999), 0);
    assert_int_equal(g.refusals, 0);
    fixture_free(f);
}

/* A hook that fails stops the request before anything is sent. */
static void test_admit_refuses(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 200, NULL, 0, "never"}};
    script(s, 1);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct gate g = {.answers = {-1}, .n = 1};
    with_gate(f, &g);
    assert_int_equal(get(f), -1);
    assert_int_equal(f->err.code, SS_EDB);
    assert_non_null(strstr(f->err.msg, "not sent: the ledger is down"));
    assert_non_null(strstr(f->err.msg, f->url));
    assert_int_equal(served(), 0);
    assert_int_equal(http_stats(f->c)->requests, 0);
    assert_int_equal(rl_count_recent(f->rl, f->fc.now, SEC), 0);
    fixture_free(f);
}

/* A 429 is told to the hook (the account's other processes wait too), and
 * every attempt, the retry included, is admitted by it. */
static void test_429_told_to_refused(void **state)
{
    (void)state;
    const struct step s[] = {{STEP_NORMAL, 429, "7", 0, "slow down"},
                             {STEP_NORMAL, 200, NULL, 0, "done"}};
    script(s, 2);
    struct fixture *f = fixture_new(3, 1 << 20, 1);
    struct gate g = {.n = 0};
    with_gate(f, &g);
    assert_int_equal(get(f), 0);
    assert_int_equal(f->resp.status, 200);
    assert_int_equal(g.refusals, 1);
    assert_true(g.refused_us[0] == 7 * SEC);
    assert_int_equal(g.calls, 2);
    assert_true(g.asked_at[1] - g.asked_at[0] >= 7 * SEC);
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
        cmocka_unit_test(test_header_auth_every_attempt),
        cmocka_unit_test(test_query_auth),
        cmocka_unit_test(test_form_auth),
        cmocka_unit_test(test_sign_per_attempt),
        cmocka_unit_test(test_auth_secret_never_leaks),
        cmocka_unit_test(test_stream_in_pieces),
        cmocka_unit_test(test_stream_malformed_retried),
        cmocka_unit_test(test_stream_malformed_one_budget),
        cmocka_unit_test(test_stream_short_body_begins_again),
        cmocka_unit_test(test_stream_too_big),
        cmocka_unit_test(test_stream_error_body_not_to_sink),
        cmocka_unit_test(test_stream_data_abort),
        cmocka_unit_test(test_admit_waits_then_sends),
        cmocka_unit_test(test_admit_refuses),
        cmocka_unit_test(test_429_told_to_refused),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
