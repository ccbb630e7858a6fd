/* The vendor kit's pagers and prefetch, with no network: the "vendor" is a
 * page_fetch_fn over a synthetic record density (or list, or token chain)
 * that puts fake results into out->b and hands parts over with out->flush.
 *   window  where a read starts (checkpoint - overlap, start_date, backfill
 *           since/resume), windows tile the range with no gap, sizes converge
 *           on the target, an oversized response is split and read again,
 *           then the re-checks of unfinished results: clustered, capped, no
 *           checkpoint.
 *   offset  offset, offset + limit - overlap, ...; stops at a short page,
 *           res->last or res->caught_up; cursor = offset + records.
 *   token   NULL first, then res->next_token; cursor = the next token.
 *   prefetch  parts in order (only a page's last part carries its cursor),
 *           failures on either thread, *ctx->stop, the checkpoint only moves
 *           forward.
 * Callbacks never use cmocka asserts (a longjmp out of prefetch_run would
 * leave its reader thread waiting on a dead stack): fetch functions, on the
 * reader thread, record what they saw; emit callbacks fail with CHECK, which
 * makes prefetch_run return -1 with the failed condition in err; the test
 * body asserts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeparse.h"
#include "vendors/pager.h"
#include "vendors/prefetch.h"

#define DAY    (86400LL * 1000000LL)
#define MINUTE (60LL * 1000000LL)

/* In an emit callback: fail the run (not the process) with what went wrong. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return err_set(err, SS_EINVAL, "%s:%d: check failed: %s", __FILE__, __LINE__, #cond);  \
    } while (0)

/* prefetch_run's rc, showing err when it is not the one expected. */
#define assert_run(call, want, err)                                                                \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ != (want))                                                                         \
            fail_msg("%s returned %d, not %d: %s", #call, rc_, (want), (err)->msg);                \
    } while (0)

static struct cfg_account account(void)
{
    struct cfg_account a;
    memset(&a, 0, sizeof a);
    a.vendor = "test";
    a.name = "t";
    a.window_initial_days = 30;
    a.window_min_seconds = 60;
    a.window_max_days = 365;
    a.window_target_records = 1000;
    a.overlap_minutes = 60;
    a.start_date = "2019-01-01";
    return a;
}

static struct vendor_ctx context(const struct cfg_account *a)
{
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = a;
    ctx.since = ctx.until = TS_NULL;
    ctx.now = ts_from_civil(2020, 6, 1, 0, 0, 0);
    return ctx;
}

/* A backfill ctx reading exactly [from, until]. */
static struct vendor_ctx range_ctx(const struct cfg_account *a, int64_t from, int64_t until)
{
    struct vendor_ctx ctx = context(a);
    ctx.backfill = 1;
    ctx.since = from;
    ctx.until = until;
    ctx.now = until;
    return ctx;
}

/* Adds one fake result to the page and hands a part over when it is full,
 * as fetch.c does while a body streams in. */
static int put(struct page_out *out, const char *key, int64_t t, struct ss_err *err)
{
    struct ss_result *r = batch_add_result(out->b);
    if (!r)
        return err_set(err, SS_ENOMEM, "out of memory");
    r->vendor_key = strdup(key);
    r->candidate_key = strdup("cand");
    r->stream = strdup("scores");
    r->status_label = strdup("Completed");
    r->completed_at = t;
    if (!r->vendor_key || !r->candidate_key || !r->stream || !r->status_label)
        return err_set(err, SS_ENOMEM, "out of memory");
    if (out->b->n_res >= out->part_records)
        return out->flush(out->flush_arg, &out->b, err);
    return 0;
}

/* ---- pager_window_init and pager_next_span -------------------------------- */

static void test_window_start(void **state)
{
    (void)state;
    struct cfg_account a = account();
    struct vendor_ctx ctx = context(&a);
    struct pager p;
    struct ss_err err = {0};

    /* First sync: from start_date to now. */
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_int_equal(p.kind, PAGER_WINDOW);
    assert_true(p.from == ts_from_civil(2019, 1, 1, 0, 0, 0));
    assert_true(p.start == p.from);
    assert_true(p.until == ctx.now);
    assert_true(p.span == 30 * DAY);
    assert_int_equal(p.target, 1000);

    /* Incremental: the checkpoint minus the overlap. */
    ctx.cursor = "2020-05-01T12:00:00.000000Z";
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.from == ts_from_civil(2020, 5, 1, 11, 0, 0));
    assert_true(p.until == ctx.now);

    /* ctx->until also caps a sync. */
    ctx.until = ts_from_civil(2020, 5, 20, 0, 0, 0);
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.until == ctx.until);
    ctx.until = TS_NULL;

    /* Backfill ignores the sync checkpoint's overlap but resumes its own progress. */
    ctx.backfill = 1;
    ctx.since = ts_from_civil(2020, 1, 1, 0, 0, 0);
    ctx.until = ts_from_civil(2020, 3, 1, 0, 0, 0);
    ctx.cursor = NULL;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.from == ctx.since && p.until == ctx.until);
    ctx.cursor = "2020-02-01T00:00:00Z";
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.from == ts_from_civil(2020, 2, 1, 0, 0, 0));
    assert_true(p.until == ctx.until);
    /* A backfill cursor before since does not move the start back. */
    ctx.cursor = "2019-06-01T00:00:00Z";
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.from == ctx.since);

    /* A corrupt checkpoint is an error, not a silent restart from scratch. */
    ctx.backfill = 0;
    ctx.since = ctx.until = TS_NULL;
    ctx.cursor = "yesterday";
    err_clear(&err);
    assert_int_equal(pager_window_init(&p, &ctx, &err), -1);
    assert_non_null(strstr(err.msg, "yesterday"));
    ctx.backfill = 1;
    err_clear(&err);
    assert_int_equal(pager_window_init(&p, &ctx, &err), -1);
    assert_non_null(strstr(err.msg, "yesterday"));

    /* Settings out of order are clamped: min >= 1 s, initial within [min, max]. */
    a.window_min_seconds = 0;
    a.window_initial_days = 500;
    a.window_max_days = 10;
    a.window_target_records = 0;
    ctx = context(&a);
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.min_us == 1000000);
    assert_true(p.max_us == 10 * DAY);
    assert_true(p.initial_us == 10 * DAY && p.span == 10 * DAY);
    assert_int_equal(p.target, 10000); /* the config default */
}

static void test_next_span(void **state)
{
    (void)state;
    struct cfg_account a = account();
    a.window_initial_days = 1;
    struct vendor_ctx ctx = context(&a);
    struct pager p;
    struct ss_err err = {0};
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.min_us == MINUTE && p.max_us == 365 * DAY && p.target == 1000);

    assert_true(pager_next_span(&p, 10 * DAY, 2000) == 5 * DAY);     /* shrink to target */
    assert_true(pager_next_span(&p, 10 * DAY, 800) == 10 * DAY);     /* near target: keep */
    assert_true(pager_next_span(&p, 10 * DAY, 500) == 10 * DAY);     /* half: keep */
    assert_true(pager_next_span(&p, 10 * DAY, 250) == 40 * DAY);     /* sparse: widen */
    assert_true(pager_next_span(&p, 10 * DAY, 0) == 40 * DAY);       /* at most 4x */
    assert_true(pager_next_span(&p, 200 * DAY, 0) == 365 * DAY);     /* capped */
    assert_true(pager_next_span(&p, 2 * MINUTE, 1000000) == MINUTE); /* floor */
}

/* ---- the window pager run by prefetch -------------------------------------- */

struct fake {
    int64_t t0; /* records every `every` us from t0 */
    int64_t every;
    int64_t dense_from, dense_to, dense_every; /* a denser stretch */
    long too_big; /* more records than this in one window -> SS_ETOOBIG */
    /* Written by fetch, which prefetch_run calls on its reader thread; read
     * after prefetch_run returns. */
    int calls, fetched;
    int64_t fetch_end; /* the end of the previous window fetched */
    int gap;           /* a window started after the previous one ended */
    long fetched_records;
    int fetch_failed; /* put() failed on the reader thread */
    /* Written by emit and progress, on the caller's thread. */
    int emits;        /* parts carrying a cursor */
    int parts;        /* every part */
    int64_t last_end; /* the end of the previous emitted window */
    int64_t last_t;   /* time of the last result loaded */
    long loaded;      /* results loaded */
    char last_cursor[40];
    int progress_calls, bad_progress;
    double last_fraction;
};

static int64_t next_t(const struct fake *f, int64_t t)
{
    return t + ((t >= f->dense_from && t < f->dense_to) ? f->dense_every : f->every);
}

static long count_in(const struct fake *f, int64_t a, int64_t b)
{
    long n = 0;
    for (int64_t t = f->t0; t <= b; t = next_t(f, t))
        if (t >= a)
            n++;
    return n;
}

static int fetch(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                 struct page_out *out, struct page_res *res, struct ss_err *err)
{
    (void)ctx;
    struct fake *f = arg;
    int64_t a = req->from, b = req->to;
    f->calls++;
    long n = count_in(f, a, b);
    if (f->too_big && n > f->too_big) {
        /* The cap is hit mid-body: what was parsed so far must not be loaded. */
        for (long i = 0; i < f->too_big; i++)
            if (!batch_add_result(out->b))
                break;
        res->too_big = 1;
        return err_set(err, SS_ETOOBIG, "response larger than the cap");
    }
    if (f->fetched > 0 && a != f->fetch_end)
        f->gap = 1;
    f->fetched++;
    f->fetch_end = b;
    char key[32];
    for (int64_t t = f->t0; t <= b; t = next_t(f, t)) {
        if (t < a)
            continue;
        snprintf(key, sizeof key, "%lld", (long long)t);
        if (put(out, key, t, err) != 0) {
            f->fetch_failed = 1;
            return -1;
        }
    }
    f->fetched_records += n;
    res->records = n;
    return 0;
}

static int emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    struct fake *f = sink;
    f->parts++;
    for (size_t i = 0; i < b->n_res; i++) {
        const struct ss_result *r = &b->res[i];
        CHECK(r->vendor_key != NULL);
        /* In order, and never before the window the last cursor ended. */
        CHECK(r->completed_at >= f->last_t);
        CHECK(f->emits == 0 || r->completed_at >= f->last_end);
        f->last_t = r->completed_at;
    }
    f->loaded += (long)b->n_res;
    batch_reset(b);
    if (!cursor)
        return 0;
    int64_t end;
    CHECK(ts_parse(cursor, 0, &end, err) == 0);
    CHECK(f->emits == 0 || end > f->last_end); /* the checkpoint only moves forward */
    CHECK(f->last_t <= end);                   /* nothing loaded lies past the cursor */
    f->last_end = end;
    f->emits++;
    snprintf(f->last_cursor, sizeof f->last_cursor, "%s", cursor);
    return 0;
}

static void progress(void *sink, const char *what, long records, double fraction)
{
    struct fake *f = sink;
    if (!what || !what[0] || records < 0 || fraction < f->last_fraction || fraction > 1.0)
        f->bad_progress = 1;
    f->last_fraction = fraction;
    f->progress_calls++;
}

static void run(struct fake *f, int64_t from, int64_t until, long target, size_t part_records)
{
    struct cfg_account a = account();
    a.window_target_records = (int)target;
    struct vendor_ctx ctx = range_ctx(&a, from, until);
    ctx.emit = emit;
    ctx.progress = progress;
    ctx.sink = f;
    ctx.part_records = part_records;
    struct pager p;
    struct ss_err err = {0};
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(p.from == from && p.until == until && p.span == 30 * DAY);
    assert_run(prefetch_run(&ctx, &p, fetch, f, &err), 0, &err);
    assert_false(f->fetch_failed);
    assert_false(f->bad_progress);
    assert_int_equal(ctx.pages, f->emits);
    assert_int_equal(f->progress_calls, f->emits);
    assert_true(f->last_fraction == 1.0);
    assert_true(p.done || p.from >= p.until);
    assert_int_equal(ctx.recheck_requests, 0);
    /* Every record of every window read is loaded, nothing more. */
    assert_int_equal(f->loaded, f->fetched_records);
}

static void test_tiles_range_and_converges(void **state)
{
    (void)state;
    /* One record an hour over 4 years, a dense month of one a minute. */
    struct fake f;
    memset(&f, 0, sizeof f);
    f.t0 = ts_from_civil(2019, 1, 1, 0, 0, 0);
    f.every = 3600LL * 1000000;
    f.dense_from = ts_from_civil(2021, 3, 1, 0, 0, 0);
    f.dense_to = ts_from_civil(2021, 4, 1, 0, 0, 0);
    f.dense_every = MINUTE;
    int64_t until = ts_from_civil(2023, 1, 1, 0, 0, 0);
    run(&f, f.t0, until, 2000, 0);
    assert_false(f.gap);
    assert_true(f.last_end == until);
    assert_true(f.fetch_end == until);
    /* ~35k hourly + ~44k dense records at ~2000 per request: a fixed 30-day
     * window would take 49 requests and return 44k in one; adaptive stays
     * close to records/target. */
    long total = count_in(&f, f.t0, until);
    assert_true(f.calls <= total / 2000 + 12);
    assert_int_equal(f.calls, f.fetched); /* nothing was too big */
    /* Windows of ~2000 records went over in parts of 1000 (the default). */
    assert_true(f.parts > f.emits);
}

static void test_split_when_too_big(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof f);
    f.t0 = ts_from_civil(2020, 1, 1, 0, 0, 0);
    f.every = MINUTE; /* one a minute: 43,200 in a 30-day window */
    f.too_big = 5000;
    int64_t until = f.t0 + 20 * DAY;
    /* Parts larger than the cap: a split window's partial batch is never
     * handed over, so run()'s loaded == fetched_records proves it dropped. */
    run(&f, f.t0, until, 2000, 100000);
    assert_false(f.gap);
    assert_true(f.last_end == until);
    assert_true(f.calls > f.emits); /* some windows were refetched smaller */
    assert_int_equal(f.fetched, f.emits);
}

static void test_too_big_at_minimum(void **state)
{
    (void)state;
    /* One a second: a minimum window of 60 s still holds 60 > 10 records. */
    struct fake f;
    memset(&f, 0, sizeof f);
    f.t0 = ts_from_civil(2020, 1, 1, 0, 0, 0);
    f.every = 1000000;
    f.too_big = 10;
    struct cfg_account a = account();
    struct vendor_ctx ctx = range_ctx(&a, f.t0, f.t0 + DAY);
    ctx.emit = emit;
    ctx.sink = &f;
    struct pager p;
    struct ss_err err = {0};
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, fetch, &f, &err), -1, &err);
    assert_int_equal(err.code, SS_ETOOBIG);
    assert_non_null(strstr(err.msg, "max_response_bytes"));
    assert_int_equal(f.parts, 0);
    assert_int_equal(f.fetched, 0);
}

/* Failures on either side of the hand-over: a fetch that fails after some
 * windows leaves those windows loaded and reports its error; an emit that
 * fails stops the reader (no further loads, no hang). */
struct failing {
    int fail_fetch_at, fail_emit_at;
    int fetches, emits; /* fetches: reader thread only; emits: caller only */
    int bad_batch;      /* emit saw a batch that is not the window's 10 results */
};

static int failing_fetch(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                         struct page_out *out, struct page_res *res, struct ss_err *err)
{
    (void)ctx;
    (void)req;
    struct failing *x = arg;
    if (++x->fetches == x->fail_fetch_at)
        return err_set(err, SS_EHTTP, "HTTP 500 on window %d", x->fetches);
    char key[32];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "w%d-%d", x->fetches, i);
        if (put(out, key, req->from, err) != 0)
            return -1;
    }
    res->records = 10;
    return 0;
}

static int failing_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    struct failing *x = sink;
    ++x->emits;
    char key[32];
    snprintf(key, sizeof key, "w%d-0", x->emits);
    if (!cursor || b->n_res != 10 || strcmp(b->res[0].vendor_key, key) != 0)
        x->bad_batch = 1;
    batch_reset(b);
    if (x->emits == x->fail_emit_at)
        return err_set(err, SS_EDB, "load failed on window %d", x->emits);
    return 0;
}

static void test_failures_across_threads(void **state)
{
    (void)state;
    /* 100 one-day windows of 10 records each. */
    struct cfg_account a = account();
    a.window_initial_days = 1;
    a.window_max_days = 1;
    a.window_target_records = 10;
    struct ss_err err = {0};
    struct pager p;

    struct failing x = {7, 0, 0, 0, 0};
    struct vendor_ctx ctx = range_ctx(&a, 0, 100 * DAY);
    ctx.emit = failing_emit;
    ctx.sink = &x;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, failing_fetch, &x, &err), -1, &err);
    assert_int_equal(x.emits, 6); /* every window before the failed one is in */
    assert_int_equal(x.fetches, 7);
    assert_false(x.bad_batch);
    assert_int_equal(err.code, SS_EHTTP);
    assert_non_null(strstr(err.msg, "window 7"));

    struct failing y = {0, 3, 0, 0, 0};
    ctx = range_ctx(&a, 0, 100 * DAY);
    ctx.emit = failing_emit;
    ctx.sink = &y;
    err_clear(&err);
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, failing_fetch, &y, &err), -1, &err);
    assert_int_equal(y.emits, 3);
    assert_true(y.fetches <= 5); /* the reader stopped at most a window or two ahead */
    assert_false(y.bad_batch);
    assert_int_equal(err.code, SS_EDB);
    assert_non_null(strstr(err.msg, "load failed on window 3"));
}

/* ---- re-checks after the range ------------------------------------------- */

static int64_t rc_from[256], rc_to[256];
static int rc_recheck[256];
static int rc_calls;

static int recheck_fetch(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                         struct page_out *out, struct page_res *res, struct ss_err *err)
{
    (void)arg;
    (void)ctx;
    if (rc_calls < 256) {
        rc_from[rc_calls] = req->from;
        rc_to[rc_calls] = req->to;
        rc_recheck[rc_calls] = req->recheck;
    }
    rc_calls++;
    if (put(out, req->recheck ? "rechecked" : "new", req->to, err) != 0)
        return -1;
    res->records = 1;
    return 0;
}

struct recheck_sink {
    int with_cursor, without_cursor;
    int recheck_before_range; /* a cursor-less part came before the range's cursor */
    char cursor[40];
};

static int recheck_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    struct recheck_sink *s = sink;
    CHECK(b->n_res == 1);
    if (cursor) {
        CHECK(strcmp(b->res[0].vendor_key, "new") == 0);
        if (s->without_cursor)
            s->recheck_before_range = 1;
        s->with_cursor++;
        snprintf(s->cursor, sizeof s->cursor, "%s", cursor);
    } else {
        CHECK(strcmp(b->res[0].vendor_key, "rechecked") == 0);
        s->without_cursor++;
    }
    batch_reset(b);
    return 0;
}

static void test_recheck_clusters(void **state)
{
    (void)state;
    struct cfg_account a = account();
    struct vendor_ctx ctx = context(&a);
    /* A sync whose range is one window: from the checkpoint - 1 h to now. */
    ctx.now = ts_from_civil(2025, 1, 2, 0, 0, 0);
    ctx.cursor = "2025-01-01T01:00:00Z";
    ctx.emit = recheck_emit;
    struct recheck_sink s;
    memset(&s, 0, sizeof s);
    ctx.sink = &s;
    int64_t t0 = ts_from_civil(2023, 1, 1, 0, 0, 0);
    /* Three within 30 days (the initial span) of the first, one 40 days out,
     * one more than a year out. */
    int64_t times[] = {t0, t0 + DAY, t0 + 29 * DAY, t0 + 40 * DAY, t0 + 400 * DAY};
    ctx.recheck = times;
    ctx.n_recheck = 5;
    struct pager p;
    struct ss_err err = {0};
    rc_calls = 0;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, recheck_fetch, NULL, &err), 0, &err);
    assert_int_equal(rc_calls, 4);
    /* The range first, with its checkpoint. */
    assert_false(rc_recheck[0]);
    assert_true(rc_from[0] == ts_from_civil(2025, 1, 1, 0, 0, 0) && rc_to[0] == ctx.now);
    /* Then the re-checks, clustered, each widened by a microsecond either
     * side (stored times are the vendor's rounded to the microsecond). */
    assert_true(rc_recheck[1] && rc_recheck[2] && rc_recheck[3]);
    assert_true(rc_from[1] == t0 - 1 && rc_to[1] == t0 + 29 * DAY + 1);
    assert_true(rc_from[2] == t0 + 40 * DAY - 1 && rc_to[2] == t0 + 40 * DAY + 1);
    assert_true(rc_from[3] == t0 + 400 * DAY - 1 && rc_to[3] == t0 + 400 * DAY + 1);
    /* The checkpoint moves once, for the range; re-checks emit no cursor. */
    assert_int_equal(s.with_cursor, 1);
    assert_int_equal(s.without_cursor, 3);
    assert_false(s.recheck_before_range);
    assert_string_equal(s.cursor, "2025-01-02T00:00:00.000000Z");
    assert_int_equal(ctx.recheck_requests, 3);
    assert_int_equal(ctx.pages, 4);

    /* At most ctx->recheck_max requests a run (0 = 100). */
    int64_t many[120];
    t0 = ts_from_civil(2010, 1, 1, 0, 0, 0);
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
        many[i] = t0 + (int64_t)i * 31 * DAY; /* one cluster each */
    long caps[] = {0, 5};
    long want[] = {100, 5};
    for (size_t k = 0; k < 2; k++) {
        ctx.recheck = many;
        ctx.n_recheck = sizeof many / sizeof many[0];
        ctx.recheck_max = caps[k];
        ctx.recheck_requests = ctx.pages = 0;
        memset(&s, 0, sizeof s);
        rc_calls = 0;
        assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
        assert_run(prefetch_run(&ctx, &p, recheck_fetch, NULL, &err), 0, &err);
        assert_int_equal(rc_calls, 1 + want[k]);
        assert_int_equal(ctx.recheck_requests, want[k]);
        assert_int_equal(s.with_cursor, 1);
        assert_int_equal(s.without_cursor, want[k]);
        for (long i = 1; i <= want[k] && i < 256; i++)
            assert_true(rc_recheck[i] && rc_from[i] == many[i - 1] - 1 &&
                        rc_to[i] == many[i - 1] + 1);
    }

    /* A backfill re-checks nothing. */
    ctx = range_ctx(&a, ts_from_civil(2024, 12, 1, 0, 0, 0), ts_from_civil(2024, 12, 2, 0, 0, 0));
    ctx.emit = recheck_emit;
    ctx.sink = &s;
    ctx.recheck = times;
    ctx.n_recheck = 5;
    memset(&s, 0, sizeof s);
    rc_calls = 0;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, recheck_fetch, NULL, &err), 0, &err);
    assert_int_equal(rc_calls, 1);
    assert_int_equal(ctx.recheck_requests, 0);
}

/* ---- parts ------------------------------------------------------------- */

struct parts_run {
    int per_page; /* results a page holds */
    int next_key; /* reader thread */
    /* caller thread */
    int expect_key;
    size_t sizes[64];
    int cursor[64]; /* 1 when that part carried a cursor */
    char cursors[8][40];
    int n, n_cursors;
};

static int parts_fetch(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                       struct page_out *out, struct page_res *res, struct ss_err *err)
{
    (void)ctx;
    struct parts_run *pr = arg;
    char key[32];
    for (int i = 0; i < pr->per_page; i++) {
        snprintf(key, sizeof key, "k%d", pr->next_key++);
        if (put(out, key, req->from, err) != 0)
            return -1;
    }
    res->records = pr->per_page;
    return 0;
}

static int parts_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    struct parts_run *pr = sink;
    CHECK(pr->n < 64);
    char key[32];
    for (size_t i = 0; i < b->n_res; i++) {
        snprintf(key, sizeof key, "k%d", pr->expect_key++);
        CHECK(strcmp(b->res[i].vendor_key, key) == 0); /* in order, none lost */
    }
    pr->sizes[pr->n] = b->n_res;
    pr->cursor[pr->n] = cursor != NULL;
    if (cursor) {
        CHECK(pr->n_cursors < 8);
        snprintf(pr->cursors[pr->n_cursors++], sizeof pr->cursors[0], "%s", cursor);
    }
    pr->n++;
    batch_reset(b);
    return 0;
}

static void test_page_in_parts(void **state)
{
    (void)state;
    /* Two one-day windows of 30 results each, in parts of 7. */
    struct cfg_account a = account();
    a.window_initial_days = 1;
    a.window_max_days = 1;
    int64_t t0 = ts_from_civil(2020, 1, 1, 0, 0, 0);
    struct vendor_ctx ctx = range_ctx(&a, t0, t0 + 2 * DAY);
    ctx.part_records = 7;
    ctx.emit = parts_emit;
    struct parts_run pr;
    memset(&pr, 0, sizeof pr);
    pr.per_page = 30;
    ctx.sink = &pr;
    struct pager p;
    struct ss_err err = {0};
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, parts_fetch, &pr, &err), 0, &err);
    assert_int_equal(pr.expect_key, 60);
    assert_int_equal(pr.n, 10);
    const size_t sizes[] = {7, 7, 7, 7, 2, 7, 7, 7, 7, 2};
    const int cursor[] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(pr.sizes[i], sizes[i]);
        assert_int_equal(pr.cursor[i], cursor[i]);
    }
    assert_int_equal(pr.n_cursors, 2);
    assert_string_equal(pr.cursors[0], "2020-01-02T00:00:00.000000Z");
    assert_string_equal(pr.cursors[1], "2020-01-03T00:00:00.000000Z");
    assert_int_equal(ctx.pages, 2);

    /* A page that exactly fills its parts still ends with a (empty) part
     * carrying its cursor. */
    memset(&pr, 0, sizeof pr);
    pr.per_page = 14;
    ctx = range_ctx(&a, t0, t0 + DAY);
    ctx.part_records = 7;
    ctx.emit = parts_emit;
    ctx.sink = &pr;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, parts_fetch, &pr, &err), 0, &err);
    assert_int_equal(pr.n, 3);
    assert_true(pr.sizes[0] == 7 && pr.sizes[1] == 7 && pr.sizes[2] == 0);
    assert_true(!pr.cursor[0] && !pr.cursor[1] && pr.cursor[2]);

    /* part_records 0 = 1000. */
    memset(&pr, 0, sizeof pr);
    pr.per_page = 2500;
    ctx = range_ctx(&a, t0, t0 + DAY);
    ctx.emit = parts_emit;
    ctx.sink = &pr;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, parts_fetch, &pr, &err), 0, &err);
    assert_int_equal(pr.n, 3);
    assert_true(pr.sizes[0] == 1000 && pr.sizes[1] == 1000 && pr.sizes[2] == 500);
    assert_true(!pr.cursor[0] && !pr.cursor[1] && pr.cursor[2]);
}

/* A result id met again in a later part of the same response is not loaded
 * over the first copy: it goes to quarantine. Within one part the loader
 * decides; a new page (or a retried attempt) starts a new set. */
struct repeat_run {
    int pages;       /* reader thread */
    int results;     /* caller thread: results emitted with key "dup" */
    int quarantined; /* ... and quarantine entries for it */
};

static int repeat_fetch(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                        struct page_out *out, struct page_res *res, struct ss_err *err)
{
    (void)ctx;
    struct repeat_run *rr = arg;
    rr->pages++;
    /* parts of 2: [dup, a] [b, dup] [c] */
    const char *keys[] = {"dup", "a", "b", "dup", "c"};
    for (size_t i = 0; i < 5; i++)
        if (put(out, keys[i], req->from, err) != 0)
            return -1;
    res->records = 5;
    return 0;
}

static int repeat_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    (void)cursor;
    (void)err;
    struct repeat_run *rr = sink;
    for (size_t i = 0; i < b->n_res; i++)
        rr->results += strcmp(b->res[i].vendor_key, "dup") == 0;
    for (size_t i = 0; i < b->n_quar; i++) {
        CHECK(strcmp(b->quar[i].record_key, "dup") == 0);
        CHECK(strstr(b->quar[i].reason, "came earlier in this response") != NULL);
        rr->quarantined++;
    }
    batch_reset(b);
    return 0;
}

static void test_repeat_across_parts(void **state)
{
    (void)state;
    struct cfg_account a = account();
    a.window_initial_days = 1;
    a.window_max_days = 1;
    int64_t t0 = ts_from_civil(2020, 1, 1, 0, 0, 0);
    struct vendor_ctx ctx = range_ctx(&a, t0, t0 + 2 * DAY); /* two pages */
    ctx.part_records = 2;
    ctx.emit = repeat_emit;
    struct repeat_run rr;
    memset(&rr, 0, sizeof rr);
    ctx.sink = &rr;
    struct pager p;
    struct ss_err err = {0};
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_run(prefetch_run(&ctx, &p, repeat_fetch, &rr, &err), 0, &err);
    assert_int_equal(rr.pages, 2);
    /* Each page: the first copy loads, the repeat is quarantined; the second
     * page is a new response, so its first "dup" loads again (an upsert). */
    assert_int_equal(rr.results, 2);
    assert_int_equal(rr.quarantined, 2);
}

/* ---- offset and token pagers ------------------------------------------- */

#define MAX_PAGES 32

struct list {
    long n;                    /* items in the vendor's list */
    int last_at;               /* page number (1-based) whose res->last is set; 0 = never */
    int caught_at;             /* same for res->caught_up */
    const char *const *tokens; /* token chain: page i returns tokens[i] ("" ends) */
    int stop_at;               /* set *stop while reading this page */
    int too_big_at;            /* this page passes the response size cap after 3 records */
    volatile sig_atomic_t *stop;
    /* reader thread */
    int pages;
    long offset[MAX_PAGES], limit[MAX_PAGES];
    char token[MAX_PAGES][16]; /* "(null)" for NULL */
    enum ss_errcode want_code; /* of a failing run */
    /* caller thread */
    int emits;
    char cursor[MAX_PAGES][PAGER_TOKEN_MAX];
};

static int list_fetch(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                      struct page_out *out, struct page_res *res, struct ss_err *err)
{
    (void)ctx;
    struct list *l = arg;
    int page = ++l->pages;
    if (page > MAX_PAGES)
        return err_set(err, SS_EINVAL, "runaway pager");
    l->offset[page - 1] = req->offset;
    l->limit[page - 1] = req->limit;
    snprintf(l->token[page - 1], sizeof l->token[0], "%s", req->token ? req->token : "(null)");
    long got = 0;
    char key[32];
    if (page == l->too_big_at) {
        for (long i = req->offset; i < req->offset + 3; i++) {
            snprintf(key, sizeof key, "item%ld", i);
            if (put(out, key, TS_NULL, err) != 0)
                return -1;
        }
        res->records = 3;
        res->too_big = 1;
        return err_set(err, SS_ETOOBIG, "response larger than the cap");
    }
    if (l->tokens) {
        got = 3;
        snprintf(res->next_token, sizeof res->next_token, "%s", l->tokens[page - 1]);
    } else {
        for (long i = req->offset; i < l->n && got < req->limit; i++, got++) {
            snprintf(key, sizeof key, "item%ld", i);
            if (put(out, key, TS_NULL, err) != 0)
                return -1;
        }
    }
    res->records = got;
    res->last = page == l->last_at;
    res->caught_up = page == l->caught_at;
    if (page == l->stop_at)
        *l->stop = 1;
    return 0;
}

static int list_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    struct list *l = sink;
    CHECK(l->emits < MAX_PAGES);
    snprintf(l->cursor[l->emits++], PAGER_TOKEN_MAX, "%s", cursor ? cursor : "(null)");
    batch_reset(b);
    return 0;
}

static void run_list(struct list *l, struct pager *p, int want_rc)
{
    struct ss_err err = {0};
    struct cfg_account a = account();
    struct vendor_ctx ctx = context(&a);
    ctx.emit = list_emit;
    ctx.sink = l;
    ctx.stop = l->stop;
    assert_run(prefetch_run(&ctx, p, list_fetch, l, &err), want_rc, &err);
    if (want_rc != 0)
        assert_int_equal(err.code, l->want_code);
    assert_int_equal(ctx.pages, l->emits);
    assert_int_equal(ctx.recheck_requests, 0);
}

static void test_offset_pager(void **state)
{
    (void)state;
    struct pager p;
    struct list l;

    /* 35 items, 10 a page, 2 overlap: 0, 8, 16, 24, 32 (short: the end). */
    memset(&l, 0, sizeof l);
    l.n = 35;
    pager_offset_init(&p, 0, 10, 2);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 5);
    const long offsets[] = {0, 8, 16, 24, 32};
    const char *cursors[] = {"10", "18", "26", "34", "35"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(l.offset[i], offsets[i]);
        assert_int_equal(l.limit[i], 10);
        assert_string_equal(l.cursor[i], cursors[i]); /* offset + records */
    }
    assert_true(p.done);

    /* From a stored cursor. */
    memset(&l, 0, sizeof l);
    l.n = 35;
    pager_offset_init(&p, 20, 10, 2);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 2);
    assert_true(l.offset[0] == 20 && l.offset[1] == 28);
    assert_string_equal(l.cursor[0], "30");
    assert_string_equal(l.cursor[1], "35");

    /* A list ending exactly on a page boundary needs one empty page. */
    memset(&l, 0, sizeof l);
    l.n = 20;
    pager_offset_init(&p, 0, 10, 0);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 3);
    assert_true(l.offset[2] == 20);
    assert_string_equal(l.cursor[2], "20");

    /* res->last and res->caught_up end a full page. */
    memset(&l, 0, sizeof l);
    l.n = 1000;
    l.last_at = 2;
    pager_offset_init(&p, 0, 10, 2);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 2);
    assert_string_equal(l.cursor[1], "18");
    memset(&l, 0, sizeof l);
    l.n = 1000;
    l.caught_at = 3;
    pager_offset_init(&p, 0, 10, 2);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 3);
    assert_string_equal(l.cursor[2], "26");

    /* Defaults: a negative offset is 0, limit 0 is 100, an overlap not below
     * the limit is none (a page must move forward). */
    pager_offset_init(&p, -5, 0, 100);
    assert_int_equal(p.kind, PAGER_OFFSET);
    assert_true(p.offset == 0 && p.limit == 100 && p.overlap == 0);
    pager_offset_init(&p, 7, 50, -1);
    assert_true(p.offset == 7 && p.limit == 50 && p.overlap == 0);

    /* A page over the response size cap cannot be split like a window: the
     * run fails and no checkpoint covers the records it did not read. */
    memset(&l, 0, sizeof l);
    l.n = 1000;
    l.too_big_at = 2;
    l.want_code = SS_ETOOBIG;
    pager_offset_init(&p, 0, 10, 0);
    run_list(&l, &p, -1);
    assert_int_equal(l.pages, 2);
    assert_int_equal(l.emits, 1);
    assert_string_equal(l.cursor[0], "10");
}

static void test_token_pager(void **state)
{
    (void)state;
    struct pager p;
    struct list l;
    const char *const chain[] = {"t1", "t2", "", "never"};

    memset(&l, 0, sizeof l);
    l.tokens = chain;
    pager_token_init(&p, NULL);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 3);
    assert_string_equal(l.token[0], "(null)");
    assert_string_equal(l.token[1], "t1");
    assert_string_equal(l.token[2], "t2");
    /* Each page's cursor is the next token; the last page has none, so the
     * next sync reads it again from the stored "t2". */
    assert_string_equal(l.cursor[0], "t1");
    assert_string_equal(l.cursor[1], "t2");
    assert_string_equal(l.cursor[2], "(null)");

    /* From a stored token. */
    const char *const chain2[] = {"t9", ""};
    memset(&l, 0, sizeof l);
    l.tokens = chain2;
    pager_token_init(&p, "t8");
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 2);
    assert_string_equal(l.token[0], "t8");
    assert_string_equal(l.token[1], "t9");
    pager_token_init(&p, ""); /* "" is no token */
    assert_false(p.have_token);

    /* caught_up or last ends the run even when a next token is given. */
    const char *const endless[] = {"a", "b", "c", "d", "e"};
    memset(&l, 0, sizeof l);
    l.tokens = endless;
    l.caught_at = 2;
    pager_token_init(&p, NULL);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 2);
    assert_string_equal(l.cursor[0], "a");
    assert_string_equal(l.cursor[1], "(null)");
    memset(&l, 0, sizeof l);
    l.tokens = endless;
    l.last_at = 3;
    pager_token_init(&p, NULL);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 3);

    /* Too big: fails, the stored token stays that of the last page read. */
    memset(&l, 0, sizeof l);
    l.tokens = endless;
    l.too_big_at = 3;
    l.want_code = SS_ETOOBIG;
    pager_token_init(&p, NULL);
    run_list(&l, &p, -1);
    assert_int_equal(l.pages, 3);
    assert_int_equal(l.emits, 2);
    assert_string_equal(l.cursor[1], "b");
}

static void test_stop(void **state)
{
    (void)state;
    /* *ctx->stop set while page 3 is read: page 3 is loaded, nothing after. */
    volatile sig_atomic_t stop = 0;
    struct pager p;
    struct list l;
    memset(&l, 0, sizeof l);
    l.n = 1000;
    l.stop_at = 3;
    l.stop = &stop;
    pager_offset_init(&p, 0, 10, 0);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 3);
    assert_int_equal(l.emits, 3);
    assert_string_equal(l.cursor[2], "30");

    /* Set before the run: nothing is read. */
    memset(&l, 0, sizeof l);
    l.n = 1000;
    l.stop = &stop;
    stop = 1;
    pager_offset_init(&p, 0, 10, 0);
    run_list(&l, &p, 0);
    assert_int_equal(l.pages, 0);
    assert_int_equal(l.emits, 0);
}

/* ---- pager_fraction and pager_describe (no threads) ------------------- */

static void test_fraction_and_describe(void **state)
{
    (void)state;
    struct cfg_account a = account();
    a.window_initial_days = 10;
    int64_t t0 = ts_from_civil(2020, 1, 1, 0, 0, 0);
    struct vendor_ctx ctx = range_ctx(&a, t0, t0 + 40 * DAY);
    struct pager p;
    struct page_req req;
    struct page_res res;
    char cursor[PAGER_TOKEN_MAX], what[128];
    struct ss_err err = {0};
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(pager_fraction(&p) == 0.0);

    assert_int_equal(pager_next(&p, &req), 1);
    assert_true(req.from == t0 && req.to == t0 + 10 * DAY && !req.recheck);
    pager_describe(&p, &req, what, sizeof what);
    assert_string_equal(what, "2020-01-01 .. 2020-01-11");
    memset(&res, 0, sizeof res);
    res.records = 1000; /* on target: the span stays */
    assert_int_equal(pager_done(&p, &req, &res, cursor, sizeof cursor, &err), 0);
    assert_string_equal(cursor, "2020-01-11T00:00:00.000000Z");
    assert_true(pager_fraction(&p) == 0.25);

    /* Too big: the same start again, half the span; no cursor. */
    assert_int_equal(pager_next(&p, &req), 1);
    memset(&res, 0, sizeof res);
    res.too_big = 1;
    assert_int_equal(pager_done(&p, &req, &res, cursor, sizeof cursor, &err), 1);
    assert_string_equal(cursor, "");
    assert_true(pager_fraction(&p) == 0.25);
    assert_int_equal(pager_next(&p, &req), 1);
    assert_true(req.from == t0 + 10 * DAY && req.to == t0 + 15 * DAY);

    /* The last window is cut at until; then the pager is done. */
    while (pager_next(&p, &req)) {
        memset(&res, 0, sizeof res);
        res.records = 1000;
        assert_int_equal(pager_done(&p, &req, &res, cursor, sizeof cursor, &err), 0);
    }
    assert_true(req.from == 0 && req.to == 0); /* pager_next cleared it */
    assert_string_equal(cursor, "2020-02-10T00:00:00.000000Z");
    assert_true(pager_fraction(&p) == 1.0);

    /* An empty range is all done. */
    ctx = range_ctx(&a, t0, t0);
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_true(pager_fraction(&p) == 1.0);
    assert_int_equal(pager_next(&p, &req), 0);

    /* A re-check window says so. */
    ctx = context(&a);
    ctx.now = t0 + DAY;
    ctx.cursor = "2020-01-02T01:00:00Z"; /* minus the hour of overlap: an empty range */
    int64_t times[] = {t0 - 3 * DAY + 12 * 3600 * 1000000LL};
    ctx.recheck = times;
    ctx.n_recheck = 1;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    assert_int_equal(pager_next(&p, &req), 1);
    assert_true(req.recheck);
    pager_describe(&p, &req, what, sizeof what);
    assert_string_equal(what, "re-check 2019-12-29 .. 2019-12-29");
    memset(&res, 0, sizeof res);
    strcpy(cursor, "x");
    assert_int_equal(pager_done(&p, &req, &res, cursor, sizeof cursor, &err), 0);
    assert_string_equal(cursor, ""); /* completes no checkpoint */
    assert_int_equal(pager_next(&p, &req), 0);

    /* Offset and token: the share done is unknown. */
    pager_offset_init(&p, 40, 20, 0);
    assert_true(pager_fraction(&p) == 0.0);
    assert_int_equal(pager_next(&p, &req), 1);
    pager_describe(&p, &req, what, sizeof what);
    assert_string_equal(what, "offset 40");
    pager_token_init(&p, NULL);
    assert_true(pager_fraction(&p) == 0.0);
    assert_int_equal(pager_next(&p, &req), 1);
    assert_null(req.token);
    pager_describe(&p, &req, what, sizeof what);
    assert_string_equal(what, "first page");
    pager_token_init(&p, "abc");
    assert_int_equal(pager_next(&p, &req), 1);
    assert_string_equal(req.token, "abc");
    pager_describe(&p, &req, what, sizeof what);
    assert_string_equal(what, "next page");
}

/* A re-check cluster whose response is over the size cap is read again in
 * narrower clusters, never skipped; one instant still too big is an error. */
static void test_recheck_too_big(void **state)
{
    (void)state;
    struct cfg_account a = account();
    struct vendor_ctx ctx = context(&a);
    int64_t t0 = ts_from_civil(2020, 5, 1, 0, 0, 0);
    const int64_t times[] = {t0, t0 + DAY, t0 + 2 * DAY};
    ctx.cursor = "2020-06-01T00:00:00Z";
    ctx.now = ts_from_civil(2020, 6, 1, 0, 0, 0);
    ctx.recheck = times;
    ctx.n_recheck = 3;
    struct pager p;
    struct ss_err err = {0};
    a.overlap_minutes = 0;
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    struct page_req req;
    struct page_res res;
    char cursor[64];
    /* The range itself is empty (checkpoint = now): straight to re-checks. */
    assert_int_equal(pager_next(&p, &req), 1);
    assert_true(req.recheck && req.from == t0 - 1 && req.to == t0 + 2 * DAY + 1);
    memset(&res, 0, sizeof res);
    res.too_big = 1;
    assert_int_equal(pager_done(&p, &req, &res, cursor, sizeof cursor, &err), 1);
    /* Narrower: the first two, then the third. */
    assert_int_equal(pager_next(&p, &req), 1);
    assert_true(req.recheck && req.from == t0 - 1 && req.to == t0 + DAY + 1);
    memset(&res, 0, sizeof res);
    assert_int_equal(pager_done(&p, &req, &res, cursor, sizeof cursor, &err), 0);
    assert_string_equal(cursor, "");
    assert_int_equal(pager_next(&p, &req), 1);
    assert_true(req.recheck && req.from == t0 + 2 * DAY - 1 && req.to == t0 + 2 * DAY + 1);
    res.too_big = 1; /* one instant: cannot be narrowed */
    assert_int_equal(pager_done(&p, &req, &res, cursor, sizeof cursor, &err), -1);
    assert_int_equal(err.code, SS_ETOOBIG);
    assert_int_equal(p.recheck_requests, 3); /* every attempt counts against the cap */
}

int main(void)
{
    log_set_level(LOG_WARN); /* not the "reading a smaller window" lines */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_start),
        cmocka_unit_test(test_next_span),
        cmocka_unit_test(test_tiles_range_and_converges),
        cmocka_unit_test(test_split_when_too_big),
        cmocka_unit_test(test_too_big_at_minimum),
        cmocka_unit_test(test_failures_across_threads),
        cmocka_unit_test(test_recheck_clusters),
        cmocka_unit_test(test_recheck_too_big),
        cmocka_unit_test(test_page_in_parts),
        cmocka_unit_test(test_repeat_across_parts),
        cmocka_unit_test(test_offset_pager),
        cmocka_unit_test(test_token_pager),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_fraction_and_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
