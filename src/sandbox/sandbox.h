/* sandbox: our stand-in for the vendors' APIs (libmicrohttpd). Each vendor's
 * API is a part of its own (sb_<vendor>.c behind struct sb_vendor, see
 * sb_vendor.h), mounted under /<vendor>/<version>, e.g.
 *   http://127.0.0.1:8090/emmersion/2020q3/scores
 * Data is generated deterministically from (seed, vendor, account). Rate
 * limits are enforced per account in their strictest reading, and faults can
 * be injected. Admin endpoints live under /_sandbox/.
 *
 * Ownership: sandbox_start() -> sandbox_stop() (which frees). */
#ifndef SS_SANDBOX_H
#define SS_SANDBOX_H

#include <stdint.h>
#include "../core/err.h"

struct sandbox_faults {
    double p_5xx; /* share of requests answered 500/502/503 */
    double p_429; /* share answered 429 with Retry-After (a storm lasts storm_len requests) */
    int storm_len;
    double p_slow; /* share delayed by slow_ms */
    int slow_ms;
    double p_truncate;   /* share whose body is cut short (Content-Length lies) */
    double p_malformed;  /* share whose JSON body is broken */
    double p_bad_record; /* share of records with bad data (unknown level, wrong type);
                            deterministic per record */
};

struct sandbox_opts {
    const char *bind; /* default 127.0.0.1 */
    int port;         /* 0 = pick a free port */
    uint64_t seed;
    long reports;         /* score reports per account (default 2000) */
    const char *accounts; /* comma-separated account names, default "demo" */
    double rate_scale;    /* multiply the vendor limits (1 = real) */
    int no_limits;        /* disable rate limiting */
    struct sandbox_faults faults;
    int quiet;
};

struct sandbox;

void sandbox_opts_default(struct sandbox_opts *o);
int sandbox_start(const struct sandbox_opts *o, struct sandbox **out,
                  struct ss_err *err) SS_MUSTCHECK;
int sandbox_port(const struct sandbox *sb);
void sandbox_stop(struct sandbox *sb);
/* Prints each vendor part's routes, admin endpoints and rate limits (for
 * `scoresync sandbox --help`); f is a FILE *. */
void sandbox_print_vendors(void *f);

/* The API key the sandbox accepts for an account: "sandbox-<account>". */
#define SANDBOX_KEY_PREFIX "sandbox-"

#endif
