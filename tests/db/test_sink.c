/* test_sink: the one normalise + load + checkpoint path (pipeline/sink.h)
 * against a real, freshly migrated database, and the proof that sync and
 * renormalize write a result through one encoder. */
#include "dbtest.c"

#include <math.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/record.h"
#include "core/timeparse.h"
#include "load/load.h"
#include "load/migrate.h"
#include "load/runs.h"
#include "normalize/norm.h"
#include "pipeline/renormalize.h"
#include "pipeline/sink.h"
#include "vendors/vendor.h"

struct st {
    struct dbt *t; /* first member: dbt_teardown frees through it */
    struct loader *l;
    struct scales *sc;
    int64_t acct;
};

static int st_setup(void **state)
{
    if (dbt_setup(state) != 0)
        return -1;
    struct dbt *t = *state;
    struct st *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->t = t;
    x->l = dbt_migrated_loader(t->db, "emmersion", "acme", &x->acct);
    char path[600];
    snprintf(path, sizeof path, "%s/config/scales.yaml", dbt_source_dir());
    struct ss_err err = {0};
    if (scales_load(path, &x->sc, &err) != 0)
        fail_msg("scales_load: %s", err.msg);
    *state = x;
    return 0;
}

static int st_teardown(void **state)
{
    struct st *x = *state;
    loader_free(x->l);
    scales_free(x->sc);
    void *inner = x->t;
    free(x);
    return dbt_teardown(&inner);
}

static struct sink *open_sink(struct st *x, const char *checkpoint, int64_t run_id,
                              size_t batch_rows, struct http_client *http)
{
    struct sink_opts o = {
        .loader = x->l,
        .sc = x->sc,
        .vendor = "emmersion",
        .account = "acme",
        .account_id = x->acct,
        .stream = "scores",
        .checkpoint = checkpoint,
        .run_id = run_id,
        .batch_rows = batch_rows,
        .http = http,
    };
    struct ss_err err = {0};
    struct sink *s = sink_open(&o, &err);
    if (!s)
        fail_msg("sink_open: %s", err.msg);
    return s;
}

static void add_cand(struct ss_batch *b, const char *key)
{
    struct ss_candidate *c = batch_add_candidate(b);
    assert_non_null(c);
    c->vendor_key = strdup(key);
    char raw[128];
    snprintf(raw, sizeof raw, "{\"userId\":\"%s\"}", key);
    c->raw_json = strdup(raw);
}

/* A parsed but not yet normalised result: labels only, no stream (the sink
 * fills both). */
static void add_res(struct ss_batch *b, const char *key, const char *cand)
{
    struct ss_result *r = batch_add_result(b);
    assert_non_null(r);
    r->vendor_key = strdup(key);
    r->candidate_key = strdup(cand);
    r->assessment_type = strdup("TrueNorth");
    r->status_label = strdup("Completed");
    r->has_score = 1;
    r->score = 7.5;
    r->cefr.label = strdup("B2");
    char raw[128];
    snprintf(raw, sizeof raw, "{\"userAssessmentId\":\"%s\"}", key);
    r->raw_json = strdup(raw);
}

static int64_t begin_run(struct st *x)
{
    struct ss_err err = {0};
    int64_t run_id = 0;
    if (load_run_begin(x->l, x->acct, "scores", "sync", "{}", &run_id, &err) != 0)
        fail_msg("load_run_begin: %s", err.msg);
    return run_id;
}

/* batch_rows 2: five results go in three transactions; the cursor only with
 * the third, so when the third fails the first two stay and the checkpoint
 * does not move. */
static void test_emit_in_parts_cursor_with_last(void **state)
{
    struct st *x = *state;
    struct db *db = x->t->db;
    struct ss_err err = {0};
    struct sink *s = open_sink(x, NULL, begin_run(x), 2, NULL);
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1");
    add_cand(&b, "u2");
    add_res(&b, "r1", "u1");
    add_res(&b, "r2", "u1");
    add_res(&b, "r3", "u2");
    add_res(&b, "r4", "u2");
    add_res(&b, "r5", "nobody"); /* a parser bug: the loader refuses its part */
    assert_int_equal(sink_emit(s, &b, "2020-01-08", &err), -1);
    assert_non_null(strstr(err.msg, "nobody"));
    assert_int_equal(b.n_res, 0); /* emptied on failure too */
    assert_int_equal(b.n_cand, 0);
    const struct sink_counts *n = sink_counts(s);
    assert_int_equal(n->commits, 2);
    assert_int_equal(n->loaded.res_inserted, 4);
    assert_int_equal(n->loaded.cand_inserted, 2);
    assert_sql_eq(db, "4", "SELECT count(*) FROM results");
    assert_sql_eq(db, "0", "SELECT count(*) FROM checkpoints");

    /* The same window again, now whole: the checkpoint moves with part 3. */
    add_cand(&b, "u1");
    add_cand(&b, "u2");
    add_res(&b, "r1", "u1");
    add_res(&b, "r2", "u1");
    add_res(&b, "r3", "u2");
    add_res(&b, "r4", "u2");
    add_res(&b, "r5", "u2");
    assert_int_equal(sink_emit(s, &b, "2020-01-08", &err), 0);
    assert_int_equal(n->commits, 5);
    assert_int_equal(n->loaded.res_inserted, 5);
    assert_int_equal(n->loaded.res_unchanged, 4);
    assert_sql_eq(db, "2020-01-08", "SELECT cursor FROM checkpoints WHERE stream = 'scores'");
    /* Normalised on the way (canonical status, ranks) and given the stream. */
    assert_sql_eq(db, "5|5|5",
                  "SELECT concat_ws('|', count(*) FILTER (WHERE status = 'completed'), "
                  "count(*) FILTER (WHERE cefr_low IS NOT NULL AND score_pct IS NOT NULL), "
                  "count(*) FILTER (WHERE stream = 'scores')) FROM results");
    sink_close(s);
    batch_free(&b);
}

/* Quarantine rows go with the first part, under the stream's name even when
 * the checkpoint is a backfill's key; a batch of none still moves the cursor. */
static void test_quarantine_counts_and_backfill_key(void **state)
{
    struct st *x = *state;
    struct db *db = x->t->db;
    struct ss_err err = {0};
    int64_t run_id = begin_run(x);
    struct sink *s = open_sink(x, "scores#backfill:2020..2021", run_id, 100, NULL);
    struct ss_batch b;
    batch_init(&b);
    assert_int_equal(batch_add_quarantine(&b, "r9", "score", "not a number", "{}", &err), 0);
    assert_int_equal(batch_add_quarantine(&b, NULL, NULL, NULL, "[", &err), 0);
    add_cand(&b, "u1");
    add_res(&b, "r1", "u1");
    struct ss_result *r = &b.res[0];
    free(r->cefr.label);
    r->cefr.label = strdup("Z9"); /* unknown: loaded with a note, not quarantined */
    assert_int_equal(sink_emit(s, &b, "c1", &err), 0);
    assert_int_equal(sink_emit(s, &b, "c2", &err), 0); /* nothing in it: cursor only */
    const struct sink_counts *n = sink_counts(s);
    assert_int_equal(n->commits, 2);
    assert_int_equal(n->quarantined, 2);
    assert_int_equal(n->noted, 1);
    assert_int_equal(n->loaded.quarantined, 2);
    assert_int_equal(n->loaded.res_inserted, 1);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)run_id);
    assert_sql_eq(db, "2|scores", "SELECT count(*) || '|' || min(stream) FROM quarantine");
    assert_sql_eq(db, "(unknown)|(no reason given)",
                  "SELECT record_key || '|' || reason FROM quarantine WHERE field IS NULL");
    assert_sql_eq(db, "2", "SELECT count(*) FROM quarantine WHERE run_id = $1::bigint", id);
    assert_sql_eq(db, "scores#backfill:2020..2021|c2",
                  "SELECT stream || '|' || cursor FROM "
                  "checkpoints");
    assert_sql_eq(db, "t", "SELECT norm_notes IS NOT NULL AND cefr_low IS NULL FROM results");
    sink_close(s);
    batch_free(&b);
}

/* After each batch the sink records the run's requests so far. */
static void test_emit_notes_requests(void **state)
{
    struct st *x = *state;
    struct db *db = x->t->db;
    struct ss_err err = {0};
    assert_int_equal(http_global_init(&err), 0);
    struct http_opts ho;
    memset(&ho, 0, sizeof ho);
    struct http_client *http = http_new(&ho, NULL, clock_system(), &err);
    assert_non_null(http);
    int64_t run_id = begin_run(x);
    struct sink *s = open_sink(x, NULL, run_id, 0, http);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)run_id);
    assert_sql_eq(db, "<NULL>", "SELECT last_request_at FROM sync_runs WHERE id = $1::bigint", id);
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1");
    add_res(&b, "r1", "u1");
    assert_int_equal(sink_emit(s, &b, NULL, &err), 0);
    assert_sql_eq(db, "0|true",
                  "SELECT requests || '|' || (last_request_at IS NOT NULL) FROM sync_runs "
                  "WHERE id = $1::bigint",
                  id);
    assert_sql_eq(db, "0", "SELECT count(*) FROM checkpoints"); /* no cursor, no checkpoint */
    sink_close(s);
    http_free(http);
    http_global_cleanup();
    batch_free(&b);
}

/* Every column of a stored result except its timestamps of bookkeeping. */
static char *stored_row(struct db *db)
{
    return dbt_val(db, "SELECT (to_jsonb(r) - 'updated_at' - 'first_seen_at')::text FROM results r",
                   0, NULL);
}

/* One raw record through sync (sink) and through renormalize gives the same
 * stored row, byte for byte: there is one encoder. The record carries what
 * an encoder can get wrong: a fraction that is not exact in binary, a note
 * with a tab, a backslash and non-ASCII text, open bands and a ranged level. */
static void test_renormalize_equals_sync(void **state)
{
    struct st *x = *state;
    struct db *db = x->t->db;
    struct ss_err err = {0};
    const struct vendor_ops *v = vendor_find("emmersion");
    assert_non_null(v);
    assert_non_null(v->reparse);
    static const char raw[] =
        "{\"userAssessmentId\":\"a-1\",\"assessmentType\":\"TrueNorth\","
        "\"assessmentName\":\"English Speaking \\u00dcbung\",\"status\":\"Completed\","
        "\"started\":\"2019-07-29T18:01:08.8605745+00:00\","
        "\"completed\":\"2019-07-29T18:03:58.5438205+00:00\",\"duration\":\"00:02:49.6832460\","
        "\"score\":7.3,\"placement\":null,\"cefrSpeakingLevel\":\"B2-C1\","
        "\"actflSpeakingLevel\":\"Advanced Mid\\tX\\\\y \\u00e9\",\"toeflSpeakingLevel\":\"25-27\","
        "\"ieltsSpeakingLevel\":null,\"toeicSpeakingLevel\":null,\"subScores\":{},"
        "\"assessmentVersion\":\"A.1\",\"certificateUrl\":null}";

    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1");
    struct ss_result *r = batch_add_result(&b);
    assert_non_null(r);
    if (v->reparse(v, "scores", raw, strlen(raw), r, &err) != 0)
        fail_msg("reparse: %s", err.msg);
    free(r->candidate_key);
    r->candidate_key = strdup("u1");
    struct sink *s = open_sink(x, NULL, 0, 0, NULL);
    if (sink_emit(s, &b, "c", &err) != 0)
        fail_msg("sink_emit: %s", err.msg);
    sink_close(s);
    batch_free(&b);
    char *synced = stored_row(db);
    assert_non_null(strstr(synced, "\"scales_version\""));
    assert_sql_eq(db, "t",
                  "SELECT strpos(norm_notes, 'Advanced Mid' || chr(9) || 'X\\y é') > 0 "
                  "FROM results");

    /* Stale normalised values, as an older scales.yaml would have left. */
    dbt_exec(db, "UPDATE results SET status = 'unknown', score = NULL, score_scale = 'old', "
                 "scale_min = NULL, scale_max = 1, score_pct = NULL, cefr_low = 1, cefr_high = 2, "
                 "cefr_rule = 'old', actfl_low = NULL, actfl_high = NULL, actfl_rule = 'old', "
                 "toefl_low = NULL, toefl_high = NULL, skill = 'reading', passed = true, "
                 "pass_rule = 'old', norm_notes = 'old', scales_version = 'old'");
    char *stale = stored_row(db);
    assert_string_not_equal(stale, synced);

    struct renorm_request rq;
    memset(&rq, 0, sizeof rq);
    struct renorm_counts c;
    if (renormalize_run(db, x->sc, &rq, &c, &err) != 0)
        fail_msg("renormalize_run: %s", err.msg);
    assert_int_equal(c.examined, 1);
    assert_int_equal(c.changed, 1);
    assert_int_equal(c.failed, 0);
    char *renormalized = stored_row(db);
    assert_string_equal(renormalized, synced);

    /* And the values it would write now compare equal: nothing rewritten. */
    char *xmin = dbt_val(db, "SELECT xmin::text FROM results", 0, NULL);
    rq.all = 1;
    if (renormalize_run(db, x->sc, &rq, &c, &err) != 0)
        fail_msg("renormalize_run: %s", err.msg);
    assert_int_equal(c.examined, 1);
    assert_int_equal(c.changed, 0);
    assert_int_equal(c.unchanged, 1);
    assert_sql_eq(db, xmin, "SELECT xmin::text FROM results");
    free(xmin);
    free(renormalized);
    free(stale);
    free(synced);
}

int main(void)
{
    log_set_level(LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_emit_in_parts_cursor_with_last, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_counts_and_backfill_key, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_emit_notes_requests, st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_renormalize_equals_sync, st_setup, st_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
