/* window: reading a stream that has no paging, only date filters (TrueNorth
 * and Emmersion /scores), in date windows sized adaptively: a window whose
 * response passes the size cap is split and fetched again; the next window
 * shrinks or widens so that about `target` records come back per request.
 * Requests are the scarce resource (2,000 per 20 minutes), so sparse years
 * are crossed in few wide windows and dense months in many narrow ones. */
#ifndef SS_WINDOW_H
#define SS_WINDOW_H

#include <stdint.h>
#include "vendor.h"

struct window_plan {
    int64_t from, until;    /* inclusive range to read, microseconds UTC */
    int64_t initial_us;     /* first window span */
    int64_t min_us, max_us; /* bounds on the span */
    long target;            /* records wanted per window */
};

/* Fetches window [a, b] into out. Returns 0 with *records set, or -1: with
 * err->code == SS_ETOOBIG the window is split and retried. */
typedef int (*window_fetch_fn)(void *arg, int64_t a, int64_t b, struct ss_batch *out, long *records,
                               struct ss_err *err);

/* Works out the plan's range from the ctx: a backfill reads [since, until];
 * a sync reads from the checkpoint minus the overlap (or start_date) to now.
 * Returns 0, or -1 if the stored cursor cannot be read. */
int window_plan_init(const struct vendor_ctx *ctx, struct window_plan *p, struct ss_err *err);

/* Reads the whole range, emitting each window's batch with the window's end
 * as the cursor. Stops early (returning 0) when *ctx->stop is set. */
int window_run(struct vendor_ctx *ctx, const struct window_plan *p, window_fetch_fn fetch,
               void *arg, struct ss_err *err);

/* Reads again the windows around ctx->recheck (results not final yet), in
 * as few requests as spans of the plan's initial size allow, at most
 * WINDOW_RECHECK_MAX. Emits without a cursor: the checkpoint stays put. */
#define WINDOW_RECHECK_MAX 100
int window_recheck(struct vendor_ctx *ctx, const struct window_plan *p, window_fetch_fn fetch,
                   void *arg, struct ss_err *err);

/* The next span after a window of `span` returned `records` (pure). */
int64_t window_next_span(int64_t span, long records, const struct window_plan *p);

#endif
