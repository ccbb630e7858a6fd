/* pipeline/plan.h without a database or a network: the density model, the
 * simulation against the real pager run by prefetch_run over a fake vendor
 * (a uniform density, and a dense stretch with a response size cap that
 * forces splits), and the duration the rate limits impose.
 * The fake vendor counts a window as [from, to) like the model; the real
 * vendors include both ends, which only matters for a record exactly on a
 * window's edge. Callbacks never use cmocka asserts (they run inside
 * prefetch_run's threads); the test body asserts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeparse.h"
#include "pipeline/plan.h"
#include "vendors/pager.h"
#include "vendors/prefetch.h"

#define SEC    1000000LL
#define MINUTE (60 * SEC)
#define DAY    (86400 * SEC)

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
    a.max_response_bytes = 64L << 20;
    a.start_date = "2019-01-01";
    return a;
}

static struct vendor_ctx backfill_ctx(const struct cfg_account *a, int64_t since, int64_t until)
{
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = a;
    ctx.backfill = 1;
    ctx.since = since;
    ctx.until = until;
    ctx.now = until;
    ctx.part_records = 1000;
    return ctx;
}

/* ---- a fake vendor: records at fixed steps, a denser stretch ------------- */

struct fake {
    int64_t t0, end, every;
    int64_t dense_from, dense_to, dense_every;
    long bytes;     /* per record in a response */
    long max_bytes; /* a response over this is too big */
    /* reader thread */
    long calls, splits;
};

static int64_t next_t(const struct fake *f, int64_t t)
{
    return t + (t >= f->dense_from && t < f->dense_to ? f->dense_every : f->every);
}

static long count_in(const struct fake *f, int64_t a, int64_t b)
{
    long n = 0;
    for (int64_t t = f->t0; t < b && t < f->end; t = next_t(f, t))
        if (t >= a)
            n++;
    return n;
}

static int fetch(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                 struct page_out *out, struct page_res *res, struct ss_err *err)
{
    (void)ctx, (void)out;
    struct fake *f = arg;
    f->calls++;
    long n = count_in(f, req->from, req->to);
    if (f->max_bytes && n * f->bytes > f->max_bytes) {
        f->splits++;
        res->too_big = 1;
        return err_set(err, SS_ETOOBIG, "response larger than the cap");
    }
    res->records = n; /* what the pager sizes by; no rows needed */
    return 0;
}

static int emit(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    (void)sink, (void)cursor, (void)err;
    batch_reset(b);
    return 0;
}

/* The real thing: prefetch_run over the fake with the account's pager. */
static long real_requests(const struct cfg_account *a, struct fake *f, long *splits)
{
    struct vendor_ctx ctx = backfill_ctx(a, f->t0, f->end);
    ctx.emit = emit;
    struct pager p;
    struct ss_err err = {0};
    assert_int_equal(pager_window_init(&p, &ctx, &err), 0);
    f->calls = f->splits = 0;
    if (prefetch_run(&ctx, &p, fetch, f, &err) != 0)
        fail_msg("prefetch_run: %s", err.msg);
    *splits = f->splits;
    return f->calls;
}

/* The fake's records, one piece each at its own time. */
static void model_points(struct plan_model *m, const struct fake *f)
{
    plan_model_init(m);
    for (int64_t t = f->t0; t < f->end; t = next_t(f, t))
        assert_int_equal(plan_model_add(m, t, t + 1, 1, (double)f->bytes), 0);
    assert_int_equal(plan_model_seal(m), 0);
}

/* ---- the model ----------------------------------------------------------- */

static void test_model_count(void **state)
{
    (void)state;
    struct plan_model m;
    plan_model_init(&m);
    /* 100 records over [0, 100 s), 10 at 150 s (twice 5: they add up). */
    assert_int_equal(plan_model_add(&m, 0, 100 * SEC, 100, 10), 0);
    assert_int_equal(plan_model_add(&m, 150 * SEC, 150 * SEC + 1, 5, 20), 0);
    assert_int_equal(plan_model_add(&m, 150 * SEC, 150 * SEC + 1, 5, 20), 0);
    assert_int_equal(plan_model_add(&m, 200 * SEC, 100 * SEC, 7, 1), 0); /* empty: ignored */
    assert_int_equal(plan_model_seal(&m), 0);
    assert_int_equal(m.n, 2);
    double bytes;
    assert_true(fabs(plan_model_count(&m, 0, 100 * SEC, &bytes) - 100) < 1e-9);
    assert_true(fabs(bytes - 1000) < 1e-6);
    assert_true(fabs(plan_model_count(&m, 25 * SEC, 75 * SEC, NULL) - 50) < 1e-9);
    assert_true(fabs(plan_model_count(&m, 90 * SEC, 160 * SEC, &bytes) - 20) < 1e-9);
    assert_true(fabs(bytes - (10 * 10 + 10 * 20)) < 1e-6);
    assert_true(plan_model_count(&m, 100 * SEC, 150 * SEC, NULL) == 0);
    assert_true(plan_model_count(&m, 150 * SEC + 1, 1000 * SEC, NULL) == 0);
    assert_true(plan_model_count(&m, 50 * SEC, 50 * SEC, NULL) == 0);
    plan_model_free(&m);
}

/* ---- the simulation equals the pager ------------------------------------- */

/* A uniform density (one record every 7 minutes for two years): the plan's
 * count is the count of requests the pager really sends, from the records
 * themselves and from the same density spread evenly. */
static void test_uniform(void **state)
{
    (void)state;
    struct cfg_account a = account();
    struct fake f = {0};
    f.t0 = ts_from_civil(2019, 1, 1, 0, 0, 0);
    f.end = ts_from_civil(2021, 1, 1, 0, 0, 0);
    f.every = f.dense_every = 7 * MINUTE;
    f.bytes = 1500;
    long splits;
    long real = real_requests(&a, &f, &splits);
    assert_int_equal(splits, 0);
    assert_true(real > 100); /* ~150,000 records at 1,000 a window */

    struct vendor_ctx ctx = backfill_ctx(&a, f.t0, f.end);
    struct plan_model m;
    struct plan_sim sim;
    struct ss_err err = {0};
    model_points(&m, &f);
    assert_int_equal(plan_simulate(&ctx, &m, &sim, &err), 0);
    plan_model_free(&m);
    assert_int_equal(sim.requests, real);
    assert_int_equal(sim.splits, 0);
    assert_false(sim.failed);
    assert_true(fabs(sim.records - (double)count_in(&f, f.t0, f.end)) < 1);

    /* The same density as one even piece. */
    plan_model_init(&m);
    assert_int_equal(plan_model_add(&m, f.t0, f.end, (double)count_in(&f, f.t0, f.end), 1500), 0);
    assert_int_equal(plan_model_seal(&m), 0);
    assert_int_equal(plan_simulate(&ctx, &m, &sim, &err), 0);
    plan_model_free(&m);
    assert_int_equal(sim.requests, real);
}

/* Sparse, then a stretch 40x denser than the windows expect, with a
 * response cap: windows that run into it are too big, split and read
 * again, the next ones shrink. The plan follows every step. */
static void test_dense_stretch_splits(void **state)
{
    (void)state;
    struct cfg_account a = account();
    a.window_target_records = 500;
    struct fake f = {0};
    f.t0 = ts_from_civil(2019, 1, 1, 0, 0, 0);
    f.end = ts_from_civil(2020, 1, 1, 0, 0, 0);
    f.every = 2 * 60 * MINUTE;
    f.dense_from = ts_from_civil(2019, 6, 1, 0, 0, 0);
    f.dense_to = ts_from_civil(2019, 7, 1, 0, 0, 0);
    f.dense_every = 3 * MINUTE;
    f.bytes = 1000;
    f.max_bytes = 900 * 1000; /* 900 records */
    a.max_response_bytes = f.max_bytes;
    long splits;
    long real = real_requests(&a, &f, &splits);
    assert_true(splits > 0);

    struct vendor_ctx ctx = backfill_ctx(&a, f.t0, f.end);
    struct plan_model m;
    struct plan_sim sim;
    struct ss_err err = {0};
    model_points(&m, &f);
    assert_int_equal(plan_simulate(&ctx, &m, &sim, &err), 0);
    plan_model_free(&m);
    assert_int_equal(sim.requests, real);
    assert_int_equal(sim.splits, splits);
    assert_int_equal(sim.windows, real - splits);

    /* Resuming from a progress cursor: what is left of the range. */
    ctx.cursor = "2019-09-01T00:00:00Z";
    model_points(&m, &f);
    assert_int_equal(plan_simulate(&ctx, &m, &sim, &err), 0);
    plan_model_free(&m);
    struct fake rest = f;
    rest.t0 = ts_from_civil(2019, 9, 1, 0, 0, 0);
    long rest_splits;
    assert_int_equal(sim.requests, real_requests(&a, &rest, &rest_splits));
}

/* A window still too big at its minimum: the backfill would stop there. */
static void test_too_big_at_minimum(void **state)
{
    (void)state;
    struct cfg_account a = account();
    a.max_response_bytes = 10000;
    int64_t t0 = ts_from_civil(2019, 1, 1, 0, 0, 0);
    struct plan_model m;
    plan_model_init(&m);
    /* 50 records of 1 KB at one instant. */
    assert_int_equal(plan_model_add(&m, t0 + DAY, t0 + DAY + 1, 50, 1000), 0);
    assert_int_equal(plan_model_seal(&m), 0);
    struct vendor_ctx ctx = backfill_ctx(&a, t0, t0 + 10 * DAY);
    struct plan_sim sim;
    struct ss_err err = {0};
    assert_int_equal(plan_simulate(&ctx, &m, &sim, &err), 0);
    plan_model_free(&m);
    assert_true(sim.failed);
    assert_non_null(strstr(sim.why, "size cap"));
    assert_true(sim.splits > 10); /* halved from 10 days down to a minute */
}

/* ---- the duration at the limits ------------------------------------------ */

static void test_duration(void **state)
{
    (void)state;
    struct cfg_account a = account();
    a.n_rate = 2;
    a.rate[0].requests = 5;
    a.rate[0].per_seconds = 1;
    a.rate[1].requests = 2000;
    a.rate[1].per_seconds = 1200;
    a.rate_margin_ms = 0;
    long held[CFG_MAX_WINDOWS];

    /* Nothing before: 5 now, 5 a second later, 2 at 2 s. */
    assert_true(plan_duration(&a, NULL, 0, 12, held) == 2 * SEC);
    assert_int_equal(held[0], 0);
    assert_int_equal(held[1], 0);
    assert_true(plan_duration(&a, NULL, 0, 0, NULL) == 0);

    /* Another run sent 5 half a second ago: everything moves by 0.5 s. */
    struct plan_sent recent = {5, SEC / 2};
    assert_true(plan_duration(&a, &recent, 1, 12, held) == 2 * SEC + SEC / 2);
    assert_int_equal(held[0], 5);
    assert_int_equal(held[1], 5);

    /* 1,990 of the 2,000 per 20 minutes went 10 minutes ago: 10 now, the
     * rest once those leave the window, 10 minutes from now. */
    struct plan_sent big = {1990, 600 * SEC};
    int64_t d = plan_duration(&a, &big, 1, 20, held);
    assert_int_equal(held[0], 0);
    assert_int_equal(held[1], 1990);
    assert_true(d >= 600 * SEC && d <= 602 * SEC);

    /* The margin widens every window. */
    a.rate_margin_ms = 100;
    assert_true(plan_duration(&a, NULL, 0, 12, NULL) == 2 * SEC + 2 * 100000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_count),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_dense_stretch_splits),
        cmocka_unit_test(test_too_big_at_minimum),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
