/* density: what the database knows about how a stream's results spread over
 * time, for `scoresync plan` (pipeline/plan.h). Read-only queries on the
 * caller's connection:
 *   - which parts of a date range were read before, from the stream's
 *     checkpoints: the sync's reaches from where it began to its cursor,
 *     each backfill's ("<stream>#backfill:<since>..<until>") from its since
 *     to its progress cursor;
 *   - a histogram of the stored results over the date the stream's windows
 *     filter on, and the bytes a record takes in a response.
 * The backfill checkpoint key is pipeline.c's checkpoint_key() format.
 *
 * Ownership: arrays returned through out-parameters are malloc'd for the
 * caller to free() (NULL when empty); *cursor likewise. */
#ifndef SS_DENSITY_H
#define SS_DENSITY_H

#include <stddef.h>
#include <stdint.h>
#include "../core/err.h"
#include "db.h"

/* The vendor_accounts id of (vendor, account), or 0 when it has none yet
 * (never synced): nothing stored, nothing is created. */
int density_account_id(struct db *db, const char *vendor, const char *account, int64_t *id,
                       struct ss_err *err) SS_MUSTCHECK;

/* A time span [from, to), microseconds UTC. */
struct density_span {
    int64_t from, to;
};

/* Parts of the timeline the stream's checkpoints say were read: the sync
 * checkpoint covers [sync_start, cursor] (sync_start: where a first sync
 * began, the account's start_date), each backfill checkpoint [since,
 * cursor]. Sorted and merged. A checkpoint that does not parse as a time is
 * skipped. */
int density_covered(struct db *db, int64_t account_id, const char *stream, int64_t sync_start,
                    struct density_span **out, size_t *n, struct ss_err *err) SS_MUSTCHECK;

/* Stored results of (account, stream) whose `column` lies in [from, to),
 * counted per bucket of bucket_us starting at from: buckets[i] is the count
 * of bucket index[i] ([from + index*bucket_us, ... + bucket_us)). Only
 * buckets holding results are returned, in order. column: "completed_at",
 * "started_at" or "assigned_at" (anything else is refused: it names SQL). */
struct density_bucket {
    int64_t index;
    long records;
};
int density_histogram(struct db *db, int64_t account_id, const char *stream, const char *column,
                      int64_t from, int64_t to, int64_t bucket_us, struct density_bucket **out,
                      size_t *n, struct ss_err *err) SS_MUSTCHECK;

/* How many stored results of (account, stream) have `column` in [from, to). */
int density_count(struct db *db, int64_t account_id, const char *stream, const char *column,
                  int64_t from, int64_t to, long *count, struct ss_err *err) SS_MUSTCHECK;

/* Bytes one record of the stream takes in a response, from up to `max`
 * stored results in [from, to): its raw JSON plus its share of its
 * candidate's (the vendor's user object, sent once per user). jsonb prints
 * with spaces the vendor may not send: an estimate. 0 when none is stored. */
int density_bytes_per_record(struct db *db, int64_t account_id, const char *stream,
                             const char *column, int64_t from, int64_t to, long max, double *bytes,
                             struct ss_err *err) SS_MUSTCHECK;

#endif
