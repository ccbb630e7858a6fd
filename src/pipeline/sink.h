/* sink: where every record a vendor gives us goes, whoever asked for it
 * (sync, backfill, renormalize's sibling paths, a webhook receiver): each
 * result is normalised with norm_result(), unknown labels and quarantined
 * records are logged (capped), and the batch is loaded in transactions of at
 * most batch_rows results, the cursor stored with the last one, so the
 * checkpoint moves only once the whole batch is in. After each batch the
 * run's request count is recorded (runs.h), so a killed run still tells the
 * next one how much of the vendor's budget it spent.
 *
 * Log lines carry a log_ctx (vendor, account, stream): JSON logs get fields.
 *
 * A dry run (sink_opts.dry_run) loads every batch into the loader's dry
 * companion (load.h: one transaction per account, rolled back), so its
 * counts are what the real load would do and nothing is written.
 *
 * Ownership: sink_open() -> sink_close(). The sink copies the strings of
 * sink_opts; db, loader, scales and http are borrowed and must outlive it. */
#ifndef SS_SINK_H
#define SS_SINK_H

#include <stddef.h>
#include <stdint.h>
#include "../core/err.h"
#include "../core/log.h"
#include "../core/record.h"
#include "../http/http.h"
#include "../load/load.h"
#include "../normalize/norm.h"

struct sink_opts {
    struct loader *loader;
    const struct scales *sc;
    const char *vendor;  /* vendor name: norm_result()'s tables and the log */
    const char *account; /* for the log */
    int64_t account_id;
    const char *stream;     /* "scores": results that name no stream get it */
    int supplementary;      /* the stream carries less than the main one (vendor.h) */
    const char *checkpoint; /* checkpoint key; NULL = stream */
    int64_t run_id;         /* sync_runs row; 0 = none (no request counts noted) */
    size_t batch_rows;      /* results per transaction; 0 = the whole batch in one */
    /* May be NULL. Requests it sends from sink_open() on are the run's. */
    struct http_client *http;
    /* Dry run: batches go to load_dry_loader(loader, account_id), which
     * counts what they would change and keeps nothing; the run's request
     * counts still go to loader. Nothing is committed (commits stays 0). */
    int dry_run;
    /* The progress line's "requests left": the account's longest rate
     * window, window_requests per window_seconds (0 = no limit). */
    long window_requests;
    double window_seconds;
    /* Log lines only, never the live line: several streams run at once
     * (sync --jobs) and one terminal line cannot show them all. */
    int no_status_line;
};

struct sink_counts {
    struct load_counts loaded; /* what the loader did */
    long commits;              /* transactions committed */
    long noted;                /* results that carried norm_notes */
    long quarantined;          /* quarantine records handed in */
};

struct sink;

struct sink *sink_open(const struct sink_opts *o, struct ss_err *err);
/* Normalises and loads b, then empties it (also on failure). cursor, if not
 * NULL, becomes the checkpoint in the transaction of b's last part. Parts
 * committed before a failure stay committed. */
int sink_emit(struct sink *s, struct ss_batch *b, const char *cursor,
              struct ss_err *err) SS_MUSTCHECK;
/* Progress: what was just read ("2020-01-01 .. 2020-01-08", "offset 500"),
 * its records, and the share of the range done (< 0: unknown). On a
 * terminal (log_status_enabled()) it redraws one live line, also between
 * pages as batches load: the share, records, rows per second, requests left
 * in the rate window (what this process's client of the account sent in the
 * last window_seconds; earlier runs' requests are not known here) and an
 * ETA from the share and the time so far. Elsewhere, one info line per
 * call. */
void sink_progress(struct sink *s, const char *what, long records, double fraction_done);
const struct sink_counts *sink_counts(const struct sink *s);
const struct log_ctx *sink_log(const struct sink *s);
/* Results and candidates inserted or updated through this sink so far
 * (vendor_ctx.changed). */
long sink_changed(const struct sink *s);
/* Stored results of this sink's stream to re-read (vendor_ctx.stored_keys). */
int sink_stored_keys(struct sink *s, const char *const *statuses, int days, long max, char ***keys,
                     char ***cands, size_t *n, struct ss_err *err) SS_MUSTCHECK;
/* Logs how many notes and quarantined records were not logged one by one. */
void sink_close(struct sink *s);

#endif
