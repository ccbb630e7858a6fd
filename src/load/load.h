/* load: writing batches to PostgreSQL. A batch goes in through COPY into
 * temporary staging tables and then one INSERT ... ON CONFLICT DO UPDATE per
 * table, whose WHERE clause skips rows that did not change (no rewrite, no
 * dead tuple). The stream's checkpoint moves in the same transaction as the
 * data it covers, so a killed run resumes with no gap and no duplicate.
 *
 * Ownership: loader_new() -> loader_free(); the loader borrows db. Strings
 * returned through out-parameters are malloc'd for the caller to free(). */
#ifndef SS_LOAD_H
#define SS_LOAD_H

#include <stdint.h>
#include "../core/record.h"
#include "db.h"

struct load_counts {
    long cand_inserted, cand_updated, cand_unchanged;
    long res_inserted, res_updated, res_unchanged;
    long quarantined;
    long groups_changed; /* result_groups inserted or updated */
    /* Records repeated identically within one batch and loaded once (a
     * repeat that differs is quarantined instead; see load_batch). */
    long duplicates;
};

/* Adds every count of c to *t. */
void load_counts_add(struct load_counts *t, const struct load_counts *c);

struct run_stats {
    struct load_counts counts;
    long requests, retries, status_429, errors;
    long windows;
};

struct loader;

struct loader *loader_new(struct db *db, struct ss_err *err);
void loader_free(struct loader *l);

/* Finds or creates the vendor_accounts row. */
int load_account(struct loader *l, const char *vendor, const char *account, int64_t *account_id,
                 struct ss_err *err) SS_MUSTCHECK;

/* Stream checkpoint (an opaque cursor, vendor-defined text) stored under
 * checkpoint key `stream` (load_checkpoint_key() for a backfill's); *cursor
 * is NULL when none is stored. On any connection (sync's loader, plan's). */
int load_checkpoint_get(struct db *db, int64_t account_id, const char *stream, char **cursor,
                        struct ss_err *err) SS_MUSTCHECK;

/* The loader's connection (runs.c queries through it). Borrowed. */
struct db *loader_db(const struct loader *l);

/* sync_runs audit rows (runs.c; the rest of a run's bookkeeping is in
 * runs.h). mode: "sync" | "backfill". */
int load_run_begin(struct loader *l, int64_t account_id, const char *stream, const char *mode,
                   const char *args_json, int64_t *run_id, struct ss_err *err) SS_MUSTCHECK;
/* status: "ok" | "partial" | "failed". error may be NULL. */
int load_run_finish(struct loader *l, int64_t run_id, const struct run_stats *st,
                    const char *status, const char *error, struct ss_err *err) SS_MUSTCHECK;

/* In one transaction: upserts the batch's candidates, results (with their
 * sub-scores), catalogue entries (assessments), groups (result_groups and
 * their members) and quarantine rows, and sets the stream checkpoint to cursor
 * (unless cursor is NULL). stream is the checkpoint key; its part before a
 * '#' (a backfill's "scores#backfill:<range>") names the stream of
 * quarantine rows. scales_version is stored with each result.
 * Adds what happened to *counts.
 *
 * One record never fails the batch: a candidate or result the schema would
 * refuse (an id or e-mail too long for its index, an id that is not exact
 * UTF-8, a time outside 0001..9999 UTC) is quarantined with field and
 * reason before anything is sent, and rows the database still refuses are
 * found by bisecting the batch in savepoints and quarantined with its
 * message; the rest loads and the checkpoint moves. A result whose id
 * repeats in the batch with different content is quarantined (every copy);
 * a candidate's repeat loads its last record. Only a failure that is not
 * about the data (connection, disk, a parser bug such as a result without
 * a candidate) rolls the batch back. Registered secrets are masked in every
 * row sent (redact.h). */
int load_batch(struct loader *l, int64_t account_id, int64_t run_id, const char *stream,
               const struct ss_batch *b, const char *cursor, const char *scales_version,
               struct load_counts *counts, struct ss_err *err) SS_MUSTCHECK;

/* Quarantine rows the loader itself added in the last load_batch() (on
 * top of the batch's own): records the database would refuse or did
 * refuse, and ambiguous duplicates, each with field and reason, for the
 * caller's log. Borrowed; valid until the next load_batch(). */
const struct ss_batch *load_quarantined(const struct loader *l);

/* Dry runs (`sync --dry-run`): a companion of l on a connection of its own
 * (db_clone) inside one transaction that is never committed. Its
 * load_batch() works in a savepoint and, instead of committing, empties the
 * staging tables, so each batch sees what the dry run's earlier batches
 * would have written: the counts, vendor_ctx.changed and stored keys are
 * what a real sync would get (a record read twice counts once), and nobody
 * else ever sees a row. The transaction spans the calls for one account
 * (its streams see each other's rows, as after a real sync); asking for
 * another account rolls it back and begins anew, and loader_free(l) rolls
 * it back. The account's load lock is held one batch at a time, but the
 * rows it inserted or updated stay locked until then: another run that
 * writes those same rows meanwhile waits for it. Run bookkeeping
 * (load_run_*, runs.h) stays on l. Borrowed: owned by l. */
struct loader *load_dry_loader(struct loader *l, int64_t account_id,
                               struct ss_err *err) SS_MUSTCHECK;

/* vendor_keys of the account's stored results of `stream` whose status is
 * in statuses (NULL-terminated) and whose COALESCE(completed_at, started_at,
 * assigned_at) is within `days` of now: unfinished first, then newest
 * first, at most max (<= 0: none), and their candidates' vendor_keys.
 * *keys and *cands are malloc'd arrays of *n malloc'd strings (NULL when
 * none); free each and the arrays. */
int load_result_keys(struct loader *l, int64_t account_id, const char *stream,
                     const char *const *statuses, int days, long max, char ***keys, char ***cands,
                     size_t *n, struct ss_err *err) SS_MUSTCHECK;

/* ---- renormalize: rewriting what norm_result() decides -----------------
 * The columns and their COPY text come from the loader's own result column
 * list and encoder, so a value renormalize writes is byte for byte what a
 * sync loads, and an unchanged one compares equal. Within the caller's
 * transaction: load_renorm_add() stages the normalised columns of stored
 * result `id` (read at row version `xmin`, both as the server printed
 * them); load_renorm_apply() rewrites the staged rows whose values differ
 * and that nobody rewrote since they were read, then empties the stage.
 * changed: rows rewritten; skipped: rows another writer changed meanwhile
 * (left to that writer). A rollback discards what was applied. */
int load_renorm_add(struct loader *l, const char *id, const char *xmin, const struct ss_result *r,
                    const char *scales_version, struct ss_err *err) SS_MUSTCHECK;
int load_renorm_apply(struct loader *l, long *changed, long *skipped,
                      struct ss_err *err) SS_MUSTCHECK;

#endif
