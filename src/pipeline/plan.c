/* plan: the real pager over a density model, timed by a rate limiter. */
#include "plan.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/clock.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "../http/http.h"
#include "../http/ratelimit.h"
#include "../load/density.h"
#include "../load/ledger.h"
#include "../load/load.h"
#include "../load/runs.h"
#include "../vendors/pager.h"
#include "account.h"

#define DAY_US          (86400LL * 1000000LL)
#define SAMPLES_DEFAULT 8
/* Stored results read one by one (as their times) up to this many in a
 * span, else as a histogram of this many buckets: fine enough that windows
 * of minutes still see the density's shape, few enough to read at once. */
#define STORED_BUCKETS 200000
/* Stored results whose sizes give the bytes per record. */
#define BYTES_SAMPLE 2000
/* A sample window aims at this share of max_response_bytes, so one that
 * meets a denser stretch than expected still fits in one response. */
#define SAMPLE_CAP_SHARE 0.25
/* Sampled results repeated across the unread rest of their stratum, at
 * most this many pieces in all (32 bytes each); past it, an even spread. */
#define TILE_MAX 1000000.0
/* A simulation this long is a mistake in the settings, not a plan. */
#define SIM_MAX_REQUESTS 50000000L

/* ---- the model ----------------------------------------------------------- */

void plan_model_init(struct plan_model *m)
{
    memset(m, 0, sizeof *m);
}

void plan_model_free(struct plan_model *m)
{
    free(m->p);
    free(m->cum_rec);
    free(m->cum_bytes);
    memset(m, 0, sizeof *m);
}

int plan_model_add(struct plan_model *m, int64_t from, int64_t to, double records,
                   double bytes_per_record)
{
    if (to <= from || !(records > 0))
        return 0;
    if (arr_grow((void **)&m->p, m->n, &m->cap, sizeof *m->p) != 0)
        return -1;
    m->p[m->n++] = (struct plan_piece){from, to, records, bytes_per_record};
    return 0;
}

static int cmp_piece(const void *a, const void *b)
{
    const struct plan_piece *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->to < y->to ? -1 : x->to > y->to;
}

int plan_model_seal(struct plan_model *m)
{
    if (m->n > 1)
        qsort(m->p, m->n, sizeof *m->p, cmp_piece);
    /* Records at the same instant are one piece. */
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct plan_piece *q = k ? &m->p[k - 1] : NULL;
        if (q && q->from == m->p[i].from && q->to == m->p[i].to) {
            double r = q->records + m->p[i].records;
            q->bytes = r > 0 ? (q->records * q->bytes + m->p[i].records * m->p[i].bytes) / r : 0;
            q->records = r;
        } else {
            m->p[k++] = m->p[i];
        }
    }
    m->n = k;
    free(m->cum_rec);
    free(m->cum_bytes);
    m->cum_rec = malloc((m->n + 1) * sizeof *m->cum_rec);
    m->cum_bytes = malloc((m->n + 1) * sizeof *m->cum_bytes);
    if (!m->cum_rec || !m->cum_bytes)
        return -1;
    m->cum_rec[0] = m->cum_bytes[0] = 0;
    for (size_t i = 0; i < m->n; i++) {
        m->cum_rec[i + 1] = m->cum_rec[i] + m->p[i].records;
        m->cum_bytes[i + 1] = m->cum_bytes[i] + m->p[i].records * m->p[i].bytes;
    }
    return 0;
}

/* Records (and bytes) before t. */
static double cum_at(const struct plan_model *m, int64_t t, double *bytes)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) { /* the first piece ending after t */
        size_t mid = lo + (hi - lo) / 2;
        if (m->p[mid].to <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    double r = m->cum_rec ? m->cum_rec[lo] : 0, b = m->cum_bytes ? m->cum_bytes[lo] : 0;
    if (lo < m->n && m->p[lo].from < t) {
        const struct plan_piece *p = &m->p[lo];
        double f = (double)(t - p->from) / (double)(p->to - p->from);
        r += p->records * f;
        b += p->records * p->bytes * f;
    }
    *bytes = b;
    return r;
}

double plan_model_count(const struct plan_model *m, int64_t from, int64_t to, double *bytes)
{
    double b0 = 0, b1 = 0, r = 0;
    if (to > from)
        r = cum_at(m, to, &b1) - cum_at(m, from, &b0);
    if (bytes)
        *bytes = b1 - b0;
    return r;
}

/* ---- the simulation ------------------------------------------------------ */

int plan_simulate(const struct vendor_ctx *ctx, const struct plan_model *m, struct plan_sim *out,
                  struct ss_err *err)
{
    memset(out, 0, sizeof *out);
    struct pager p;
    if (pager_window_init(&p, ctx, err) != 0)
        return -1;
    double cap = (double)ctx->acct->max_response_bytes;
    struct page_req req;
    while (pager_next(&p, &req)) {
        if (out->requests >= SIM_MAX_REQUESTS)
            return err_set(err, SS_EINVAL,
                           "over %ld requests: the window settings cannot read this range",
                           SIM_MAX_REQUESTS);
        double bytes = 0;
        double rec = plan_model_count(m, req.from, req.to, &bytes);
        struct page_res res;
        memset(&res, 0, sizeof res);
        res.records = lround(rec);
        /* What fetch.c reports for a body over the cap, and prefetch.c
         * passes to the pager. */
        res.too_big = cap > 0 && bytes > cap;
        out->requests++;
        char cursor[64];
        struct ss_err e = {0};
        int rc = pager_done(&p, &req, &res, cursor, sizeof cursor, &e);
        if (rc < 0) {
            out->failed = 1;
            snprintf(out->why, sizeof out->why, "%.255s", e.msg);
            break;
        }
        if (rc == 1) {
            out->splits++;
            continue;
        }
        out->windows++;
        out->records += rec;
        if (log_get_level() <= LOG_DEBUG) {
            char a0[40], a1[40];
            ts_format(req.from, a0, sizeof a0);
            ts_format(req.to, a1, sizeof a1);
            log_debug("plan: window %s .. %s: %ld records", a0, a1, res.records);
        }
    }
    return 0;
}

/* ---- the duration -------------------------------------------------------- */

/* Records `sent` into rl as sent at now - age (each entry all at once, as a
 * run's limiter replays them): in time order, and only the last requests
 * the largest window can hold, since no window remembers more. */
static void replay(struct rate_limiter *rl, const struct cfg_account *a,
                   const struct plan_sent *sent, size_t n, int64_t now)
{
    long most = 0, total = 0;
    for (int i = 0; i < a->n_rate; i++)
        if (a->rate[i].requests > most)
            most = a->rate[i].requests;
    for (size_t i = 0; i < n; i++)
        total += sent[i].requests > 0 ? sent[i].requests : 0;
    long skip = total > most ? total - most : 0;
    for (size_t i = 0; i < n; i++) {
        int64_t age = sent[i].age_us > 0 ? sent[i].age_us : 0;
        for (long k = 0; k < sent[i].requests; k++) {
            if (skip > 0) {
                skip--;
                continue;
            }
            rl_record(rl, now - age);
        }
    }
}

int64_t plan_duration(const struct cfg_account *a, const struct plan_sent *sent, size_t n,
                      long requests, long *held)
{
    if (held)
        memset(held, 0, CFG_MAX_WINDOWS * sizeof *held);
    if (a->n_rate <= 0)
        return 0;
    const int64_t margin = (int64_t)a->rate_margin_ms * 1000;
    struct rate_limiter *rl = account_limiter(a);
    if (!rl)
        return -1;
    /* A virtual clock far from zero, so earlier sends keep positive times. */
    const int64_t now = INT64_C(1) << 60;
    replay(rl, a, sent, n, now);
    if (held)
        for (int i = 0; i < a->n_rate; i++) {
            long h =
                (long)rl_count_recent(rl, now, (int64_t)(a->rate[i].per_seconds * 1e6) + margin);
            held[i] = h < a->rate[i].requests ? h : a->rate[i].requests;
        }
    int64_t t = now;
    for (long i = 0; i < requests; i++) {
        t += rl_delay(rl, t);
        rl_record(rl, t);
    }
    rl_free(rl);
    return t - now;
}

/* ---- what other runs of the account hold --------------------------------- */

/* Requests any process of the account was granted within its largest rate
 * window, at their own times (the request ledger): the budget held now. */
static int recent_requests(struct db *db, int64_t account_id, const struct cfg_account *a,
                           struct plan_sent **out, size_t *n, long *holders, struct ss_err *err)
{
    *out = NULL;
    *n = 0;
    *holders = 0;
    double horizon = 0;
    for (int i = 0; i < a->n_rate; i++)
        if (a->rate[i].per_seconds > horizon)
            horizon = a->rate[i].per_seconds;
    if (account_id == 0 || a->n_rate == 0)
        return 0;
    struct ledger_sent *r = NULL;
    size_t k = 0;
    if (ledger_recent(db, account_id, (int64_t)(horizon * 1e6) + (int64_t)a->rate_margin_ms * 1000,
                      &r, &k, holders, err) != 0)
        return -1;
    if (k > 0) {
        *out = malloc(k * sizeof **out);
        if (!*out) {
            free(r);
            return err_set(err, SS_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < k; i++)
            (*out)[i] = (struct plan_sent){r[i].requests, r[i].age_us};
        *n = k;
    }
    free(r);
    return 0;
}

/* ---- the client samples read with --------------------------------------- */

/* The account's limiter, request ledger and client, as a sync builds them
 * (account.h): samples spend the account's budget like any run, and the
 * ledger makes every other process of the account count them. Opened on
 * the first sample, so a plan from stored density opens nothing. */
struct sample_client {
    struct db *db;
    const struct plan_request *rq;
    int64_t *account_id;
    int open, ok;
    struct account_io io;
};

static int sample_client_open(struct sample_client *c, struct ss_err *err)
{
    const struct vendor_ops *v = c->rq->vendor;
    const struct cfg_account *a = c->rq->acct;
    if (c->open)
        return c->ok ? 0 : err_set(err, SS_EIO, "%s/%s: no client", v->name, a->name);
    c->open = 1;
    if (*c->account_id == 0) { /* the ledger counts by account: as a first sync would */
        struct loader *ld = loader_new(c->db, err);
        int rc = ld ? load_account(ld, v->name, a->name, c->account_id, err) : -1;
        loader_free(ld);
        if (rc != 0)
            return -1;
    }
    if (account_io_open(&c->io, c->db, v, a, *c->account_id, err) != 0)
        return err_prefix(err, "%s/%s", v->name, a->name);
    c->ok = 1;
    return 0;
}

static void sample_client_close(struct sample_client *c)
{
    if (c->open)
        account_io_close(&c->io);
}

/* ---- sampling ------------------------------------------------------------ */

/* A sample's tally: records as the pager counts them (page_res.records),
 * the bytes of what was parsed, and the times of the results it held (by
 * the date the windows filter on), for the density's shape inside the
 * sample. Nothing is loaded. */
struct tally {
    const char *column;
    long records;
    double bytes;
    int64_t *times;
    size_t n, cap;
};

static int64_t result_time(const struct ss_result *r, const char *column)
{
    if (strcmp(column, "completed_at") == 0)
        return r->completed_at;
    if (strcmp(column, "started_at") == 0)
        return r->started_at;
    return r->assigned_at;
}

static int tally_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    (void)cursor;
    struct tally *t = sink;
    for (size_t i = 0; i < b->n_cand; i++)
        t->bytes += b->cand[i].raw_json ? (double)strlen(b->cand[i].raw_json) : 0;
    for (size_t i = 0; i < b->n_quar; i++)
        t->bytes += b->quar[i].raw ? (double)strlen(b->quar[i].raw) : 0;
    for (size_t i = 0; i < b->n_res; i++) {
        t->bytes += b->res[i].raw_json ? (double)strlen(b->res[i].raw_json) : 0;
        int64_t at = t->column ? result_time(&b->res[i], t->column) : TS_NULL;
        if (at == TS_NULL)
            continue;
        if (arr_grow((void **)&t->times, t->n, &t->cap, sizeof *t->times) != 0)
            return err_set(err, SS_ENOMEM, "out of memory");
        t->times[t->n++] = at;
    }
    batch_reset(b);
    return 0;
}

static void tally_progress(void *sink, const char *what, long records, double fraction_done)
{
    (void)what, (void)fraction_done;
    ((struct tally *)sink)->records += records;
}

/* What a sample reads with: the vendor's extractor and the account's own
 * client and limiter. */
struct sampler {
    const struct plan_request *rq;
    const struct vendor_stream *vs;
    const char *column;
    struct sample_client *client;
    int64_t now;
};

/* Reads [from, to] into t (adding to what it holds) in one window as wide
 * as the sample, split only if the response passes the size cap. */
static int sample(const struct sampler *s, int64_t from, int64_t to, struct tally *t,
                  long *requests, struct ss_err *err)
{
    const struct plan_request *rq = s->rq;
    if (sample_client_open(s->client, err) != 0)
        return -1;
    struct http_client *http = s->client->io.http;
    struct cfg_account a = *rq->acct; /* shallow: only window settings change */
    /* A hair wider than the sample: the pager turns days into microseconds
     * through a double, and must not leave a sliver for a second request. */
    double days = (double)(to - from) / (double)DAY_US * (1 + 1e-9) + 1e-9;
    a.window_initial_days = days;
    a.window_max_days = days;
    a.window_target_records = INT_MAX;
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.vendor = rq->vendor;
    ctx.stream = s->vs;
    ctx.acct = &a;
    ctx.http = http;
    ctx.auth = &s->client->io.auth;
    ctx.log = (struct log_ctx){rq->vendor->name, rq->acct->name, s->vs->name};
    ctx.backfill = 1;
    ctx.since = from;
    ctx.until = to;
    ctx.now = s->now;
    ctx.part_records = 1000;
    ctx.emit = tally_emit;
    ctx.sink = t;
    ctx.progress = tally_progress;
    ctx.stop = rq->stop;
    long before = http_stats(http)->requests, had = t->records;
    int rc = rq->vendor->extract(&ctx, err);
    *requests += http_stats(http)->requests - before;
    if (rc != 0)
        return err_prefix(err, "sampling %s", s->vs->name);
    if (rq->stop && *rq->stop)
        return err_set(err, SS_EIO, "interrupted while sampling %s", s->vs->name);
    char a0[40], a1[40];
    ts_format(from, a0, sizeof a0);
    ts_format(to, a1, sizeof a1);
    log_debug("plan: %s sample %s .. %s: %ld records", s->vs->name, a0, a1, t->records - had);
    return 0;
}

/* A stratum [s0, s1) whose part [f, t] was read: inside, a piece per
 * result at its own time (scaled to the pager's count, which also counts
 * records that did not parse); outside, the same results again, shifted by
 * the sample's width as often as it fits, so the rest has the sample's
 * rate and its unevenness too (the pager reacts to both: windows that run
 * over the target shrink, sparse ones widen, bursts split). Past tile_max
 * pieces, the rest is the sample's rate spread evenly. */
static int add_observed(struct plan_model *m, int64_t s0, int64_t s1, int64_t f, int64_t t,
                        const struct tally *ty, double bpr, double tile_max)
{
    double rate = (double)ty->records / (double)(t - f);
    int64_t w = t - f;
    double copies = (double)(s1 - s0) / (double)w;
    if (ty->n == 0 || copies * (double)ty->n > tile_max) {
        if (plan_model_add(m, s0, f, rate * (double)(f - s0), bpr) != 0 ||
            plan_model_add(m, t, s1, rate * (double)(s1 - t), bpr) != 0)
            return -1;
    } else {
        double sc = (double)ty->records / (double)ty->n;
        for (size_t i = 0; i < ty->n; i++) {
            int64_t r = ty->times[i] - f;
            if (r < 0)
                r = 0;
            if (r >= w)
                r = w - 1;
            for (int64_t at = t + r; at < s1; at += w)
                if (plan_model_add(m, at, at + 1, sc, bpr) != 0)
                    return -1;
            for (int64_t at = f - w + r; at >= s0; at -= w)
                if (plan_model_add(m, at, at + 1, sc, bpr) != 0)
                    return -1;
        }
    }
    if (ty->n == 0)
        return plan_model_add(m, f, t, (double)ty->records, bpr);
    double scale = (double)ty->records / (double)ty->n;
    for (size_t i = 0; i < ty->n; i++) {
        /* The vendor's window includes its end; ours must stay inside. */
        int64_t at = ty->times[i] < f ? f : ty->times[i] >= t ? t - 1 : ty->times[i];
        if (plan_model_add(m, at, at + 1, scale, bpr) != 0)
            return -1;
    }
    return 0;
}

/* Samples the gaps (parts of the range nothing stored covers): each gap is
 * cut into strata in proportion to its length (`samples` in all, at least
 * one a gap) and one window of each is read. The first starts with a probe
 * as wide as the backfill's first window; every window after that is as
 * wide as a quarter of the response cap holds at the density seen so far
 * (a request costs the same however much it holds, so a sample may read far
 * more than a window of target_records), never wider than its stratum: the
 * first stratum's window is the probe extended to that width, the others
 * sit at golden-ratio steps across theirs. Where the cap allows, a sample is its whole
 * stratum and the model there is exact. */
static int sample_gaps(const struct sampler *s, const struct density_span *gaps, size_t ngaps,
                       struct plan_model *m, struct plan_stream *ps, struct ss_err *err)
{
    const struct cfg_account *a = s->rq->acct;
    int64_t total = 0;
    for (size_t i = 0; i < ngaps; i++)
        total += gaps[i].to - gaps[i].from;
    if (total <= 0)
        return 0;
    int k = s->rq->samples > 0 ? s->rq->samples : SAMPLES_DEFAULT;
    int64_t initial = (int64_t)(a->window_initial_days * (double)DAY_US);
    int64_t min_us = (int64_t)(a->window_min_seconds * 1e6);
    if (min_us < 1000000)
        min_us = 1000000;
    double goal = (double)a->max_response_bytes * SAMPLE_CAP_SHARE;

    struct stratum {
        int64_t s0, s1, f, t;
        struct tally ty;
    } *st = NULL;
    size_t nst = 0;
    for (size_t g = 0; g < ngaps; g++) {
        long mg = lround((double)k * (double)(gaps[g].to - gaps[g].from) / (double)total);
        nst += (size_t)(mg < 1 ? 1 : mg);
    }
    st = calloc(nst, sizeof *st);
    if (!st)
        return err_set(err, SS_ENOMEM, "out of memory");
    nst = 0;
    for (size_t g = 0; g < ngaps; g++) {
        int64_t len = gaps[g].to - gaps[g].from;
        long mg = lround((double)k * (double)len / (double)total);
        if (mg < 1)
            mg = 1;
        for (long j = 0; j < mg; j++) {
            struct stratum *x = &st[nst];
            x->s0 = gaps[g].from + (int64_t)((double)len * (double)j / (double)mg);
            x->s1 = j + 1 == mg
                        ? gaps[g].to
                        : gaps[g].from + (int64_t)((double)len * (double)(j + 1) / (double)mg);
            x->ty.column = s->column;
            if (x->s1 > x->s0)
                nst++;
        }
    }

    double seen_rec = 0, seen_w = 0, seen_bytes = 0;
    int64_t last_w = 0;
    int rc = 0;
    for (size_t i = 0; i < nst && rc == 0; i++) {
        struct stratum *x = &st[i];
        int64_t span = x->s1 - x->s0, lo = min_us < span ? min_us : span, w;
        if (i == 0) { /* the probe */
            w = initial < span ? initial : span;
            if (w < lo)
                w = lo;
            rc = sample(s, x->s0, x->s0 + w, &x->ty, &ps->sample_requests, err);
            ps->sample_windows++;
            seen_rec += (double)x->ty.records;
            seen_w += (double)w;
            seen_bytes += x->ty.bytes;
            last_w = lo = w;
            if (rc != 0)
                break;
        }
        double want = seen_rec > 0 && seen_bytes > 0
                          ? goal / ((seen_rec / seen_w) * (seen_bytes / seen_rec))
                      : seen_rec > 0 ? (double)span
                                     : 4.0 * (double)last_w; /* nothing yet: widen, as the pager */
        w = want > (double)span ? span : (int64_t)want;
        if (w < lo)
            w = lo;
        if (i == 0) {
            x->f = x->s0;
            x->t = x->s0 + w;
            if (w > last_w) { /* the probe's stratum: read on from the probe */
                double r0 = (double)x->ty.records, b0 = x->ty.bytes;
                rc = sample(s, x->s0 + last_w, x->t, &x->ty, &ps->sample_requests, err);
                seen_rec += (double)x->ty.records - r0;
                seen_bytes += x->ty.bytes - b0;
                seen_w += (double)(w - last_w);
            }
        } else {
            /* Not always the middle: strata a year wide would then all see
             * the same season. Golden-ratio steps spread the phases, and
             * the same range gives the same plan. */
            double u = fmod(0.5 + 0.6180339887498949 * (double)i, 1.0);
            x->f = x->s0 + (int64_t)(u * (double)(span - w));
            x->t = x->f + w;
            rc = sample(s, x->f, x->t, &x->ty, &ps->sample_requests, err);
            seen_rec += (double)x->ty.records;
            seen_w += (double)w;
            seen_bytes += x->ty.bytes;
        }
        ps->sample_windows++;
        last_w = w;
    }
    ps->sample_records = seen_rec;
    double bpr = seen_rec > 0 ? seen_bytes / seen_rec : 0;
    if (rc == 0 && nst > 0) {
        double read = 0, mean = 0, var = 0;
        for (size_t i = 0; i < nst; i++) {
            read += (double)(st[i].t - st[i].f);
            mean += (double)st[i].ty.records / (double)(st[i].t - st[i].f) / (double)nst;
        }
        for (size_t i = 0; i < nst; i++) {
            double d = (double)st[i].ty.records / (double)(st[i].t - st[i].f) - mean;
            var += d * d / (double)(nst > 1 ? nst - 1 : 1);
        }
        ps->sampled_share = read / (double)total;
        if (ps->sampled_share < 1 && nst < 2)
            ps->uncertainty = -1; /* one sample: no spread to judge by */
        else if (mean > 0 && ps->sampled_share < 1)
            ps->uncertainty = (1 - ps->sampled_share) * sqrt(var) / mean / sqrt((double)nst);
    }
    for (size_t i = 0; i < nst && rc == 0; i++)
        if (st[i].t > st[i].f && add_observed(m, st[i].s0, st[i].s1, st[i].f, st[i].t, &st[i].ty,
                                              bpr, TILE_MAX / (double)nst) != 0)
            rc = err_set(err, SS_ENOMEM, "out of memory");
    for (size_t i = 0; i < nst; i++)
        free(st[i].ty.times);
    free(st);
    return rc;
}

/* ---- one stream ---------------------------------------------------------- */

/* Stored pieces for [since, until) ∩ the covered spans, and the gaps. */
static int stored_pieces(struct db *db, int64_t account_id, const struct plan_request *rq,
                         const char *stream, const char *column, int64_t until,
                         struct plan_model *m, struct density_span **gaps, size_t *ngaps,
                         double *covered, struct ss_err *err)
{
    const struct cfg_account *a = rq->acct;
    struct density_span *cov = NULL;
    size_t ncov = 0;
    *gaps = NULL;
    *ngaps = 0;
    *covered = 0;
    if (account_id && column) {
        int64_t sync_start;
        if (ts_parse(a->start_date ? a->start_date : "2015-01-01", 0, &sync_start, err) != 0)
            return err_prefix(err, "start_date");
        if (density_covered(db, account_id, stream, sync_start, &cov, &ncov, err) != 0)
            return -1;
    }
    /* At most one gap more than covered spans. */
    *gaps = malloc((ncov + 1) * sizeof **gaps);
    if (!*gaps) {
        free(cov);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    double bpr = 0;
    int rc = 0;
    if (ncov && density_bytes_per_record(db, account_id, stream, column, rq->since, until,
                                         BYTES_SAMPLE, &bpr, err) != 0)
        rc = -1;
    int64_t at = rq->since, stored = 0;
    for (size_t i = 0; i < ncov && rc == 0 && at < until; i++) {
        int64_t f = cov[i].from > at ? cov[i].from : at;
        int64_t t = cov[i].to < until ? cov[i].to : until;
        if (t <= f)
            continue;
        if (f > at)
            (*gaps)[(*ngaps)++] = (struct density_span){at, f};
        /* Each result at its own time while that is not too many rows to
         * read; coarser buckets, spread evenly, past that. */
        long count = 0;
        if (density_count(db, account_id, stream, column, f, t, &count, err) != 0) {
            rc = -1;
            break;
        }
        int64_t bucket = count <= STORED_BUCKETS ? 1 : (t - f) / STORED_BUCKETS;
        if (bucket < 1)
            bucket = 1;
        struct density_bucket *h = NULL;
        size_t nh = 0;
        if (density_histogram(db, account_id, stream, column, f, t, bucket, &h, &nh, err) != 0) {
            rc = -1;
            break;
        }
        for (size_t j = 0; j < nh && rc == 0; j++) {
            int64_t b0 = f + h[j].index * bucket, b1 = b0 + bucket;
            if (b1 > t)
                b1 = t;
            if (plan_model_add(m, b0, b1, (double)h[j].records, bpr) != 0)
                rc = err_set(err, SS_ENOMEM, "out of memory");
        }
        free(h);
        stored += t - f;
        at = t;
    }
    if (rc == 0 && at < until)
        (*gaps)[(*ngaps)++] = (struct density_span){at, until};
    *covered = until > rq->since ? (double)stored / (double)(until - rq->since) : 0;
    free(cov);
    return rc;
}

static int plan_stream(struct db *db, int64_t account_id, const struct sampler *s, int64_t until,
                       struct plan_stream *ps, struct ss_err *err)
{
    const struct plan_request *rq = s->rq;
    struct plan_model m;
    plan_model_init(&m);
    struct density_span *gaps = NULL;
    size_t ngaps = 0;
    char *cursor = NULL;
    int rc = -1;
    if (stored_pieces(db, account_id, rq, ps->name, ps->how.stored ? ps->how.column : NULL, until,
                      &m, &gaps, &ngaps, &ps->covered, err) != 0 ||
        sample_gaps(s, gaps, ngaps, &m, ps, err) != 0)
        goto out;
    if (plan_model_seal(&m) != 0) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    ps->source = ps->covered >= 1.0 ? "stored" : ps->covered > 0 ? "stored+sampled" : "sampled";

    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.vendor = rq->vendor;
    ctx.stream = s->vs;
    ctx.acct = rq->acct;
    ctx.backfill = 1;
    ctx.since = rq->since;
    ctx.until = rq->until;
    ctx.now = s->now;
    if (plan_simulate(&ctx, &m, &ps->sim, err) != 0)
        goto out;

    char key[200];
    load_checkpoint_key(ps->name, 1, rq->since, rq->until, key, sizeof key);
    if (account_id && load_checkpoint_get(db, account_id, key, &cursor, err) != 0)
        goto out;
    if (cursor) {
        ps->resumes = 1;
        snprintf(ps->resume_at, sizeof ps->resume_at, "%s", cursor);
        ctx.cursor = cursor;
        if (plan_simulate(&ctx, &m, &ps->rest, err) != 0)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        err_prefix(err, "%s", ps->name);
    free(cursor);
    free(gaps);
    plan_model_free(&m);
    return rc;
}

/* ---- one account --------------------------------------------------------- */

int plan_backfill(struct db *db, const struct plan_request *rq, struct plan_result *res,
                  struct ss_err *err)
{
    const struct vendor_ops *v = rq->vendor;
    const struct cfg_account *a = rq->acct;
    memset(res, 0, sizeof *res);
    res->now = clock_wall_us();
    res->until = rq->until != TS_NULL && rq->until < res->now ? rq->until : res->now;
    if (rq->since == TS_NULL || rq->since >= res->until)
        return err_set(err, SS_EINVAL, "the range is empty: --since is not before %s",
                       rq->until != TS_NULL && rq->until < res->now ? "--until" : "now");
    if (rq->stream && !vendor_stream(v, rq->stream))
        return err_set(err, SS_ECONFIG, "%s has no stream \"%s\"", v->name, rq->stream);

    size_t n = 0;
    for (const struct vendor_stream *vs = v->streams; vs && vs->name; vs++)
        n++;
    res->streams = calloc(n ? n : 1, sizeof *res->streams);
    if (!res->streams)
        return err_set(err, SS_ENOMEM, "out of memory");
    for (const struct vendor_stream *vs = v->streams; vs && vs->name; vs++) {
        if (rq->stream ? strcmp(rq->stream, vs->name) != 0 : !cfg_stream_enabled(a, vs->name))
            continue;
        struct plan_stream *ps = &res->streams[res->n_streams++];
        snprintf(ps->name, sizeof ps->name, "%s", vs->name);
        if (v->plan)
            v->plan(v, a, vs->name, &ps->how);
        else
            ps->how.why = "the vendor declares no stream read in date windows";
        if (ps->how.windowed && !ps->how.column) {
            ps->how.windowed = 0;
            ps->how.why = "the vendor names no date its windows filter on";
        }
        if (!ps->how.windowed) {
            if (!ps->how.why)
                ps->how.why = "it is not read in date windows";
            res->unsupported++;
        }
    }
    if (res->unsupported || res->n_streams == 0)
        return 0; /* nothing sent: the caller says why */

    int64_t account_id = 0;
    long holders = 0;
    struct plan_sent *sent = NULL;
    size_t nsent = 0;
    struct sample_client sc;
    memset(&sc, 0, sizeof sc);
    sc.db = db;
    sc.rq = rq;
    sc.account_id = &account_id;
    int rc = -1;
    if (density_account_id(db, v->name, a->name, &account_id, err) != 0 ||
        recent_requests(db, account_id, a, &sent, &nsent, &holders, err) != 0)
        goto out;
    for (size_t i = 0; i < res->n_streams; i++) {
        struct plan_stream *ps = &res->streams[i];
        const struct sampler s = {rq, vendor_stream(v, ps->name), ps->how.column, &sc, res->now};
        rc = plan_stream(db, account_id, &s, res->until, ps, err);
        res->sample_requests += ps->sample_requests;
        if (rc != 0)
            goto out;
        res->requests += ps->sim.requests;
    }
    res->holders = holders;
    /* Held by other runs, then the time with this plan's samples as sent now. */
    if (plan_duration(a, sent, nsent, 0, res->held) < 0) {
        rc = err_set(err, SS_ECONFIG, "%s/%s: invalid rate_limits", v->name, a->name);
        goto out;
    }
    struct plan_sent *all = realloc(sent, (nsent + 1) * sizeof *all);
    if (!all) {
        rc = err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    sent = all;
    sent[nsent] = (struct plan_sent){res->sample_requests, 0};
    res->duration_us = plan_duration(a, sent, nsent + 1, res->requests, NULL);
out:
    sample_client_close(&sc);
    free(sent);
    return rc;
}

void plan_result_free(struct plan_result *res)
{
    free(res->streams);
    memset(res, 0, sizeof *res);
}
