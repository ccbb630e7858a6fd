/* pager: which page to read next, for the three ways vendors list records.
 *   window  date filters only (no paging): adaptive date windows that shrink
 *           or widen toward a record target and split when a response is too
 *           big; then re-reads of windows around stored results that are not
 *           final yet (recheck), which complete no checkpoint.
 *   offset  limit/offset over a list in a stable order; each page starts
 *           `overlap` records before where the last one ended, so records
 *           that shift down while we page are re-read rather than skipped.
 *   token   opaque next-page tokens from the vendor.
 * A pager is plain data and arithmetic: no I/O, no threads, so unit tests
 * drive it directly. prefetch.h runs any pager; fetch.h reads one page.
 *
 * Ownership: a struct pager is caller storage; it borrows ctx->recheck. */
#ifndef SS_PAGER_H
#define SS_PAGER_H

#include <stddef.h>
#include <stdint.h>
#include "vendor.h"

enum pager_kind { PAGER_WINDOW, PAGER_OFFSET, PAGER_TOKEN };

#define PAGER_TOKEN_MAX 512

/* One page to read. */
struct page_req {
    int64_t from, to;   /* window: [from, to], microseconds UTC */
    long offset, limit; /* offset */
    const char *token;  /* token: NULL on the first page */
    int recheck;        /* a re-read of unfinished results: moves no checkpoint */
};

/* What reading the page found (filled by the vendor's page reader). */
struct page_res {
    long records;  /* elements the page held */
    int too_big;   /* the response passed the size cap (window: split and retry) */
    int last;      /* the vendor says there is no next page */
    int caught_up; /* offset/token incremental: nothing on this page was new, stop */
    char next_token[PAGER_TOKEN_MAX]; /* token: the next page's token, "" = none */
};

struct pager {
    enum pager_kind kind;
    int done;
    /* window */
    int64_t from, until; /* the range; from advances as windows complete */
    int64_t start;       /* where the range began, for progress */
    int64_t span;        /* next window's span */
    int64_t initial_us, min_us, max_us;
    long target; /* records wanted per window */
    const int64_t *recheck;
    size_t n_recheck, recheck_i;
    int64_t recheck_span; /* cluster width: initial_us, halved by a too-big cluster */
    long recheck_max, recheck_requests;
    /* offset */
    long offset, limit, overlap;
    /* token */
    char token[PAGER_TOKEN_MAX];
    int have_token;
};

/* Window pager from the account's window settings and the ctx: a backfill
 * reads [since, until] (resuming from its own cursor), a sync reads from the
 * checkpoint minus overlap_minutes (or start_date) to now; then ctx->recheck
 * times, clustered, at most ctx->recheck_max requests. -1 if the stored
 * cursor cannot be read. */
int pager_window_init(struct pager *p, const struct vendor_ctx *ctx,
                      struct ss_err *err) SS_MUSTCHECK;
/* Offset pager starting at `offset` (a stored cursor), `limit` per page. */
void pager_offset_init(struct pager *p, long offset, long limit, long overlap);
/* Token pager; token is the stored cursor or NULL for the first page. */
void pager_token_init(struct pager *p, const char *token);

/* Fills req with the next page. Returns 1, or 0 when there is none. */
int pager_next(struct pager *p, struct page_req *req);
/* After reading req: moves on and writes the cursor this page completes
 * into cursor ("" when it completes none: a recheck, or a page to retry).
 * Returns 0, or 1 when the same range must be read again smaller (a window
 * too big), or -1 with err when it cannot go on (too big at the minimum). */
int pager_done(struct pager *p, const struct page_req *req, const struct page_res *res,
               char *cursor, size_t n, struct ss_err *err);
/* Share of the range done, 0..1 (offset/token: unknown, 0). */
double pager_fraction(const struct pager *p);
/* "2020-01-01 .. 2020-01-08", "offset 500", "first page"/"next page": for
 * progress lines. */
void pager_describe(const struct pager *p, const struct page_req *req, char *out, size_t n);

/* The next window span after a window of `span` held `records` (pure). */
int64_t pager_next_span(const struct pager *p, int64_t span, long records);

#endif
