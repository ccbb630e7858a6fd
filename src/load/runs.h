/* runs: a run's bookkeeping in the database, beside the loader. The
 * sync_runs audit rows themselves are load_run_begin()/load_run_finish()
 * (load.h); here is what a sync needs around them:
 *   - the requests a run has sent so far, recorded as it goes (status, the
 *     metrics read them; the account's request budget shared
 *     between processes is the request ledger, ledger.h);
 *   - the per-stream session lock: one scoresync syncs (or backfills) a
 *     stream of an account at a time;
 *   - the stored results a sync re-reads because they may still change;
 *   - checkpoint keys (a backfill keeps its own per range).
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

/* A stream's checkpoint key: the stream's name for a sync; a backfill keeps
 * its own progress per range, "<stream>" LOAD_BACKFILL_TAG "<since>..<until>"
 * (ts_format times, "open" for TS_NULL), so a killed backfill resumes and
 * never moves the nightly sync's checkpoint. */
#define LOAD_BACKFILL_TAG "#backfill:"
void load_checkpoint_key(const char *stream, int backfill, int64_t since, int64_t until, char *out,
                         size_t n);

/* Sets the run's request count and last_request_at = now(). */
int load_run_requests(struct loader *l, int64_t run_id, long requests,
                      struct ss_err *err) SS_MUSTCHECK;

/* How long load_stream_lock() waits for another run to let go. */
#define LOAD_STREAM_LOCK_WAIT "20s"
/* Takes the session lock of (account, stream, mode), mode being "sync" or
 * "backfill": a backfill and a sync of one account run side by side (their
 * requests share the account's budget through the ledger, their rows meet in
 * the loader's per-batch lock), while two syncs, or two backfills, of one
 * stream exclude each other. Released by load_stream_unlock, or when the
 * connection closes (a crash frees it). Fails after waiting
 * LOAD_STREAM_LOCK_WAIT when another run holds it. */
int load_stream_lock(struct loader *l, int64_t account_id, const char *stream, const char *mode,
                     struct ss_err *err) SS_MUSTCHECK;
int load_stream_unlock(struct loader *l, int64_t account_id, const char *stream, const char *mode,
                       struct ss_err *err);

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
