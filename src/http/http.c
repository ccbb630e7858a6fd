/* http: one libcurl easy handle per client, reused so connections stay
 * alive. Every attempt waits on the rate limiter first; retries follow
 * retry.h; secrets are redacted from everything this file prints. */
#include "http.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/log.h"

#ifndef SS_VERSION
#define SS_VERSION "dev"
#endif

struct http_client {
    CURL *curl;
    struct http_opts opts;
    char *user_agent;
    char *log_prefix;
    struct rate_limiter *rl;
    const struct ss_clock *clock;
    struct http_stats stats;
    _Atomic long requests_sent; /* stats.requests, readable from another thread */
    char **secrets;
    size_t n_secrets;
    uint64_t prng;

    /* Per-attempt state filled by the callbacks. */
    struct buf *body;
    int too_big;
    char retry_after[128];
    char content_type[128];
    char errbuf[CURL_ERROR_SIZE];
};

struct http_client *http_new(const struct http_opts *opts, struct rate_limiter *rl,
                             const struct ss_clock *clock, struct ss_err *err)
{
    struct http_client *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(err, SS_ENOMEM, "out of memory creating the HTTP client");
        return NULL;
    }
    c->opts = *opts;
    if (c->opts.retry.max_attempts < 1)
        c->opts.retry.max_attempts = 1;
    c->user_agent = strdup(opts->user_agent ? opts->user_agent : "scoresync/" SS_VERSION);
    c->log_prefix = strdup(opts->log_prefix ? opts->log_prefix : "http");
    c->rl = rl;
    c->clock = clock ? clock : clock_system();
    c->curl = curl_easy_init();
    if (!c->user_agent || !c->log_prefix || !c->curl) {
        err_set(err, SS_ENOMEM, "cannot create the HTTP client (curl_easy_init failed)");
        http_free(c);
        return NULL;
    }
    c->opts.user_agent = c->user_agent;
    c->opts.log_prefix = c->log_prefix;
    /* Seed for jitter only; not security relevant. */
    c->prng = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    return c;
}

void http_free(struct http_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    for (size_t i = 0; i < c->n_secrets; i++)
        free(c->secrets[i]);
    free(c->secrets);
    free(c->user_agent);
    free(c->log_prefix);
    free(c);
}

static void add_secret_form(struct http_client *c, const char *secret)
{
    for (size_t i = 0; i < c->n_secrets; i++)
        if (strcmp(c->secrets[i], secret) == 0)
            return;
    char **p = realloc(c->secrets, (c->n_secrets + 1) * sizeof *p);
    if (!p)
        return;
    c->secrets = p;
    char *s = strdup(secret);
    if (!s)
        return;
    c->secrets[c->n_secrets++] = s;
}

void http_add_secret(struct http_client *c, const char *secret)
{
    if (!c || !secret || !*secret)
        return;
    add_secret_form(c, secret);
    /* A secret placed in a query string shows up percent-encoded in the URL. */
    char *esc = curl_easy_escape(c->curl, secret, 0);
    if (esc) {
        add_secret_form(c, esc);
        curl_free(esc);
    }
}

/* Copies in to out replacing every registered secret with "***". */
static void redact(const struct http_client *c, const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return;
    while (*in && o + 1 < outlen) {
        size_t hit = 0;
        for (size_t i = 0; i < c->n_secrets && !hit; i++) {
            size_t n = strlen(c->secrets[i]);
            if (strncmp(in, c->secrets[i], n) == 0)
                hit = n;
        }
        if (hit) {
            for (const char *r = "***"; *r && o + 1 < outlen; r++)
                out[o++] = *r;
            in += hit;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = '\0';
}

/* Sets err to the redacted formatted message. */
static int http_fail(const struct http_client *c, struct ss_err *err, enum ss_errcode code,
                     const char *fmt, ...) SS_PRINTF(4, 5);
static int http_fail(const struct http_client *c, struct ss_err *err, enum ss_errcode code,
                     const char *fmt, ...)
{
    char raw[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    if (!err)
        return -1;
    err->code = code;
    redact(c, raw, err->msg, sizeof err->msg);
    return -1;
}

static void http_warn(const struct http_client *c, const char *fmt, ...) SS_PRINTF(2, 3);
static void http_warn(const struct http_client *c, const char *fmt, ...)
{
    char raw[2048], clean[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    redact(c, raw, clean, sizeof clean);
    log_warn("%s: %s", c->log_prefix, clean);
}

/* splitmix64 -> uniform double in [0,1). */
static double http_rand(struct http_client *c)
{
    uint64_t z = (c->prng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* Sleeps until `deadline` on the injected clock; sleep may return early. */
static void sleep_until(struct http_client *c, int64_t deadline)
{
    int64_t now;
    while ((now = c->clock->now_us(c->clock->ctx)) < deadline)
        c->clock->sleep_us(c->clock->ctx, deadline - now);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_client *c = ud;
    size_t n = size * nmemb;
    if (buf_append(c->body, ptr, n, NULL) != 0) {
        c->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* Copies a header's value, trimmed, if the line is "name: value". */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return 0;
    const char *v = line + nl + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t len = (size_t)(end - v);
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 1;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_client *c = ud;
    size_t n = size * nmemb;
    char cl[32];
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue): forget the previous headers. */
        c->retry_after[0] = '\0';
        c->content_type[0] = '\0';
        return n;
    }
    header_value(ptr, n, "Retry-After", c->retry_after, sizeof c->retry_after);
    header_value(ptr, n, "Content-Type", c->content_type, sizeof c->content_type);
    if (header_value(ptr, n, "Content-Length", cl, sizeof cl) && c->body->limit) {
        char *e;
        unsigned long long v = strtoull(cl, &e, 10);
        if (*e == '\0' && e != cl && v > c->body->limit) {
            c->too_big = 1; /* refuse before reading a body we would not keep */
            return 0;
        }
    }
    return n;
}

/* Curl failures that another attempt cannot fix. */
static int curl_fatal(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_FILESIZE_EXCEEDED:
        return 1;
    default:
        return 0;
    }
}

/* Configures the handle for one attempt. Returns a CURLcode. */
static CURLcode setup(struct http_client *c, const struct http_request *req,
                      struct curl_slist *hdrs)
{
    CURL *h = c->curl;
    CURLcode rc = CURLE_OK;
    /* reset keeps live connections and caches, only options go. */
    curl_easy_reset(h);
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L); /* a redirect must not carry our Authorization header */
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        c->opts.connect_timeout_ms > 0 ? c->opts.connect_timeout_ms : 30000L);
    SET(CURLOPT_TIMEOUT_MS, c->opts.timeout_ms > 0 ? c->opts.timeout_ms : 0L);
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes still count against max_body */
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, c);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, c);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    const char *m = req->method ? req->method : "GET";
    if (strcmp(m, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(m, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, m);
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
    }
#undef SET
    return rc;
}

int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp,
            struct ss_err *err)
{
    const char *method = req->method ? req->method : "GET";
    struct curl_slist *hdrs = NULL;
    int rc = -1;

    for (const char *const *h = req->headers; h && *h; h++) {
        struct curl_slist *n = curl_slist_append(hdrs, *h);
        if (!n) {
            http_fail(c, err, SS_ENOMEM, "%s %s: out of memory", method, req->url);
            goto out;
        }
        hdrs = n;
    }
    struct curl_slist *n = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (!n) {
        http_fail(c, err, SS_ENOMEM, "%s %s: out of memory", method, req->url);
        goto out;
    }
    hdrs = n;

    resp->body.limit = c->opts.max_body;
    resp->status = 0;
    resp->content_type[0] = '\0';
    c->body = &resp->body;
    const int max = c->opts.retry.max_attempts;

    for (int attempt = 1;; attempt++) {
        /* Wait for the limiter; the clock may wake early, so recheck. */
        int64_t now = c->clock->now_us(c->clock->ctx);
        int64_t d;
        while ((d = rl_delay(c->rl, now)) > 0) {
            c->clock->sleep_us(c->clock->ctx, d);
            int64_t later = c->clock->now_us(c->clock->ctx);
            c->stats.waited_us += later - now;
            now = later;
        }
        rl_record(c->rl, now);

        buf_reset(&resp->body);
        c->too_big = 0;
        c->retry_after[0] = '\0';
        c->content_type[0] = '\0';
        c->errbuf[0] = '\0';
        CURLcode cc = setup(c, req, hdrs);
        if (cc != CURLE_OK) {
            http_fail(c, err, SS_EHTTP, "%s %s: cannot configure request: %s", method, req->url,
                      curl_easy_strerror(cc));
            goto out;
        }
        c->stats.requests++;
        atomic_fetch_add(&c->requests_sent, 1);
        cc = curl_easy_perform(c->curl);

        long status = 0;
        int transport = 0;
        char what[CURL_ERROR_SIZE + 64];
        if (c->too_big) {
            http_fail(c, err, SS_ETOOBIG, "%s %s: response body exceeds the limit of %zu bytes",
                      method, req->url, c->opts.max_body);
            goto out;
        }
        if (cc != CURLE_OK) {
            transport = 1;
            c->stats.transport_errors++;
            /* curl's error buffer is more specific than its code's text. */
            snprintf(what, sizeof what, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc));
            if (curl_fatal(cc)) {
                http_fail(c, err, SS_EHTTP, "%s %s: %s", method, req->url, what);
                goto out;
            }
        } else {
            curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
            if (status == 429)
                c->stats.status_429++;
            else if (status >= 500 && status <= 599)
                c->stats.status_5xx++;
            snprintf(what, sizeof what, "HTTP %ld", status);
            resp->status = status;
            snprintf(resp->content_type, sizeof resp->content_type, "%s", c->content_type);
            if (!retry_is_retryable(status, 0)) {
                rc = 0;
                goto out;
            }
        }

        int64_t ra = -1;
        if (!transport && c->retry_after[0] &&
            retry_after_parse(c->retry_after, clock_wall_us(), &ra) != 0)
            ra = -1; /* unparseable: fall back to backoff */
        int64_t delay = retry_delay(&c->opts.retry, attempt, ra, http_rand(c));
        if (delay < 0) {
            http_fail(c, err, status == 429 ? SS_ERATE : SS_EHTTP,
                      "%s %s: %s (gave up after %d attempt%s)", method, req->url, what, attempt,
                      attempt == 1 ? "" : "s");
            goto out;
        }
        http_warn(c, "%s %s: %s; retry %d of %d in %.3fs", method, req->url, what, attempt, max - 1,
                  (double)delay / 1e6);
        c->stats.retries++;
        now = c->clock->now_us(c->clock->ctx);
        if (status == 429 && c->rl) {
            /* The server's word binds every request on this account, not just this one. */
            rl_block_until(c->rl, now + delay);
        } else {
            sleep_until(c, now + delay);
            c->stats.waited_us += c->clock->now_us(c->clock->ctx) - now;
        }
    }
out:
    c->body = NULL;
    curl_slist_free_all(hdrs);
    return rc;
}

const struct http_stats *http_stats(const struct http_client *c)
{
    return &c->stats;
}

long http_requests_sent(const struct http_client *c)
{
    return atomic_load(&((struct http_client *)c)->requests_sent);
}

void http_response_free(struct http_response *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    r->status = 0;
    r->content_type[0] = '\0';
}

int http_global_init(struct ss_err *err)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return err_set(err, SS_EHTTP, "curl_global_init: %s", curl_easy_strerror(rc));
    return 0;
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}
