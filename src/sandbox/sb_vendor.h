/* sb_vendor: the interface between the sandbox server (server.c) and one
 * vendor's API (sb_<vendor>.c). The server does everything that is the same
 * for every vendor: routing by prefix, Bearer auth, rate limits, fault
 * injection, admin endpoints. A vendor only answers authenticated requests
 * and its own admin queries. Adding a vendor = one file + one line in the
 * table in server.c.
 *
 * Threading: handle() and admin() are called concurrently from connection
 * threads; vendor state must be read-only after init() (or locked inside). */
#ifndef SS_SB_VENDOR_H
#define SS_SB_VENDOR_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"
#include "../core/clock.h"
#include "../core/err.h"
#include "sandbox.h"

/* Cap on a request body; larger uploads are answered 413. */
#define SB_MAX_BODY (1024 * 1024)
/* Cap on a generated response; a window that asks for more is answered 500
 * (the real API would stream it; clients narrow their windows anyway). */
#define SB_MAX_RESPONSE ((size_t)256 * 1024 * 1024)

struct sb_req {
    void *state;        /* the vendor's init() state */
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* after the vendor prefix, no query, no trailing '/': "/scores" */
    const char *body;   /* NUL-terminated; "" when there is none */
    size_t body_len;
    const char *account; /* resolved from the Bearer key */
    int account_index;   /* index into the accounts given to init() */
};

struct sb_resp {
    int status;               /* 0 until set */
    const char *content_type; /* static string or NULL (no body type) */
    struct buf body;          /* owned by the server; the handler appends */
    char allow[64];           /* "Allow" header value for 405, or "" */
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
    /* Builds the vendor's data; *state is freed with free_state(). */
    int (*init)(const struct sb_init *in, void **state, struct ss_err *err);
    void (*free_state)(void *state);
    /* Fills resp (status, content type, body). Returns 0, or -1 when the
     * response could not be built (the server answers 500). */
    int (*handle)(const struct sb_req *req, struct sb_resp *resp);
    /* GET /_sandbox/<name>/<what>?account=A (no auth). NULL if none. */
    int (*admin)(void *state, const char *what, int account_index, struct sb_resp *resp);
};

extern const struct sb_vendor sb_emmersion_vendor;

/* For tests: the clock the rate limiter reads (default clock_system()). The
 * clock must outlive the sandbox and be safe to read from any thread. */
void sandbox_set_clock(struct sandbox *sb, const struct ss_clock *clock);

/* Small helpers shared by vendor files (server.c). */

/* Appends s as a JSON string literal (with quotes), or null when s is NULL. */
int sb_json_str(struct buf *b, const char *s);
/* Sets a JSON error response {"errors":[msg]}. */
void sb_resp_error(struct sb_resp *resp, int status, const char *msg);

#endif
