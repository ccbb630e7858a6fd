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
};

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

/* Stream checkpoint (an opaque cursor, vendor-defined text). *cursor is NULL
 * when none is stored. */
int load_checkpoint_get(struct loader *l, int64_t account_id, const char *stream, char **cursor,
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
 * sub-scores) and quarantine rows, and sets the stream checkpoint to cursor
 * (unless cursor is NULL). stream is the checkpoint key; its part before a
 * '#' (a backfill's "scores#backfill:<range>") names the stream of
 * quarantine rows. scales_version is stored with each result.
 * Adds what happened to *counts. */
int load_batch(struct loader *l, int64_t account_id, int64_t run_id, const char *stream,
               const struct ss_batch *b, const char *cursor, const char *scales_version,
               struct load_counts *counts, struct ss_err *err) SS_MUSTCHECK;

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
