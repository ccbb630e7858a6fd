/* runs: a run's bookkeeping in the database, beside the loader. The
 * sync_runs audit rows themselves are load_run_begin()/load_run_finish()
 * (load.h); here is what a sync needs around them:
 *   - the requests a run has sent so far, recorded as it goes, so the next
 *     run (even after a kill) knows how much of the vendor's budget is spent;
 *   - the per-account session lock: one scoresync syncs an account at a time;
 *   - the stored results a sync re-reads because they may still change.
 * Every query goes through the loader's connection (loader_db()).
 *
 * Ownership: arrays returned through out-parameters are malloc'd for the
 * caller to free() (NULL when empty). */
#ifndef SS_RUNS_H
#define SS_RUNS_H

#include <stddef.h>
#include <stdint.h>
#include "../core/err.h"
#include "load.h"

/* Sets the run's request count and last_request_at = now(). */
int load_run_requests(struct loader *l, int64_t run_id, long requests,
                      struct ss_err *err) SS_MUSTCHECK;

/* Requests that earlier runs of the account sent within horizon_s seconds
 * (by their last request time), oldest first: what the vendor still counts
 * against the account. age_us is measured by the server's clock. */
struct load_recent {
    long requests;
    int64_t age_us;
};
int load_recent_requests(struct loader *l, int64_t account_id, double horizon_s,
                         struct load_recent **out, size_t *n, struct ss_err *err) SS_MUSTCHECK;

/* How long load_account_lock() waits for another run to let go. */
#define LOAD_ACCOUNT_LOCK_WAIT "20s"
/* Takes the account's session lock (released by load_account_unlock, or when
 * the connection closes: a crash frees it). Fails after waiting
 * LOAD_ACCOUNT_LOCK_WAIT when another run holds it. */
int load_account_lock(struct loader *l, int64_t account_id, struct ss_err *err) SS_MUSTCHECK;
int load_account_unlock(struct loader *l, int64_t account_id, struct ss_err *err);

/* Times (us, ascending) in `column` of the stream's stored results whose
 * canonical status is one of `statuses` (NULL-terminated) and whose time is
 * within the last `days` days. column must be "completed_at" or
 * "started_at" (anything else is refused: it names SQL). days <= 0 or no
 * statuses: none. */
int load_recheck_times(struct loader *l, int64_t account_id, const char *stream, const char *column,
                       const char *const *statuses, int days, int64_t **out, size_t *n,
                       struct ss_err *err) SS_MUSTCHECK;

/* Results of (vendor, account, stream) still unfinished (status in
 * statuses) whose `column` date is older than the re-check horizon `days`:
 * no sync reads them again, so `status` reports them. *count and the oldest
 * date (text, "" if none) are set. column as in load_recheck_times. */
int load_unfinished_past(struct db *db, const char *vendor, const char *account, const char *stream,
                         const char *column, const char *const *statuses, int days, long *count,
                         char *oldest, size_t oldest_len, struct ss_err *err) SS_MUSTCHECK;

#endif
