/* pipeline: extract -> normalise -> load for each selected vendor account
 * and stream. One rate limiter and one HTTP client per account (the vendor
 * limits are per account), one sync_runs row per stream, and the checkpoint
 * committed with each batch it covers (sink.h). A failing stream is recorded
 * and the others still run. */
#ifndef SS_PIPELINE_H
#define SS_PIPELINE_H

#include <signal.h>
#include <stdint.h>
#include "../config/config.h"
#include "../load/db.h"
#include "../load/load.h"
#include "../normalize/norm.h"

struct sync_request {
    const char *vendor;   /* NULL = every configured vendor */
    const char *account;  /* NULL = every account */
    const char *stream;   /* NULL = every enabled stream */
    int backfill;         /* read [since, until] and keep its own progress checkpoint */
    int64_t since, until; /* TS_NULL = open */
    int dry_run;          /* extract and normalise, load nothing (see sink.h) */
    int jobs;             /* accounts synced at once; <= 1 = one after another */
    volatile sig_atomic_t *stop;
};

/* What became of one selected account (sync_summary.accounts). */
struct sync_account_summary {
    const char *vendor, *account; /* borrowed from cfg and the vendor registry */
    int started;                  /* 0: the run was interrupted before it */
    int streams_ok;
    int streams_failed; /* or 1 when the account failed before any stream ran */
    int interrupted;
    long commits;
    struct run_stats total;
    struct ss_err err; /* its last failure, when streams_failed > 0 */
};

struct sync_summary {
    int streams_ok;
    int streams_failed; /* streams, or accounts that failed before any stream ran */
    int interrupted;
    long commits; /* transactions committed (batches and checkpoints), all streams */
    struct run_stats total;
    /* Every selected account in configuration order (whatever rq->jobs),
     * with its own counts; the fields above are their sums. Owned by the
     * summary: sync_summary_free(). */
    struct sync_account_summary *accounts;
    size_t n_accounts;
};

/* Syncs every selected account of every selected vendor; an account that
 * fails (refused key, vendor down, busy) is logged and the others still run.
 * rq->jobs > 1 syncs up to that many accounts at once, each on a thread with
 * its own database connection (db_clone of db), loader and HTTP client; db
 * itself is then only cloned. Returns 0 if every stream finished, -1 if any
 * failed (err holds the last failure in configuration order; sum says how
 * many and what was committed, in total and per account). Borrowed: cfg,
 * db, sc. *sum is filled even on failure: call sync_summary_free(). */
int pipeline_sync(const struct config *cfg, struct db *db, const struct scales *sc,
                  const struct sync_request *rq, struct sync_summary *sum, struct ss_err *err);
/* Frees sum->accounts; sum may be reused. */
void sync_summary_free(struct sync_summary *sum);

#endif
