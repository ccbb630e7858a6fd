/* sb_vendor: the interface between the sandbox server (server.c) and one
 * vendor's API (sb_<vendor>.c). The server does everything that is the same
 * for every vendor: routing by prefix, rate limiting with the windows the
 * vendor declares (one limiter per vendor and account), fault injection,
 * admin endpoints. The vendor declares its limits, resolves the account from
 * a request (auth hook; sb_auth_bearer() for "Authorization: Bearer"),
 * answers authenticated requests and its own admin queries. Adding a vendor
 * = one file + one line in the table in server.c.
 *
 * Threading: auth(), handle() and admin() are called concurrently from
 * connection threads; vendor state must be read-only after init() (or
 * locked inside). */
#ifndef SS_SB_VENDOR_H
#define SS_SB_VENDOR_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/clock.h"
#include "../core/err.h"
#include "../http/ratelimit.h"
#include "sandbox.h"

/* Cap on a request body; larger uploads are answered 413. */
#define SB_MAX_BODY (1024 * 1024)
/* Cap on a generated response; a window that asks for more is answered 500
 * (the real API would stream it; clients narrow their windows anyway). */
#define SB_MAX_RESPONSE ((size_t)256 * 1024 * 1024)
/* Most rate windows a vendor may declare. */
#define SB_MAX_WINDOWS 4

/* Named values of one request (headers or query arguments), read through
 * the server; the strings live as long as the request. */
struct sb_params {
    const char *(*get)(void *ctx, const char *name); /* NULL if absent */
    void *ctx;
};

/* The value of `name`, or NULL. */
const char *sb_param(const struct sb_params *p, const char *name);

/* What an auth hook sees: the request before any vendor code runs. */
struct sb_auth_req {
    const char *method;
    const char *path; /* after the vendor prefix, no query */
    const char *body; /* NUL-terminated; "" when there is none */
    size_t body_len;
    struct sb_params header; /* names are case-insensitive */
    struct sb_params query;
    const char *const *accounts; /* the sandbox's account names */
    size_t naccounts;
};

/* The account whose API key is `key` ("sandbox-<account>"), or -1. */
int sb_account_by_key(const struct sb_auth_req *r, const char *key);
/* Auth hook for "Authorization: Bearer <key>" (never a query argument). */
int sb_auth_bearer(const struct sb_auth_req *r);

struct sb_req {
    void *state;        /* the vendor's init() state */
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* after the vendor prefix, no query, no trailing '/': "/scores" */
    const char *body;   /* NUL-terminated; "" when there is none */
    size_t body_len;
    struct sb_params query;
    const char *account; /* resolved by the vendor's auth hook */
    int account_index;   /* index into the accounts given to init() */
};

struct sb_resp {
    int status;               /* 0 until set */
    const char *content_type; /* static string or NULL (no body type) */
    struct buf body;          /* owned by the server; the handler appends */
    char allow[64];           /* "Allow" header value for 405, or "" */
};

/* GET /_sandbox/<vendor>/<what>?account=A[&...] (no auth). */
struct sb_admin_req {
    const char *what; /* "expected", ... */
    int account_index;
    const char *account;
    struct sb_params query; /* further arguments, e.g. n=3 */
};

struct sb_init {
    uint64_t seed;
    long reports;                /* score reports per account */
    const char *const *accounts; /* names, count naccounts; valid until free() */
    size_t naccounts;
    double p_bad_record;
    int quiet;
};

struct sb_vendor {
    const char *name;           /* "emmersion": admin paths are /_sandbox/<name>/... */
    const char *version_prefix; /* "/emmersion/2020q3" */
    /* Lines for `scoresync sandbox --help`: the routes and admin endpoints,
     * each line starting with two spaces. */
    const char *help;
    /* The documented limits per account, all enforced at once in their
     * strictest reading (closed spans); the server scales them by
     * --rate-scale. nlimits 0 = unlimited. */
    struct rl_window limits[SB_MAX_WINDOWS];
    size_t nlimits;
    /* Resolves the account of a request: its index, or -1 (answered 401
     * with no body, and WWW-Authenticate: <auth_challenge> if not NULL). */
    int (*auth)(const struct sb_auth_req *r);
    const char *auth_challenge;
    /* Builds the vendor's data; *state is freed with free_state(). */
    int (*init)(const struct sb_init *in, void **state, struct ss_err *err);
    void (*free_state)(void *state);
    /* Fills resp (status, content type, body). Returns 0, or -1 when the
     * response could not be built (the server answers 500). */
    int (*handle)(const struct sb_req *req, struct sb_resp *resp);
    /* Admin queries; NULL if none. Unknown `what`: answer 404. */
    int (*admin)(void *state, const struct sb_admin_req *req, struct sb_resp *resp);
};

extern const struct sb_vendor sb_emmersion_vendor;
extern const struct sb_vendor sb_truenorth_vendor;
extern const struct sb_vendor sb_cepa_vendor;
extern const struct sb_vendor sb_etest_vendor;
extern const struct sb_vendor sb_testello_vendor;

/* For tests: the clock the rate limiter reads (default clock_system()). The
 * clock must outlive the sandbox and be safe to read from any thread. */
void sandbox_set_clock(struct sandbox *sb, const struct ss_clock *clock);

/* Sets a JSON error response {"errors":[msg]} (server.c). */
void sb_resp_error(struct sb_resp *resp, int status, const char *msg);

#endif
