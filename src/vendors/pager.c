/* pager: next-page arithmetic for date windows, offsets and tokens. */
#include "pager.h"

#include <stdio.h>
#include <string.h>

#include "../core/timeparse.h"

#define DAY_US              (86400LL * 1000000LL)
#define RECHECK_MAX_DEFAULT 100

int pager_window_init(struct pager *p, const struct vendor_ctx *ctx, struct ss_err *err)
{
    const struct cfg_account *a = ctx->acct;
    memset(p, 0, sizeof *p);
    p->kind = PAGER_WINDOW;
    p->initial_us = (int64_t)(a->window_initial_days * DAY_US);
    p->min_us = (int64_t)(a->window_min_seconds * 1e6);
    p->max_us = (int64_t)(a->window_max_days * DAY_US);
    if (p->min_us < 1000000)
        p->min_us = 1000000;
    if (p->max_us < p->min_us)
        p->max_us = p->min_us;
    if (p->initial_us < p->min_us)
        p->initial_us = p->min_us;
    if (p->initial_us > p->max_us)
        p->initial_us = p->max_us;
    p->target = a->window_target_records > 0 ? a->window_target_records : 10000;
    p->until = ctx->until != TS_NULL && ctx->until < ctx->now ? ctx->until : ctx->now;

    int64_t start;
    if (ctx->backfill && ctx->since != TS_NULL) {
        start = ctx->since;
    } else if (ctx->cursor) {
        if (ts_parse(ctx->cursor, 0, &start, err) != 0)
            return err_prefix(err, "stored checkpoint \"%s\"", ctx->cursor);
        if (!ctx->backfill)
            start -= (int64_t)a->overlap_minutes * 60 * 1000000;
    } else {
        if (ts_parse(a->start_date ? a->start_date : "2015-01-01", 0, &start, err) != 0)
            return err_prefix(err, "start_date");
    }
    /* A resumed backfill continues from its own progress checkpoint. */
    if (ctx->backfill && ctx->cursor) {
        int64_t resume;
        if (ts_parse(ctx->cursor, 0, &resume, err) != 0)
            return err_prefix(err, "stored backfill checkpoint \"%s\"", ctx->cursor);
        if (resume > start)
            start = resume;
    }
    p->from = p->start = start;
    p->span = p->recheck_span = p->initial_us;
    if (!ctx->backfill) {
        p->recheck = ctx->recheck;
        p->n_recheck = ctx->n_recheck;
    }
    p->recheck_max = ctx->recheck_max > 0 ? ctx->recheck_max : RECHECK_MAX_DEFAULT;
    return 0;
}

void pager_offset_init(struct pager *p, long offset, long limit, long overlap)
{
    memset(p, 0, sizeof *p);
    p->kind = PAGER_OFFSET;
    p->offset = offset > 0 ? offset : 0;
    p->limit = limit > 0 ? limit : 100;
    p->overlap = overlap >= 0 && overlap < p->limit ? overlap : 0;
}

void pager_token_init(struct pager *p, const char *token)
{
    memset(p, 0, sizeof *p);
    p->kind = PAGER_TOKEN;
    if (token && *token) {
        snprintf(p->token, sizeof p->token, "%s", token);
        p->have_token = 1;
    }
}

int64_t pager_next_span(const struct pager *p, int64_t span, long records)
{
    int64_t next = span;
    if (records > p->target) {
        /* Shrink in proportion, so the next window lands near the target. */
        next = (int64_t)((double)span * (double)p->target / (double)records);
    } else if (records < p->target / 2) {
        /* Widen sparse stretches, at most 4x at a time to stay near the density. */
        double f = records > 0 ? (double)p->target / (double)records : 4.0;
        if (f > 4.0)
            f = 4.0;
        next = (int64_t)((double)span * f);
    }
    if (next < p->min_us)
        next = p->min_us;
    if (next > p->max_us)
        next = p->max_us;
    return next;
}

static int window_next(struct pager *p, struct page_req *req)
{
    if (p->from < p->until) {
        int64_t b = p->from + p->span;
        if (b > p->until || b < p->from)
            b = p->until;
        req->from = p->from;
        req->to = b;
        return 1;
    }
    /* Then one window from each not-final result to the last one within
     * the re-check span: clustered, so nearby ones cost one request. */
    if (p->recheck_i < p->n_recheck && p->recheck_requests < p->recheck_max) {
        int64_t a = p->recheck[p->recheck_i], b = a;
        size_t i = p->recheck_i;
        while (i < p->n_recheck && p->recheck[i] - a <= p->recheck_span)
            b = p->recheck[i++];
        /* Stored times are rounded to the microsecond; the vendor's may lie
         * up to half a microsecond either side. */
        req->from = a - 1;
        req->to = b + 1;
        req->recheck = 1;
        return 1;
    }
    return 0;
}

int pager_next(struct pager *p, struct page_req *req)
{
    memset(req, 0, sizeof *req);
    if (p->done)
        return 0;
    switch (p->kind) {
    case PAGER_WINDOW:
        return window_next(p, req);
    case PAGER_OFFSET:
        req->offset = p->offset;
        req->limit = p->limit;
        return 1;
    case PAGER_TOKEN:
        req->token = p->have_token ? p->token : NULL;
        return 1;
    }
    return 0;
}

static int window_done(struct pager *p, const struct page_req *req, const struct page_res *res,
                       char *cursor, size_t n, struct ss_err *err)
{
    if (req->recheck && res->too_big) {
        /* A cluster too big for one response: read it again in narrower
         * clusters (the request counts against the cap all the same). */
        p->recheck_requests++;
        int64_t span = req->to - req->from - 2;
        if (span <= 0)
            return err_set(err, SS_ETOOBIG,
                           "re-checking results at one instant is over the response size cap; "
                           "raise http.max_response_bytes");
        p->recheck_span = span / 2;
        return 1;
    }
    if (req->recheck) {
        size_t i = p->recheck_i;
        while (i < p->n_recheck && p->recheck[i] < req->to)
            i++;
        p->recheck_i = i;
        p->recheck_requests++;
        return 0;
    }
    if (res->too_big) {
        int64_t span = req->to - req->from;
        if (span <= p->min_us)
            return err_set(err, SS_ETOOBIG,
                           "a window of %.0f s is still over the response size cap; raise "
                           "http.max_response_bytes or lower window.min_seconds",
                           (double)span / 1e6);
        p->span = span / 2 < p->min_us ? p->min_us : span / 2;
        return 1;
    }
    ts_format(req->to, cursor, n);
    p->span = pager_next_span(p, req->to - req->from, res->records);
    p->from = req->to;
    return 0;
}

int pager_done(struct pager *p, const struct page_req *req, const struct page_res *res,
               char *cursor, size_t n, struct ss_err *err)
{
    if (n)
        cursor[0] = '\0';
    /* Only a window can be read again smaller; a list page cut short must
     * not complete a cursor past the records it did not read. */
    if (p->kind != PAGER_WINDOW && res->too_big)
        return err_set(err, SS_ETOOBIG,
                       "a page is over the response size cap; raise "
                       "http.max_response_bytes or lower page_size");
    switch (p->kind) {
    case PAGER_WINDOW:
        return window_done(p, req, res, cursor, n, err);
    case PAGER_OFFSET:
        /* A short page is the end of the list; the next sync starts there. */
        if (res->last || res->caught_up || res->records < req->limit)
            p->done = 1;
        if (!p->done)
            p->offset = req->offset + res->records - p->overlap;
        snprintf(cursor, n, "%ld", req->offset + res->records);
        return 0;
    case PAGER_TOKEN:
        if (res->last || res->caught_up || !res->next_token[0]) {
            p->done = 1;
            return 0;
        }
        snprintf(p->token, sizeof p->token, "%s", res->next_token);
        p->have_token = 1;
        snprintf(cursor, n, "%s", p->token);
        return 0;
    }
    return 0;
}

double pager_fraction(const struct pager *p)
{
    if (p->kind != PAGER_WINDOW)
        return 0.0;
    double total = (double)(p->until - p->start);
    if (total <= 0)
        return 1.0;
    double f = (double)(p->from - p->start) / total;
    return f > 1.0 ? 1.0 : f;
}

void pager_describe(const struct pager *p, const struct page_req *req, char *out, size_t n)
{
    char a[40], b[40];
    switch (p->kind) {
    case PAGER_WINDOW:
        ts_format(req->from, a, sizeof a);
        ts_format(req->to, b, sizeof b);
        snprintf(out, n, "%s%.10s .. %.10s", req->recheck ? "re-check " : "", a, b);
        return;
    case PAGER_OFFSET:
        snprintf(out, n, "offset %ld", req->offset);
        return;
    case PAGER_TOKEN:
        snprintf(out, n, "%s page", req->token ? "next" : "first");
        return;
    }
}
