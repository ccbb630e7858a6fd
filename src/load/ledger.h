/* ledger: the client side of the request ledger (sql/008_request_ledger.sql),
 * an account's request budget kept in PostgreSQL so that every process
 * sending for the account (a backfill beside the nightly sync, another host,
 * any tool calling scoresync_request_grant) stays within the vendor's limits
 * together. A grant is one request, stamped with the server's clock when it
 * is granted, and the caller sends it right away: the ledger holds history,
 * never reservations (why: the migration's header).
 *
 * The ledger talks over its own connection (a db_clone() of the one given to
 * ledger_open): the loader's connection is inside transactions on another
 * thread while the account's requests are sent.
 *
 * When the ledger cannot be reached, nothing is sent without it: each ask
 * answers "wait LEDGER_RETRY_US" (reconnecting as needed) until the ledger
 * answers again, and after give_up_us of failures ledger_acquire fails, so
 * the request, and with it the stream, fails with the reason.
 *
 * Ownership: ledger_open() -> ledger_close(). The db passed to ledger_open is
 * borrowed for the call only. Not thread-safe: one thread at a time asks (the
 * one sending the account's requests; it may differ from the one that opened). */
#ifndef SS_LEDGER_H
#define SS_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include "../core/err.h"
#include "db.h"

/* How long a ledger may stay unreachable before a request fails, by default. */
#define LEDGER_GIVE_UP_US (30 * 1000000LL)
/* How often an unreachable ledger is asked again. */
#define LEDGER_RETRY_US (500 * 1000LL)

struct ledger_window {
    long limit;        /* requests ... (1 .. INT_MAX) */
    int64_t period_us; /* ... per this span; sent to the server in whole ms, rounded up */
};

struct ledger_opts {
    int64_t account_id; /* vendor_accounts.id */
    const struct ledger_window *windows;
    size_t n_windows;       /* 1 or more */
    int64_t margin_us;      /* added to every period (jitter between grant and receipt) */
    int64_t give_up_us;     /* 0: LEDGER_GIVE_UP_US */
    const char *log_prefix; /* "vendor/account", for log lines; copied */
};

struct ledger_stats {
    long grants;   /* requests granted */
    long waits;    /* asks answered "wait": the budget was spent (by anyone) */
    long failures; /* asks that failed to reach the ledger */
};

struct ledger;

/* Opens the ledger's own connection and checks the server has the ledger
 * (migration 008). */
int ledger_open(struct db *db, const struct ledger_opts *o, struct ledger **out,
                struct ss_err *err) SS_MUSTCHECK;
void ledger_close(struct ledger *l);

/* Asks for one request. 0 with *wait_us == 0: granted, send now; 0 with
 * *wait_us > 0: wait that long, then ask again (the budget is spent, or the
 * ledger is unreachable and is being retried). -1: the ledger has been
 * unreachable for give_up_us; do not send (err says why). */
int ledger_acquire(struct ledger *l, int64_t *wait_us, struct ss_err *err) SS_MUSTCHECK;

/* The vendor answered 429: no process of the account gets a grant for
 * block_us. Best effort (a failure is logged; the caller's own limiter is
 * blocked anyway). */
void ledger_block(struct ledger *l, int64_t block_us);

/* The same two as http_opts hooks (http/http.h), arg being the ledger:
 * ledger_admit returns 0 (send), > 0 (wait that many us) or < 0 (fail). */
int64_t ledger_admit(void *ledger, struct ss_err *err);
void ledger_refused(void *ledger, int64_t block_us);

/* What every process of the account was granted within the last horizon_us
 * (server clock), oldest first: one entry per grant time, with its age.
 * *holders: how many processes (connections) those grants came from. *out
 * is malloc'd for the caller to free() (NULL when none). Reads only: no
 * ledger connection needed, db is the caller's. */
struct ledger_sent {
    long requests;
    int64_t age_us;
};
int ledger_recent(struct db *db, int64_t account_id, int64_t horizon_us, struct ledger_sent **out,
                  size_t *n, long *holders, struct ss_err *err) SS_MUSTCHECK;

const struct ledger_stats *ledger_stats(const struct ledger *l);
/* The server process id the ledger's grants carry (request_ledger.holder). */
int ledger_holder(const struct ledger *l);

#endif
