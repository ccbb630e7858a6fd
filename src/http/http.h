/* http: the libcurl client every vendor uses. One call = one logical request:
 * it waits on the rate limiter (and the optional admission hook) before every
 * attempt, retries per retry.h,
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
    const char *log_prefix; /* "vendor/account", for log lines */
    /* Optional admission beyond the local limiter (the account's budget shared
     * with other processes, load/ledger.h). Called before every attempt, after
     * the limiter allows it: 0 = send now, > 0 = wait that many us (on the
     * client's clock) and ask again, < 0 = fail the request unsent with the
     * reason in err. The limiter records the attempt only once admitted. */
    int64_t (*admit)(void *arg, struct ss_err *err);
    /* Optional: the server answered 429, and this client waits block_us before
     * its next attempt; tells the shared budget so other processes wait too. */
    void (*refused)(void *arg, int64_t block_us);
    void *admit_arg; /* for both; borrowed, must outlive the client */
};

struct http_stats {
    long requests; /* attempts actually sent */
    long retries;
    long status_429;
    long status_5xx;
    long transport_errors;
    int64_t waited_us; /* time spent waiting on the limiter and backoff */
    long bad_bodies;   /* 2xx bodies a sink's end() called malformed */
};

/* Credentials, applied inside http_do to every attempt (curl's sigv4 idea):
 * a signature that holds a timestamp is computed afresh for each retry, and
 * no caller ever builds an Authorization header itself. The value (or the
 * parameter name, for query/form placement) is registered with core/redact.h
 * so it never reaches a log line, an error or the database.
 *
 * Logged URLs and errors show the caller's URL, never the one carrying the
 * credential. A signed value is not registered process-wide (one per attempt
 * would fill the registry); http_do masks it itself in what it returns.
 * FORM needs a method with a body (not GET/HEAD); its Content-Type defaults
 * to application/x-www-form-urlencoded when the caller's headers have none.
 * A credential or header name holding CR/LF is refused (SS_EINVAL). */
enum http_auth_place {
    HTTP_AUTH_NONE = 0,
    HTTP_AUTH_HEADER, /* "<name>: <prefix><value>" */
    HTTP_AUTH_QUERY,  /* "?<name>=<value>" appended to the URL, URL-encoded */
    HTTP_AUTH_FORM,   /* "<name>=<value>" appended to an x-www-form-urlencoded body */
};

struct http_auth {
    enum http_auth_place place;
    const char *name;   /* "Authorization", "X-Api-Key", "api_key", "signed_request" */
    const char *prefix; /* HEADER only: "Bearer "; may be NULL */
    const char *value;  /* a fixed credential (the API key) when sign is NULL */
    /* Computes the credential for one attempt into out (NUL-terminated text;
     * out is empty on entry, owned by http_do). now_wall_us is the attempt's
     * wall-clock time: the real one with the system clock; with an injected
     * clock, the wall time at http_new() moved by that clock, so a fake clock
     * that advances gives a new value. -1 fails the request (no retry). */
    int (*sign)(void *arg, int64_t now_wall_us, struct buf *out, struct ss_err *err);
    void *sign_arg;
};

/* A streaming consumer of 2xx bodies (hiredis's reader fed from curl's write
 * callback): the body is never held whole, and resp->body stays empty for a
 * 2xx. Non-2xx bodies never reach the sink: their first HTTP_ERROR_BODY_MAX
 * bytes are kept in http_response.body for the error message. max_body still
 * caps the bytes of any body (SS_ETOOBIG, no retry). A transport error in the
 * middle of a body is retried, and the next attempt starts with begin() again.
 * The err passed to the callbacks is scratch space of http_do: what they
 * write is copied, with context, into http_do's err when the request fails
 * (for end() == 1, into the retry warning and the final error). */
struct http_sink {
    /* A 2xx response begins (every attempt): reset what the last one left. */
    int (*begin)(void *arg, long status, struct ss_err *err);
    /* The next bytes. -1 aborts the request (not retried; err says why). */
    int (*data)(void *arg, const char *p, size_t n, struct ss_err *err);
    /* The body is complete. 0: accepted. 1: malformed or truncated, so the
     * attempt is retried like a transport error, counted against the same
     * retry_policy.max_attempts (one budget for the request). -1: fatal. */
    int (*end)(void *arg, struct ss_err *err);
    void *arg;
};

struct http_request {
    const char *method; /* "GET", "POST" */
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" list, may be NULL */
    const char *body;           /* may be NULL */
    size_t body_len;
    const struct http_auth *auth; /* may be NULL */
    const struct http_sink *sink; /* may be NULL: the body lands in resp->body */
};

/* Error bodies kept while streaming: the vendor's message, not its megabytes. */
#define HTTP_ERROR_BODY_MAX (64 * 1024)

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

/* A string that must never appear in logs or errors (API keys): registers it
 * and its URL-encoded form with redact_add() (process-wide; c is unused and
 * may be NULL). Kept for callers written before core/redact.h. */
void http_add_secret(struct http_client *c, const char *secret);

/* Performs the request with retries. Returns 0 when a final HTTP response was
 * received (any status: 2xx or a non-retryable 4xx), -1 when attempts ran
 * out (SS_EHTTP, SS_ERATE; SS_EINVAL when the last attempts were bodies the
 * sink called malformed), the body passed max_body (SS_ETOOBIG), or auth or
 * a sink failed. resp must be zeroed or reused. A non-2xx body left in
 * resp->body is redacted (registered secrets, secret parameters and the
 * attempt's credential masked), so it is safe to print. */
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
