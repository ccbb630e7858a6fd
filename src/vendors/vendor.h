/* vendor: the one interface every vendor extractor implements (curl's
 * Curl_ssl idea): a struct of function pointers per vendor, one file per
 * vendor, one registry table in registry.c. A new vendor touches no switch.
 *
 * An extractor reads a stream (a kind of record the vendor lists: "scores",
 * "assignments", ...) from where the stored checkpoint says, parses each
 * record with no database inside, and hands batches plus the cursor they
 * complete to ctx->emit, which loads them and moves the checkpoint in one
 * transaction. The pipeline owns everything in the ctx; the extractor
 * borrows it for the duration of extract(). */
#ifndef SS_VENDOR_H
#define SS_VENDOR_H

#include <signal.h>
#include <stdint.h>
#include "../config/config.h"
#include "../core/err.h"
#include "../core/record.h"
#include "../http/http.h"

struct vendor_ctx {
    const struct cfg_account *acct;
    struct http_client *http;
    const char *cursor;   /* stored checkpoint of this stream, NULL if none */
    int backfill;         /* 1: read [since, until] regardless of the checkpoint */
    int64_t since, until; /* backfill bounds (TS_NULL = open); until also caps sync */
    int64_t now;          /* wall-clock "now", fixed at run start */
    /* Loads b (and empties it) and, when cursor != NULL, stores cursor as the
     * stream's checkpoint in the same transaction. */
    int (*emit)(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err);
    void *sink;
    /* Progress of a date-windowed read, for the log: done/total in us. */
    void (*progress)(void *sink, int64_t window_from, int64_t window_to, long records,
                     double fraction_done);
    volatile sig_atomic_t *stop; /* set on SIGINT/SIGTERM: end after the current batch */
    /* Completion times (ascending, us) of stored results of this stream that
     * are not final yet (pending scoring, in review) and recent enough to
     * re-read: a vendor that scores them later does not move their dates,
     * so the checkpoint alone would never see the change. May be empty. */
    const int64_t *recheck;
    size_t n_recheck;
    long windows; /* extractor increments per window/page read */
};

struct vendor_ops {
    const char *name;           /* config key: "emmersion" */
    const char *title;          /* "Emmersion Enterprise API 2020q3" */
    const char *const *streams; /* NULL-terminated, in the order a sync runs them */
    /* Reads one stream into ctx->emit. Returns 0 when the range is done (or
     * *ctx->stop was set), -1 with err when the stream failed; what was
     * emitted before the failure stays loaded. */
    int (*extract)(struct vendor_ctx *ctx, const char *stream, struct ss_err *err);
    /* Re-parses one stored raw record (results.raw) into r, for
     * `renormalize`, without calling the vendor. */
    int (*reparse)(const char *stream, const char *raw_json, struct ss_result *r,
                   struct ss_err *err);
};

/* NULL-terminated registry (registry.c). */
extern const struct vendor_ops *const vendor_registry[];
const struct vendor_ops *vendor_find(const char *name);
int vendor_has_stream(const struct vendor_ops *v, const char *stream);

#endif
