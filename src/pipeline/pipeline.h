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

struct sync_summary {
    int streams_ok;
    int streams_failed; /* streams, or accounts that failed before any stream ran */
    int interrupted;
    long commits; /* transactions committed (batches and checkpoints), all streams */
    struct run_stats total;
};

/* Syncs every selected account of every selected vendor; an account that
 * fails (refused key, vendor down, busy) is logged and the others still run.
 * Returns 0 if every stream finished, -1 if any failed (err holds the last
 * failure; sum says how many and what was committed). Borrowed: cfg, db, sc. */
int pipeline_sync(const struct config *cfg, struct db *db, const struct scales *sc,
                  const struct sync_request *rq, struct sync_summary *sum, struct ss_err *err);

#endif
