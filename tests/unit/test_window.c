/* Adaptive date windows: where a read starts (checkpoint, overlap,
 * backfill), that windows tile the range with no gap, that an oversized
 * response is split and refetched, and that sizes converge on the target so
 * few requests are spent. The "vendor" here is a function over a synthetic
 * record density; no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeparse.h"
#include "vendors/window.h"

#define DAY (86400LL * 1000000LL)

struct fake {
    int64_t t0; /* records every `every` us from t0 */
    int64_t every;
    int64_t dense_from, dense_to, dense_every; /* a denser stretch */
    long too_big; /* more records than this in one window -> SS_ETOOBIG */
    /* Written by fetch, which window_run calls on its reader thread. */
    int calls, fetched;
    int64_t fetch_end; /* the end of the previous window fetched */
    int gap;           /* a window started after the previous one ended */
    /* Written by emit, on the caller's thread; read after window_run. */
    int emits;
    int64_t last_end; /* the end of the previous emitted window */
    long total;
    char last_cursor[40];
};

static long count_in(const struct fake *f, int64_t a, int64_t b)
{
    long n = 0;
    for (int64_t t = f->t0; t <= b;
         t += (t >= f->dense_from && t < f->dense_to) ? f->dense_every : f->every)
        if (t >= a)
            n++;
    return n;
}

static int fetch(void *arg, int64_t a, int64_t b, struct ss_batch *out, long *records,
                 struct ss_err *err)
{
    (void)out;
    struct fake *f = arg;
    f->calls++;
    long n = count_in(f, a, b);
    if (f->too_big && n > f->too_big)
        return err_set(err, SS_ETOOBIG, "response larger than the cap");
    if (f->fetched > 0 && a != f->fetch_end)
        f->gap = 1;
    f->fetched++;
    f->fetch_end = b;
    *records = n;
    return 0;
}

static int emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    (void)b;
    (void)err;
    struct fake *f = sink;
    int64_t end;
    assert_int_equal(ts_parse(cursor, 0, &end, err), 0);
    if (f->emits > 0)
        assert_true(end > f->last_end); /* the checkpoint only moves forward */
    f->last_end = end;
    f->emits++;
    strcpy(f->last_cursor, cursor);
    return 0;
}

static struct cfg_account account(void)
{
    struct cfg_account a;
    memset(&a, 0, sizeof a);
    a.vendor = "emmersion";
    a.name = "t";
    a.window_initial_days = 30;
    a.window_min_seconds = 60;
    a.window_max_days = 365;
    a.window_target_records = 1000;
    a.overlap_minutes = 60;
    a.start_date = "2019-01-01";
    return a;
}

static void test_plan_start(void **state)
{
    (void)state;
    struct cfg_account a = account();
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = &a;
    ctx.since = ctx.until = TS_NULL;
    ctx.now = ts_from_civil(2020, 6, 1, 0, 0, 0);
    struct window_plan p;
    struct ss_err err = {0};

    /* First sync: from start_date to now. */
    assert_int_equal(window_plan_init(&ctx, &p, &err), 0);
    assert_true(p.from == ts_from_civil(2019, 1, 1, 0, 0, 0));
    assert_true(p.until == ctx.now);

    /* Incremental: the checkpoint minus the overlap. */
    ctx.cursor = "2020-05-01T12:00:00.000000Z";
    assert_int_equal(window_plan_init(&ctx, &p, &err), 0);
    assert_true(p.from == ts_from_civil(2020, 5, 1, 11, 0, 0));

    /* Backfill ignores the sync checkpoint's overlap but resumes its own progress. */
    ctx.backfill = 1;
    ctx.since = ts_from_civil(2020, 1, 1, 0, 0, 0);
    ctx.until = ts_from_civil(2020, 3, 1, 0, 0, 0);
    ctx.cursor = NULL;
    assert_int_equal(window_plan_init(&ctx, &p, &err), 0);
    assert_true(p.from == ctx.since && p.until == ctx.until);
    ctx.cursor = "2020-02-01T00:00:00Z";
    assert_int_equal(window_plan_init(&ctx, &p, &err), 0);
    assert_true(p.from == ts_from_civil(2020, 2, 1, 0, 0, 0));

    /* A corrupt checkpoint is an error, not a silent restart from scratch. */
    ctx.backfill = 0;
    ctx.cursor = "yesterday";
    assert_int_equal(window_plan_init(&ctx, &p, &err), -1);
    assert_non_null(strstr(err.msg, "yesterday"));
}

static void test_next_span(void **state)
{
    (void)state;
    struct window_plan p = {0, 0, DAY, 60 * 1000000LL, 365 * DAY, 1000};
    assert_true(window_next_span(10 * DAY, 2000, &p) == 5 * DAY); /* shrink to target */
    assert_true(window_next_span(10 * DAY, 800, &p) == 10 * DAY); /* near target: keep */
    assert_true(window_next_span(10 * DAY, 250, &p) == 40 * DAY); /* sparse: widen */
    assert_true(window_next_span(10 * DAY, 0, &p) == 40 * DAY);   /* at most 4x */
    assert_true(window_next_span(200 * DAY, 0, &p) == 365 * DAY); /* capped */
    assert_true(window_next_span(120 * 1000000LL, 1000000, &p) == 60 * 1000000LL); /* floor */
}

static void run(struct fake *f, int64_t from, int64_t until, long target)
{
    struct cfg_account a = account();
    a.window_target_records = (int)target;
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = &a;
    ctx.emit = emit;
    ctx.sink = f;
    struct window_plan p = {from, until, 30 * DAY, 60 * 1000000LL, 365 * DAY, target};
    struct ss_err err = {0};
    assert_int_equal(window_run(&ctx, &p, fetch, f, &err), 0);
    assert_int_equal(ctx.windows, f->emits);
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
    f.dense_every = 60LL * 1000000;
    int64_t until = ts_from_civil(2023, 1, 1, 0, 0, 0);
    run(&f, f.t0, until, 2000);
    assert_false(f.gap);
    assert_true(f.last_end == until);
    /* ~35k hourly + ~44k dense records at ~2000 per request: a fixed 30-day
     * window would take 49 requests and return 44k in one; adaptive stays
     * close to records/target. */
    long total = count_in(&f, f.t0, until);
    assert_true(f.calls <= total / 2000 + 12);
}

static void test_split_when_too_big(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof f);
    f.t0 = ts_from_civil(2020, 1, 1, 0, 0, 0);
    f.every = 60LL * 1000000; /* one a minute: 43,200 in a 30-day window */
    f.too_big = 5000;
    int64_t until = f.t0 + 20 * DAY;
    run(&f, f.t0, until, 2000);
    assert_false(f.gap);
    assert_true(f.last_end == until);
    assert_true(f.calls > f.emits); /* some windows were refetched smaller */
}

/* Failures on either side of the hand-over: a fetch that fails after some
 * windows leaves those windows loaded and reports its error; an emit that
 * fails stops the reader (no further loads, no hang). */
struct failing {
    int fail_fetch_at, fail_emit_at;
    int fetches, emits; /* fetches: reader thread only; emits: caller only */
};

static int failing_fetch(void *arg, int64_t a, int64_t b, struct ss_batch *out, long *records,
                         struct ss_err *err)
{
    (void)a;
    (void)b;
    (void)out;
    struct failing *x = arg;
    if (++x->fetches == x->fail_fetch_at)
        return err_set(err, SS_EHTTP, "HTTP 500 on window %d", x->fetches);
    *records = 10;
    return 0;
}

static int failing_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    (void)b;
    (void)cursor;
    struct failing *x = sink;
    if (++x->emits == x->fail_emit_at)
        return err_set(err, SS_EDB, "load failed on window %d", x->emits);
    return 0;
}

static void test_failures_across_threads(void **state)
{
    (void)state;
    struct cfg_account a = account();
    struct window_plan p = {0, 100 * DAY, DAY, 60 * 1000000LL, DAY, 10};
    struct ss_err err = {0};

    struct failing x = {7, 0, 0, 0};
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = &a;
    ctx.emit = failing_emit;
    ctx.sink = &x;
    assert_int_equal(window_run(&ctx, &p, failing_fetch, &x, &err), -1);
    assert_int_equal(x.emits, 6); /* every window before the failed one is in */
    assert_non_null(strstr(err.msg, "window 7"));

    struct failing y = {0, 3, 0, 0};
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = &a;
    ctx.emit = failing_emit;
    ctx.sink = &y;
    err_clear(&err);
    assert_int_equal(window_run(&ctx, &p, failing_fetch, &y, &err), -1);
    assert_int_equal(y.emits, 3);
    assert_true(y.fetches <= 5); /* the reader stopped at most a window or two ahead */
    assert_non_null(strstr(err.msg, "load failed on window 3"));
}

static int64_t rc_from[256], rc_to[256];
static int rc_calls, rc_emits_with_cursor;

static int recheck_fetch(void *arg, int64_t a, int64_t b, struct ss_batch *out, long *records,
                         struct ss_err *err)
{
    (void)arg;
    (void)out;
    (void)err;
    rc_from[rc_calls] = a;
    rc_to[rc_calls] = b;
    rc_calls++;
    *records = 1;
    return 0;
}

static int recheck_emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    (void)sink;
    (void)b;
    (void)err;
    if (cursor)
        rc_emits_with_cursor++;
    return 0;
}

static void test_recheck_clusters(void **state)
{
    (void)state;
    struct cfg_account a = account();
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = &a;
    ctx.emit = recheck_emit;
    int64_t t0 = ts_from_civil(2024, 1, 1, 0, 0, 0);
    /* Three within 30 days of the first, one 40 days out, one a year out. */
    int64_t times[] = {t0, t0 + DAY, t0 + 29 * DAY, t0 + 40 * DAY, t0 + 400 * DAY};
    ctx.recheck = times;
    ctx.n_recheck = 5;
    struct window_plan p = {0, 0, 30 * DAY, 60 * 1000000LL, 365 * DAY, 1000};
    struct ss_err err = {0};
    rc_calls = rc_emits_with_cursor = 0;
    assert_int_equal(window_recheck(&ctx, &p, recheck_fetch, NULL, &err), 0);
    assert_int_equal(rc_calls, 3);
    assert_true(rc_from[0] == t0 && rc_to[0] == t0 + 29 * DAY);
    assert_true(rc_from[1] == t0 + 40 * DAY && rc_to[1] == t0 + 40 * DAY);
    assert_true(rc_from[2] == t0 + 400 * DAY && rc_to[2] == t0 + 400 * DAY);
    assert_int_equal(rc_emits_with_cursor, 0); /* the checkpoint never moves */

    /* At most WINDOW_RECHECK_MAX requests a run. */
    int64_t many[WINDOW_RECHECK_MAX + 20];
    for (size_t i = 0; i < sizeof many / sizeof many[0]; i++)
        many[i] = t0 + (int64_t)i * 31 * DAY;
    ctx.recheck = many;
    ctx.n_recheck = sizeof many / sizeof many[0];
    rc_calls = 0;
    assert_int_equal(window_recheck(&ctx, &p, recheck_fetch, NULL, &err), 0);
    assert_int_equal(rc_calls, WINDOW_RECHECK_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_start),
        cmocka_unit_test(test_next_span),
        cmocka_unit_test(test_tiles_range_and_converges),
        cmocka_unit_test(test_split_when_too_big),
        cmocka_unit_test(test_recheck_clusters),
        cmocka_unit_test(test_failures_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
