#include "window.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../core/log.h"
#include "../core/timeparse.h"

#define DAY_US (86400LL * 1000000LL)

int window_plan_init(const struct vendor_ctx *ctx, struct window_plan *p, struct ss_err *err)
{
    const struct cfg_account *a = ctx->acct;
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
    p->target = a->window_target_records > 0 ? a->window_target_records : 2000;
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
    p->from = start;
    return 0;
}

int64_t window_next_span(int64_t span, long records, const struct window_plan *p)
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

/* window_run overlaps the two halves of the work, which use different cores:
 * a reader thread fetches and parses window N+1 (HTTP, json-c) while the
 * caller's thread loads window N (normalise, COPY, PostgreSQL). They hand
 * over one batch at a time through `slot`, in order, so checkpoints still
 * advance window by window. The reader owns the HTTP client and the window
 * sizing; the caller owns emit (the database) and progress. */
struct wslot {
    struct ss_batch b;
    int64_t from, to;
    long records;
};

struct wrun {
    struct vendor_ctx *ctx;
    const struct window_plan *p;
    window_fetch_fn fetch;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct wslot slot;
    int full;   /* slot holds a window for the caller */
    int done;   /* the reader has finished (see rc) */
    int cancel; /* the caller failed: the reader stops */
    int rc;     /* reader's result */
    struct ss_err err;
};

static void *reader_main(void *argp)
{
    struct wrun *w = argp;
    const struct window_plan *p = w->p;
    struct ss_batch b;
    batch_init(&b);
    int64_t span = p->initial_us;
    int64_t a = p->from;
    int rc = 0;
    struct ss_err err = {0};

    while (a < p->until) {
        if (w->ctx->stop && *w->ctx->stop)
            break;
        int64_t bnd = a + span;
        if (bnd > p->until || bnd < a)
            bnd = p->until;
        long records = 0;
        batch_reset(&b);
        if (w->fetch(w->arg, a, bnd, &b, &records, &err) != 0) {
            if (err.code == SS_ETOOBIG && span > p->min_us) {
                span /= 2;
                if (span < p->min_us)
                    span = p->min_us;
                log_info("%s/%s: window too large, splitting to %.0f s", w->ctx->acct->vendor,
                         w->ctx->acct->name, (double)span / 1e6);
                err_clear(&err);
                continue;
            }
            rc = -1;
            break;
        }
        /* Hand the window over once the caller has taken the previous one. */
        pthread_mutex_lock(&w->mu);
        while (w->full && !w->cancel)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->cancel) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        struct ss_batch tmp = w->slot.b;
        w->slot.b = b;
        b = tmp; /* the caller's emptied batch comes back for reuse */
        w->slot.from = a;
        w->slot.to = bnd;
        w->slot.records = records;
        w->full = 1;
        w->ctx->windows++;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);

        span = window_next_span(bnd - a, records, p);
        a = bnd;
    }
    batch_free(&b);
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    w->err = err;
    w->done = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int window_run(struct vendor_ctx *ctx, const struct window_plan *p, window_fetch_fn fetch,
               void *arg, struct ss_err *err)
{
    struct wrun w;
    memset(&w, 0, sizeof w);
    w.ctx = ctx;
    w.p = p;
    w.fetch = fetch;
    w.arg = arg;
    batch_init(&w.slot.b);
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    pthread_t reader;
    if (pthread_create(&reader, NULL, reader_main, &w) != 0) {
        pthread_cond_destroy(&w.cv);
        pthread_mutex_destroy(&w.mu);
        return err_set(err, SS_EIO, "could not start the window reader thread");
    }

    int rc = 0;
    char cursor[40];
    struct ss_batch mine;
    batch_init(&mine);
    for (;;) {
        pthread_mutex_lock(&w.mu);
        while (!w.full && !w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        if (!w.full) { /* done, nothing left */
            pthread_mutex_unlock(&w.mu);
            break;
        }
        struct ss_batch tmp = mine;
        mine = w.slot.b;
        w.slot.b = tmp;
        int64_t from = w.slot.from, to = w.slot.to;
        long records = w.slot.records;
        w.full = 0;
        pthread_cond_broadcast(&w.cv);
        pthread_mutex_unlock(&w.mu);

        ts_format(to, cursor, sizeof cursor);
        if (ctx->emit(ctx->sink, &mine, cursor, err) != 0) {
            rc = -1;
            pthread_mutex_lock(&w.mu);
            w.cancel = 1;
            pthread_cond_broadcast(&w.cv);
            pthread_mutex_unlock(&w.mu);
            break;
        }
        batch_reset(&mine);
        if (ctx->progress) {
            double total = (double)(p->until - p->from);
            ctx->progress(ctx->sink, from, to, records,
                          total > 0 ? (double)(to - p->from) / total : 1.0);
        }
    }
    pthread_join(reader, NULL);
    /* Everything the reader fetched before failing has been loaded. */
    if (rc == 0 && w.rc != 0) {
        *err = w.err;
        rc = -1;
    }
    batch_free(&mine);
    batch_free(&w.slot.b);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}

int window_recheck(struct vendor_ctx *ctx, const struct window_plan *p, window_fetch_fn fetch,
                   void *arg, struct ss_err *err)
{
    struct ss_batch b;
    batch_init(&b);
    int rc = 0, requests = 0;
    size_t i = 0;
    while (i < ctx->n_recheck && requests < WINDOW_RECHECK_MAX) {
        if (ctx->stop && *ctx->stop)
            break;
        /* One window from this pending result to the last one within a span. */
        int64_t a = ctx->recheck[i], bnd = a;
        while (i < ctx->n_recheck && ctx->recheck[i] - a <= p->initial_us)
            bnd = ctx->recheck[i++];
        long records = 0;
        batch_reset(&b);
        requests++;
        if (fetch(arg, a, bnd, &b, &records, err) != 0) {
            rc = -1;
            break;
        }
        if (ctx->emit(ctx->sink, &b, NULL, err) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ctx->n_recheck)
        log_info("%s/%s: re-read %zu results not final yet in %d request%s%s", ctx->acct->vendor,
                 ctx->acct->name, i, requests, requests == 1 ? "" : "s",
                 i < ctx->n_recheck ? " (the rest next run)" : "");
    batch_free(&b);
    return rc;
}
