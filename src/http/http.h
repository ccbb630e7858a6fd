/* http: the libcurl client every vendor uses. One call = one logical request:
 * it waits on the rate limiter before every attempt, retries per retry.h,
 * caps the body size, verifies TLS, and never writes the Authorization
 * header or any registered secret to logs or error messages.
 *
 * Ownership: http_new() -> http_free(). The response body buffer is owned by
 * the caller's struct http_response; release with http_response_free(). */
#ifndef SS_HTTP_H
#define SS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "../core/buf.h"
#include "../core/clock.h"
#include "../core/err.h"
#include "ratelimit.h"
#include "retry.h"

struct http_opts {
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_body; /* response cap; larger -> SS_ETOOBIG, no retry */
    struct retry_policy retry;
    const char *user_agent; /* default "scoresync/VERSION" */
    const char *log_prefix; /* "emmersion/acme", for log lines */
};

struct http_stats {
    long requests; /* attempts actually sent */
    long retries;
    long status_429;
    long status_5xx;
    long transport_errors;
    int64_t waited_us; /* time spent waiting on the limiter and backoff */
};

struct http_request {
    const char *method; /* "GET", "POST" */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" list, may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;
};

struct http_response {
    long status;
    struct buf body;
    char content_type[128];
};

struct http_client;

/* rl and clock are borrowed and must outlive the client; rl may be NULL. */
struct http_client *http_new(const struct http_opts *opts, struct rate_limiter *rl,
                             const struct ss_clock *clock, struct ss_err *err);
void http_free(struct http_client *c);

/* A string that must never appear in logs or errors (API keys): http.c
 * replaces it with "***" in anything it prints. Copied. */
void http_add_secret(struct http_client *c, const char *secret);

/* Performs the request with retries. Returns 0 when a final HTTP response was
 * received (any status: 2xx or a non-retryable 4xx), -1 when attempts ran
 * out or the body passed max_body. resp must be zeroed or reused. */
int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp,
            struct ss_err *err) SS_MUSTCHECK;

/* Counters; read them from the thread that uses the client (or after it is done). */
const struct http_stats *http_stats(const struct http_client *c);
/* Attempts sent so far; safe to call from any thread while requests run. */
long http_requests_sent(const struct http_client *c);
void http_response_free(struct http_response *r);

/* Global init/cleanup of libcurl (call once from main / test main). */
int http_global_init(struct ss_err *err);
void http_global_cleanup(void);

#endif
