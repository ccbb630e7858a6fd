/* http: one libcurl easy handle per client, reused so connections stay
 * alive. Every attempt waits on the rate limiter first, then gets its own
 * credential (http_auth); retries follow retry.h; 2xx bodies may stream to a
 * sink; everything printed goes through core/redact.h. */
#include "http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/redact.h"

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
    int64_t wall0, mono0; /* wall time at http_new and the clock's reading then */
    struct http_stats stats;
    _Atomic long requests_sent; /* stats.requests, readable from another thread */
    uint64_t prng;

    /* Per-attempt credential and what carries it; reused, wiped after use. */
    struct buf cred;     /* the value (fixed or signed) */
    struct buf cred_esc; /* its URL-encoded form */
    struct buf url;      /* caller's URL + query credential */
    struct buf form;     /* caller's body + form credential */
    struct buf hdr;      /* "Name: prefix value" */

    /* Per-attempt state filled by the callbacks. */
    const struct http_sink *sink;
    struct buf *body;
    long hdr_status; /* from the status line of the response being read */
    size_t received; /* body bytes of this attempt, kept or not */
    int too_big, oom, sink_begun, sink_failed;
    struct ss_err sink_err; /* what the sink's callbacks report */
    char retry_after[128];
    char content_type[128];
    char errbuf[CURL_ERROR_SIZE];
};

static int is_2xx(long status)
{
    return status >= 200 && status <= 299;
}

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
    c->wall0 = clock_wall_us();
    c->mono0 = c->clock->now_us(c->clock->ctx);
    buf_init(&c->cred, 0);
    buf_init(&c->cred_esc, 0);
    buf_init(&c->url, 0);
    buf_init(&c->form, 0);
    buf_init(&c->hdr, 0);
    /* Seed for jitter only; not security relevant. */
    c->prng = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    return c;
}

/* Credentials must not linger in freed or reused memory. */
static void wipe(struct buf *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    b->len = 0;
}

void http_free(struct http_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    struct buf *scratch[] = {&c->cred, &c->cred_esc, &c->url, &c->form, &c->hdr};
    for (size_t i = 0; i < sizeof scratch / sizeof *scratch; i++) {
        wipe(scratch[i]);
        buf_free(scratch[i]);
    }
    free(c->user_agent);
    free(c->log_prefix);
    free(c);
}

/* Appends s[0..n) percent-encoded as curl_easy_escape does (RFC 3986
 * unreserved characters kept), which also suits x-www-form-urlencoded. */
static int url_escape(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char tmp[3];
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        size_t k = 1;
        tmp[0] = (char)ch;
        if (!keep) {
            tmp[0] = '%';
            tmp[1] = hex[ch >> 4];
            tmp[2] = hex[ch & 15];
            k = 3;
        }
        if (buf_append(out, tmp, k, NULL) != 0)
            return -1;
    }
    return buf_append(out, "", 0, NULL); /* NUL-terminated even when empty */
}

void http_add_secret(struct http_client *c, const char *secret)
{
    (void)c;
    if (!secret || !*secret)
        return;
    redact_add(secret);
    /* A secret placed in a query string shows up percent-encoded in the URL. */
    struct buf esc;
    buf_init(&esc, 0);
    if (url_escape(&esc, secret, strlen(secret)) == 0)
        redact_add(esc.data);
    wipe(&esc);
    buf_free(&esc);
}

/* Replaces each occurrence of needle in s with REDACT_MASK (never grows s). */
static void mask_str(char *s, const char *needle, size_t nl)
{
    if (nl < REDACT_MIN_LEN)
        return;
    size_t ml = strlen(REDACT_MASK);
    for (char *p = s; (p = strstr(p, needle)) != NULL; p += ml) {
        memmove(p + ml, p + nl, strlen(p + nl) + 1);
        memcpy(p, REDACT_MASK, ml);
    }
}

/* The attempt's credential is not in the process-wide registry when it is a
 * signature, so whatever http_do hands back is masked of it here. */
static void mask_cred(const struct http_client *c, char *s)
{
    if (c->cred.len)
        mask_str(s, c->cred.data, c->cred.len);
    if (c->cred_esc.len)
        mask_str(s, c->cred_esc.data, c->cred_esc.len);
}

/* Redacts a kept error body in place, segment by segment so bytes after an
 * embedded NUL are covered too. Masking only ever shrinks the text. */
static void redact_body(const struct http_client *c, struct buf *b)
{
    if (!b->data || b->len == 0)
        return;
    size_t in = 0, out = 0;
    for (;;) {
        char *seg = b->data + in;
        size_t n = strlen(seg); /* stops at an embedded NUL or at data[len] */
        mask_cred(c, seg);
        redact_apply(seg, n + 1);
        size_t m = strlen(seg);
        memmove(b->data + out, seg, m);
        out += m;
        in += n;
        if (in >= b->len)
            break;
        b->data[out++] = '\0'; /* keep the embedded NUL */
        in++;
    }
    b->len = out;
    b->data[out] = '\0';
}

/* Sets err to the formatted message, masked of the attempt's credential;
 * err_set() applies the process-wide redaction. */
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
    mask_cred(c, raw);
    return err_set(err, code, "%s", raw);
}

static void http_warn(const struct http_client *c, const char *fmt, ...) SS_PRINTF(2, 3);
static void http_warn(const struct http_client *c, const char *fmt, ...)
{
    char raw[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    mask_cred(c, raw);
    log_warn("%s: %s", c->log_prefix, raw); /* log lines are redacted by log.c */
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

/* Wall time for a signature: the real one with the system clock; with an
 * injected clock, moved by it (so a fake clock's waits show in the value). */
static int64_t attempt_wall_us(const struct http_client *c)
{
    if (c->clock == clock_system())
        return clock_wall_us();
    return c->wall0 + (c->clock->now_us(c->clock->ctx) - c->mono0);
}

static int sink_begin(struct http_client *c)
{
    c->sink_begun = 1;
    if (c->sink->begin && c->sink->begin(c->sink->arg, c->hdr_status, &c->sink_err) != 0) {
        c->sink_failed = 1;
        return -1;
    }
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct http_client *c = ud;
    size_t n = size * nmemb, max = c->opts.max_body;
    if (max && (n > max || c->received > max - n)) {
        c->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    c->received += n;
    if (c->sink && is_2xx(c->hdr_status)) {
        if (!c->sink_begun && sink_begin(c) != 0)
            return 0;
        if (c->sink->data && c->sink->data(c->sink->arg, ptr, n, &c->sink_err) != 0) {
            c->sink_failed = 1;
            return 0;
        }
        return n;
    }
    if (c->sink) {
        /* An error body while streaming: its head is the vendor's message. */
        size_t room = c->body->len < HTTP_ERROR_BODY_MAX ? HTTP_ERROR_BODY_MAX - c->body->len : 0;
        if (n < room)
            room = n;
        if (room && buf_append(c->body, ptr, room, NULL) != 0) {
            c->oom = 1;
            return 0;
        }
        return n;
    }
    if (buf_append(c->body, ptr, n, NULL) != 0) {
        c->oom = 1; /* the cap was checked above */
        return 0;
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

/* "HTTP/1.1 200 OK" -> 200; 0 if there is no code. */
static long status_of(const char *line, size_t n)
{
    size_t i = 0;
    while (i < n && line[i] != ' ')
        i++;
    while (i < n && line[i] == ' ')
        i++;
    long v = 0;
    int digits = 0;
    for (; i < n && line[i] >= '0' && line[i] <= '9' && digits < 3; i++, digits++)
        v = v * 10 + (line[i] - '0');
    return digits == 3 ? v : 0;
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
        c->hdr_status = status_of(ptr, n);
        return n;
    }
    header_value(ptr, n, "Retry-After", c->retry_after, sizeof c->retry_after);
    header_value(ptr, n, "Content-Type", c->content_type, sizeof c->content_type);
    if (header_value(ptr, n, "Content-Length", cl, sizeof cl) && c->opts.max_body) {
        char *e;
        unsigned long long v = strtoull(cl, &e, 10);
        if (*e == '\0' && e != cl && v > c->opts.max_body) {
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
static CURLcode setup(struct http_client *c, const char *method, const char *url, const char *body,
                      size_t body_len, struct curl_slist *hdrs)
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
    SET(CURLOPT_URL, url);
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
    if (strcmp(method, "GET") == 0) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, method);
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
        SET(CURLOPT_POSTFIELDS, body ? body : "");
    }
#undef SET
    return rc;
}

static int has_header(const char *const *headers, const char *name)
{
    size_t nl = strlen(name);
    for (const char *const *h = headers; h && *h; h++)
        if (strncasecmp(*h, name, nl) == 0 && (*h)[nl] == ':')
            return 1;
    return 0;
}

/* Checks what cannot change between attempts and registers the secrets. */
static int auth_check(const struct http_client *c, const struct http_request *req,
                      const char *method, struct ss_err *err)
{
    const struct http_auth *a = req->auth;
    if (!a || a->place == HTTP_AUTH_NONE)
        return 0;
    if (a->place != HTTP_AUTH_HEADER && a->place != HTTP_AUTH_QUERY && a->place != HTTP_AUTH_FORM)
        return http_fail(c, err, SS_EINVAL, "%s %s: unknown auth placement %d", method, req->url,
                         (int)a->place);
    if (!a->name || !*a->name || strpbrk(a->name, ":\r\n \t"))
        return http_fail(c, err, SS_EINVAL, "%s %s: bad auth name \"%s\"", method, req->url,
                         a->name ? a->name : "(null)");
    if (!a->sign && (!a->value || !*a->value))
        return http_fail(c, err, SS_EINVAL, "%s %s: auth %s has no value", method, req->url,
                         a->name);
    if (a->place == HTTP_AUTH_FORM && (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
        return http_fail(c, err, SS_EINVAL, "%s %s: form auth %s needs a request body", method,
                         req->url, a->name);
    if (a->value && !a->sign)
        http_add_secret(NULL, a->value);
    if (a->place != HTTP_AUTH_HEADER)
        redact_add_param(a->name);
    return 0;
}

/* This attempt's credential, and the URL, body and headers carrying it.
 * Everything built here lives in c's scratch buffers until the next attempt. */
static int auth_apply(struct http_client *c, const struct http_request *req, const char *method,
                      const char **url, const char **body, size_t *body_len,
                      struct curl_slist **hdrs, struct ss_err *err)
{
    const struct http_auth *a = req->auth;
    *url = req->url;
    *body = req->body;
    *body_len = req->body ? req->body_len : 0;
    wipe(&c->cred);
    wipe(&c->cred_esc);
    if (!a || a->place == HTTP_AUTH_NONE)
        return 0;

    if (a->sign) {
        struct ss_err serr = {0};
        buf_reset(&c->cred);
        if (a->sign(a->sign_arg, attempt_wall_us(c), &c->cred, &serr) != 0) {
            wipe(&c->cred); /* a half-written signature is still a secret */
            return http_fail(c, err, serr.code ? serr.code : SS_EINVAL,
                             "%s %s: cannot sign the request: %s", method, req->url, serr.msg);
        }
    } else if (buf_append(&c->cred, a->value, strlen(a->value), NULL) != 0) {
        goto oom;
    }
    if (c->cred.len == 0)
        return http_fail(c, err, SS_EINVAL, "%s %s: auth %s: empty credential", method, req->url,
                         a->name);
    if (strlen(c->cred.data) != c->cred.len || strpbrk(c->cred.data, "\r\n")) {
        wipe(&c->cred);
        return http_fail(c, err, SS_EINVAL, "%s %s: auth %s: credential holds a control character",
                         method, req->url, a->name);
    }
    if (url_escape(&c->cred_esc, c->cred.data, c->cred.len) != 0)
        goto oom;

    struct buf *b = NULL;
    switch (a->place) {
    case HTTP_AUTH_HEADER:
        b = &c->hdr;
        wipe(b);
        if (buf_appendf(b, NULL, "%s: %s%s", a->name, a->prefix ? a->prefix : "", c->cred.data) !=
            0)
            goto oom;
        struct curl_slist *n = curl_slist_append(*hdrs, b->data);
        if (!n)
            goto oom;
        *hdrs = n;
        return 0;
    case HTTP_AUTH_QUERY: {
        b = &c->url;
        wipe(b);
        /* curl never sends a fragment: drop it, the parameter goes before it. */
        size_t base = strcspn(req->url, "#");
        const char *q = memchr(req->url, '?', base);
        const char *sep = !q                                                         ? "?"
                          : (req->url[base - 1] == '?' || req->url[base - 1] == '&') ? ""
                                                                                     : "&";
        if (buf_append(b, req->url, base, NULL) != 0 || buf_append(b, sep, strlen(sep), NULL) != 0)
            goto oom;
        *url = b->data;
        break;
    }
    case HTTP_AUTH_FORM:
        b = &c->form;
        wipe(b);
        if (*body_len && buf_append(b, *body, *body_len, NULL) != 0)
            goto oom;
        if (*body_len && (*body)[*body_len - 1] != '&' && buf_append(b, "&", 1, NULL) != 0)
            goto oom;
        if (!has_header(req->headers, "Content-Type")) {
            struct curl_slist *n2 =
                curl_slist_append(*hdrs, "Content-Type: application/x-www-form-urlencoded");
            if (!n2)
                goto oom;
            *hdrs = n2;
        }
        break;
    default:
        return 0;
    }
    if (url_escape(b, a->name, strlen(a->name)) != 0 || buf_append(b, "=", 1, NULL) != 0 ||
        buf_append(b, c->cred_esc.data, c->cred_esc.len, NULL) != 0)
        goto oom;
    if (a->place == HTTP_AUTH_QUERY) {
        *url = b->data;
    } else {
        *body = b->data;
        *body_len = b->len;
    }
    return 0;
oom:
    return http_fail(c, err, SS_ENOMEM, "%s %s: out of memory adding credentials", method,
                     req->url);
}

/* The caller's headers plus "Expect:"; auth_apply may add to it. */
static int base_headers(const struct http_request *req, struct curl_slist **out)
{
    struct curl_slist *hdrs = NULL, *n;
    for (const char *const *h = req->headers; h && *h; h++) {
        if (!(n = curl_slist_append(hdrs, *h)))
            goto fail;
        hdrs = n;
    }
    if (!(n = curl_slist_append(hdrs, "Expect:"))) /* no 100-continue round trip */
        goto fail;
    *out = n;
    return 0;
fail:
    curl_slist_free_all(hdrs);
    return -1;
}

/* Waits until the limiter and then the admission hook let an attempt go;
 * *now is the time it may be sent. The clock may wake early, so recheck. */
static int admit_wait(struct http_client *c, const char *method, const char *url, int64_t *now,
                      struct ss_err *err)
{
    int64_t t = c->clock->now_us(c->clock->ctx);
    for (;;) {
        int64_t d;
        while ((d = rl_delay(c->rl, t)) > 0) {
            c->clock->sleep_us(c->clock->ctx, d);
            int64_t later = c->clock->now_us(c->clock->ctx);
            c->stats.waited_us += later - t;
            t = later;
        }
        if (!c->opts.admit)
            break;
        struct ss_err aerr = {0};
        d = c->opts.admit(c->opts.admit_arg, &aerr);
        if (d < 0)
            return http_fail(c, err, aerr.code ? aerr.code : SS_EHTTP, "%s %s: not sent: %s",
                             method, url, aerr.msg[0] ? aerr.msg : "refused by the admission hook");
        int64_t before = t;
        t = c->clock->now_us(c->clock->ctx);
        if (d == 0)
            break;
        sleep_until(c, t + d);
        t = c->clock->now_us(c->clock->ctx);
        c->stats.waited_us += t - before;
    }
    *now = t;
    return 0;
}

int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp,
            struct ss_err *err)
{
    const char *method = req->method ? req->method : "GET";
    struct curl_slist *hdrs = NULL;
    int rc = -1;

    resp->body.limit = c->opts.max_body;
    resp->status = 0;
    resp->content_type[0] = '\0';
    buf_reset(&resp->body);
    c->body = &resp->body;
    c->sink = req->sink;
    c->hdr_status = 0;
    const int max = c->opts.retry.max_attempts;
    if (auth_check(c, req, method, err) != 0)
        goto out;

    for (int attempt = 1;; attempt++) {
        int64_t now = 0;
        if (admit_wait(c, method, req->url, &now, err) != 0)
            goto out;
        rl_record(c->rl, now);

        /* Headers are rebuilt per attempt: the credential in them changes. */
        curl_slist_free_all(hdrs);
        hdrs = NULL;
        if (base_headers(req, &hdrs) != 0) {
            http_fail(c, err, SS_ENOMEM, "%s %s: out of memory", method, req->url);
            goto out;
        }
        const char *url, *body;
        size_t body_len;
        if (auth_apply(c, req, method, &url, &body, &body_len, &hdrs, err) != 0)
            goto out;

        buf_reset(&resp->body);
        c->too_big = c->oom = c->sink_begun = c->sink_failed = 0;
        c->received = 0;
        c->hdr_status = 0;
        err_clear(&c->sink_err);
        c->retry_after[0] = '\0';
        c->content_type[0] = '\0';
        c->errbuf[0] = '\0';
        CURLcode cc = setup(c, method, url, body, body_len, hdrs);
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
        enum ss_errcode give_up = SS_EHTTP;
        char what[sizeof c->sink_err.msg + 64];
        if (c->too_big) {
            http_fail(c, err, SS_ETOOBIG, "%s %s: response body exceeds the limit of %zu bytes",
                      method, req->url, c->opts.max_body);
            goto out;
        }
        if (c->oom) {
            http_fail(c, err, SS_ENOMEM, "%s %s: out of memory reading the response", method,
                      req->url);
            goto out;
        }
        if (c->sink_failed) {
            http_fail(c, err, c->sink_err.code ? c->sink_err.code : SS_EINVAL, "%s %s: %s", method,
                      req->url, c->sink_err.msg[0] ? c->sink_err.msg : "the body was refused");
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
            if (c->sink && is_2xx(status)) {
                c->hdr_status = status;
                if (!c->sink_begun && sink_begin(c) != 0) { /* an empty body */
                    http_fail(c, err, c->sink_err.code ? c->sink_err.code : SS_EINVAL, "%s %s: %s",
                              method, req->url, c->sink_err.msg);
                    goto out;
                }
                int e = c->sink->end ? c->sink->end(c->sink->arg, &c->sink_err) : 0;
                if (e == 0) {
                    rc = 0;
                    goto out;
                }
                if (e < 0) {
                    http_fail(c, err, c->sink_err.code ? c->sink_err.code : SS_EINVAL, "%s %s: %s",
                              method, req->url, c->sink_err.msg);
                    goto out;
                }
                /* Malformed or cut short: another attempt, from the same budget. */
                c->stats.bad_bodies++;
                give_up = SS_EINVAL;
                snprintf(what, sizeof what, "HTTP %ld with a malformed body: %s", status,
                         c->sink_err.msg[0] ? c->sink_err.msg : "(no reason given)");
            } else if (!retry_is_retryable(status, 0)) {
                rc = 0;
                goto out;
            } else if (status == 429) {
                give_up = SS_ERATE;
            }
        }

        int64_t ra = -1;
        if (!transport && c->retry_after[0] &&
            retry_after_parse(c->retry_after, clock_wall_us(), &ra) != 0)
            ra = -1; /* unparseable: fall back to backoff */
        if (give_up == SS_EINVAL)
            ra = -1; /* a Retry-After on a 2xx means nothing */
        int64_t delay = retry_delay(&c->opts.retry, attempt, ra, http_rand(c));
        if (delay < 0) {
            http_fail(c, err, give_up, "%s %s: %s (gave up after %d attempt%s)", method, req->url,
                      what, attempt, attempt == 1 ? "" : "s");
            goto out;
        }
        http_warn(c, "%s %s: %s; retry %d of %d in %.3fs", method, req->url, what, attempt, max - 1,
                  (double)delay / 1e6);
        c->stats.retries++;
        now = c->clock->now_us(c->clock->ctx);
        if (status == 429 && c->opts.refused)
            c->opts.refused(c->opts.admit_arg, delay); /* and the account's other processes */
        if (status == 429 && c->rl) {
            /* The server's word binds every request on this account, not just this one. */
            rl_block_until(c->rl, now + delay);
        } else {
            sleep_until(c, now + delay);
            c->stats.waited_us += c->clock->now_us(c->clock->ctx) - now;
        }
    }
out:
    /* A vendor that echoes the key in an error body must not leak it to a
     * caller that prints the body. 2xx bodies are data and left alone. */
    if (!is_2xx(c->hdr_status))
        redact_body(c, &resp->body);
    c->body = NULL;
    c->sink = NULL;
    struct buf *scratch[] = {&c->cred, &c->cred_esc, &c->url, &c->form, &c->hdr};
    for (size_t i = 0; i < sizeof scratch / sizeof *scratch; i++)
        wipe(scratch[i]);
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
