/* test_load: batches into a real, freshly migrated database. */
#include "dbtest.c"

#include <math.h>

#include "core/log.h"
#include "core/redact.h"
#include "core/record.h"
#include "core/timeparse.h"
#include "load/load.h"
#include "load/migrate.h"
#include "load/runs.h"

struct lt {
    struct dbt *t; /* first member: dbt_teardown frees through it */
    struct loader *l;
    int64_t acct;
};

static int lt_setup(void **state)
{
    if (dbt_setup(state) != 0)
        return -1;
    struct dbt *t = *state;
    struct lt *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->t = t;
    x->l = dbt_migrated_loader(t->db, "emmersion", "acme", &x->acct);
    *state = x;
    return 0;
}

static int lt_teardown(void **state)
{
    struct lt *x = *state;
    loader_free(x->l);
    void *inner = x->t;
    free(x);
    return dbt_teardown(&inner);
}

static struct ss_candidate *add_cand(struct ss_batch *b, const char *key, const char *email)
{
    struct ss_candidate *c = batch_add_candidate(b);
    assert_non_null(c);
    c->vendor_key = strdup(key);
    c->email = ss_strdup(email);
    c->given_name = strdup("Given");
    char raw[256];
    snprintf(raw, sizeof raw, "{\"userId\":\"%s\"}", key);
    c->raw_json = strdup(raw);
    return c;
}

/* Minimal JSON string escaping for test keys. */
static void json_esc(const char *s, char *out, size_t n)
{
    size_t o = 0;
    for (; *s && o + 8 < n; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)snprintf(out + o, n - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    out[o] = '\0';
}

static struct ss_result *add_res(struct ss_batch *b, const char *key, const char *cand,
                                 double score)
{
    struct ss_result *r = batch_add_result(b);
    assert_non_null(r);
    r->vendor_key = strdup(key);
    r->candidate_key = strdup(cand);
    r->stream = strdup("scores");
    r->assessment_name = strdup("English Speaking");
    r->assessment_type = strdup("TrueNorth");
    r->status_label = strdup("Completed");
    r->status = "completed";
    struct ss_err err = {0};
    assert_int_equal(ts_parse("2019-07-29T18:01:08.8605745+00:00", 0, &r->started_at, &err), 0);
    assert_int_equal(ts_parse("2019-07-29T18:03:58.5438205+00:00", 0, &r->completed_at, &err), 0);
    assert_int_equal(duration_parse("00:02:49.6832460", &r->duration_us, &err), 0);
    r->has_score = 1;
    r->score = score;
    r->score_scale = "truenorth";
    r->scale_min = 0;
    r->scale_max = 10;
    r->score_pct = score * 10;
    r->cefr.label = strdup("B2-C1");
    r->cefr.low = 4;
    r->cefr.high = 5;
    char raw[512], esc[256];
    json_esc(key, esc, sizeof esc);
    snprintf(raw, sizeof raw, "{\"userAssessmentId\":\"%s\",\"score\":%.2f}", esc, score);
    r->raw_json = strdup(raw);
    return r;
}

static int load(struct lt *x, const struct ss_batch *b, const char *cursor, struct load_counts *c,
                struct ss_err *err)
{
    memset(c, 0, sizeof *c);
    return load_batch(x->l, x->acct, 0, "emmersion.scores", b, cursor, "scales-v1", c, err);
}

static char *xmins(struct lt *x, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(vendor_key || ':' || xmin::text, ',' ORDER BY vendor_key) "
             "FROM %s",
             table);
    return dbt_val(x->t->db, sql, 0, NULL);
}

static void three_results(struct ss_batch *b)
{
    add_cand(b, "u1", " John@Example.COM ");
    add_cand(b, "u2", NULL);
    add_res(b, "r1", "u1", 8.0);
    add_res(b, "r2", "u1", 7.2);
    struct ss_result *r = add_res(b, "r3", "u2", 0.0);
    r->has_score = 0; /* NotStarted: 0.0 is not a score */
    r->status = "not_started";
    r->completed_at = TS_NULL;
    r->duration_us = TS_NULL;
    r->score_pct = NAN;
    free(r->cefr.label);
    r->cefr.label = NULL;
    r->cefr.low = r->cefr.high = 0;
}

static void test_insert_and_values(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    three_results(&b);
    struct load_counts c;
    struct ss_err err = {0};
    if (load(x, &b, "2019-08-01T00:00:00Z", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.cand_inserted, 2);
    assert_int_equal(c.cand_updated + c.cand_unchanged, 0);
    assert_int_equal(c.res_inserted, 3);
    assert_int_equal(c.res_updated + c.res_unchanged, 0);

    assert_sql_eq(db, "john@example.com",
                  "SELECT email_normalized FROM candidates WHERE vendor_key = $1", "u1");
    assert_sql_eq(db, "8|80|truenorth|4|5|B2-C1|completed|Completed|scores|scales-v1",
                  "SELECT concat_ws('|', score, score_pct, score_scale, cefr_low, cefr_high, "
                  "cefr_label, status, vendor_status, stream, scales_version) "
                  "FROM results WHERE vendor_key = $1",
                  "r1");
    assert_sql_eq(db, "2019-07-29 18:01:08.860574+00|2019-07-29 18:03:58.54382+00|00:02:49.683246",
                  "SELECT concat_ws('|', started_at, completed_at, duration) FROM results "
                  "WHERE vendor_key = $1 AND current_setting('TimeZone') IS NOT NULL",
                  "r1");
    assert_sql_eq(db, "7.2", "SELECT score::text FROM results WHERE vendor_key = $1", "r2");
    assert_sql_eq(db, "<NULL>", "SELECT score FROM results WHERE vendor_key = $1", "r3");
    assert_sql_eq(db, "<NULL>", "SELECT cefr_low FROM results WHERE vendor_key = $1", "r3");
    assert_sql_eq(db, "not_started", "SELECT status FROM results WHERE vendor_key = $1", "r3");
    assert_sql_eq(db, "u2",
                  "SELECT c.vendor_key FROM results r JOIN candidates c ON c.id = r.candidate_id "
                  "WHERE r.vendor_key = $1",
                  "r3");
    assert_sql_eq(db, "r1", "SELECT raw->>'userAssessmentId' FROM results WHERE vendor_key = $1",
                  "r1");
    assert_sql_eq(db, "TrueNorth", "SELECT assessment_type FROM assessments WHERE vendor_key = $1",
                  "English Speaking");
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)x->acct);
    assert_sql_eq(db, "2019-08-01T00:00:00Z",
                  "SELECT cursor FROM checkpoints WHERE account_id = $1 AND stream = "
                  "'emmersion.scores'",
                  id);
    batch_free(&b);
}

static void test_reload_unchanged_not_rewritten(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    three_results(&b);
    struct ss_result *r = &b.res[0];
    struct ss_subscore *s = result_add_subscore(r);
    s->name = strdup("grammar");
    s->value = 14;
    s->max = 16;
    struct load_counts c;
    struct ss_err err = {0};
    assert_int_equal(load(x, &b, "c1", &c, &err), 0);
    char *res_before = xmins(x, "results");
    char *cand_before = xmins(x, "candidates");
    char *sub_before =
        dbt_val(db, "SELECT string_agg(xmin::text, ',') FROM result_subscores", 0, NULL);
    char *upd_before = dbt_val(db, "SELECT max(updated_at)::text FROM results", 0, NULL);

    assert_int_equal(load(x, &b, "c2", &c, &err), 0);
    assert_int_equal(c.cand_inserted + c.cand_updated, 0);
    assert_int_equal(c.cand_unchanged, 2);
    assert_int_equal(c.res_inserted + c.res_updated, 0);
    assert_int_equal(c.res_unchanged, 3);

    char *res_after = xmins(x, "results");
    char *cand_after = xmins(x, "candidates");
    char *sub_after =
        dbt_val(db, "SELECT string_agg(xmin::text, ',') FROM result_subscores", 0, NULL);
    char *upd_after = dbt_val(db, "SELECT max(updated_at)::text FROM results", 0, NULL);
    assert_string_equal(res_before, res_after);
    assert_string_equal(cand_before, cand_after);
    assert_string_equal(sub_before, sub_after);
    assert_string_equal(upd_before, upd_after);
    /* The checkpoint still moved. */
    assert_sql_eq(db, "c2", "SELECT cursor FROM checkpoints WHERE stream = $1", "emmersion.scores");
    free(res_before);
    free(res_after);
    free(cand_before);
    free(cand_after);
    free(sub_before);
    free(sub_after);
    free(upd_before);
    free(upd_after);
    batch_free(&b);
}

static void test_changed_score_updates_one_row(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    three_results(&b);
    struct load_counts c;
    struct ss_err err = {0};
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    char *before = xmins(x, "results");
    char *first_seen = dbt_val(db, "SELECT first_seen_at::text FROM results WHERE vendor_key = $1",
                               1, (const char *const[]){"r2"});

    b.res[1].score = 7.5; /* r2 */
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    assert_int_equal(c.res_updated, 1);
    assert_int_equal(c.res_inserted, 0);
    assert_int_equal(c.res_unchanged, 2);
    assert_int_equal(c.cand_unchanged, 2);
    char *after = xmins(x, "results");
    /* r1 and r3 keep their xmin; r2 has a new one. */
    char *b1 = strtok(before, ","), *b2 = strtok(NULL, ","), *b3 = strtok(NULL, ",");
    char *a1 = strtok(after, ","), *a2 = strtok(NULL, ","), *a3 = strtok(NULL, ",");
    assert_string_equal(a1, b1);
    assert_string_not_equal(a2, b2);
    assert_string_equal(a3, b3);
    assert_sql_eq(db, "7.5", "SELECT score::text FROM results WHERE vendor_key = $1", "r2");
    assert_sql_eq(db, first_seen, "SELECT first_seen_at::text FROM results WHERE vendor_key = $1",
                  "r2");
    assert_sql_eq(db, "t", "SELECT updated_at > first_seen_at FROM results WHERE vendor_key = $1",
                  "r2");
    assert_sql_eq(db, "f", "SELECT updated_at > first_seen_at FROM results WHERE vendor_key = $1",
                  "r1");

    /* A scales_version change alone re-normalises (rewrites) every row. */
    struct ss_batch one;
    batch_init(&one);
    add_cand(&one, "u1", " John@Example.COM ");
    add_res(&one, "r1", "u1", 8.0);
    assert_int_equal(
        load_batch(x->l, x->acct, 0, "emmersion.scores", &one, NULL, "scales-v2", &c, &err), 0);
    assert_sql_eq(db, "scales-v2", "SELECT scales_version FROM results WHERE vendor_key = $1",
                  "r1");
    batch_free(&one);
    free(before);
    free(after);
    free(first_seen);
    batch_free(&b);
}

/* A supplementary stream (Emmersion assignments) inserts what is new but
 * never overwrites a result another stream loaded, nor a candidate; it
 * does update its own rows. */
static void test_supplementary_never_overwrites(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", "a@example.com");
    add_res(&b, "r1", "u1", 8.0);
    struct load_counts c;
    struct ss_err err = {0};
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    char *before = xmins(x, "results");
    char *cand_before = xmins(x, "candidates");

    /* The same attempt seen by the assignments stream: no score, other status. */
    struct ss_batch a;
    batch_init(&a);
    a.supplementary = 1;
    struct ss_candidate *cand = add_cand(&a, "u1", "other@example.com");
    (void)cand;
    struct ss_result *r = add_res(&a, "r1", "u1", 0);
    free(r->stream);
    r->stream = strdup("assignments");
    r->has_score = 0;
    r->status = "in_progress";
    struct ss_result *fresh = add_res(&a, "r9", "u1", 0);
    free(fresh->stream);
    fresh->stream = strdup("assignments");
    fresh->has_score = 0;
    fresh->status = "not_started";
    memset(&c, 0, sizeof c); /* load_batch adds to the counts */
    assert_int_equal(
        load_batch(x->l, x->acct, 0, "emmersion.assignments", &a, NULL, "scales-v1", &c, &err), 0);
    assert_int_equal(c.res_inserted, 1);
    assert_int_equal(c.res_updated, 0);
    assert_int_equal(c.cand_updated, 0);
    char *after = xmins(x, "results");
    char *cand_after = xmins(x, "candidates");
    /* r1 and u1 untouched: same xmin, same values. */
    assert_non_null(strstr(after, strtok(before, ",")));
    assert_string_equal(cand_before, cand_after);
    assert_sql_eq(db, "completed", "SELECT status FROM results WHERE vendor_key = $1", "r1");
    assert_sql_eq(db, "8.00", "SELECT score::numeric(4,2)::text FROM results WHERE vendor_key = $1",
                  "r1");
    assert_sql_eq(db, "a@example.com", "SELECT email FROM candidates WHERE vendor_key = $1", "u1");

    /* The assignments stream updates its own row... */
    a.res[1].status = "in_progress";
    memset(&c, 0, sizeof c); /* load_batch adds to the counts */
    assert_int_equal(
        load_batch(x->l, x->acct, 0, "emmersion.assignments", &a, NULL, "scales-v1", &c, &err), 0);
    assert_int_equal(c.res_updated, 1);
    assert_sql_eq(db, "in_progress", "SELECT status FROM results WHERE vendor_key = $1", "r9");
    /* ...and the main stream takes it over when the score arrives. */
    struct ss_batch s2;
    batch_init(&s2);
    add_cand(&s2, "u1", "a@example.com");
    add_res(&s2, "r9", "u1", 6.5);
    assert_int_equal(load(x, &s2, NULL, &c, &err), 0);
    assert_int_equal(c.res_updated, 1);
    assert_sql_eq(db, "scores", "SELECT stream FROM results WHERE vendor_key = $1", "r9");
    assert_sql_eq(db, "completed", "SELECT status FROM results WHERE vendor_key = $1", "r9");
    free(before);
    free(after);
    free(cand_before);
    free(cand_after);
    batch_free(&s2);
    batch_free(&a);
    batch_free(&b);
}

/* The vendor reordering keys of the same JSON is not a change; a change of
 * raw content alone is. */
static void test_raw_key_order_is_not_a_change(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", NULL);
    struct ss_result *r = add_res(&b, "r1", "u1", 8.0);
    free(r->raw_json);
    r->raw_json = strdup("{\"userAssessmentId\":\"r1\",\"score\":8.00,\"extra\":[1,2]}");
    struct load_counts c;
    struct ss_err err = {0};
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    char *before = xmins(x, "results");

    free(r->raw_json);
    r->raw_json = strdup("{\"extra\":[1,2], \"score\":8.00, \"userAssessmentId\":\"r1\"}");
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    assert_int_equal(c.res_unchanged, 1);
    char *same = xmins(x, "results");
    assert_string_equal(before, same);

    free(r->raw_json);
    r->raw_json = strdup("{\"extra\":[1,2,3], \"score\":8.00, \"userAssessmentId\":\"r1\"}");
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    assert_int_equal(c.res_updated, 1);
    assert_sql_eq(db, "3",
                  "SELECT jsonb_array_length(raw->'extra')::text FROM results "
                  "WHERE vendor_key = $1",
                  "r1");
    free(before);
    free(same);
    batch_free(&b);
}

static void test_checkpoint_moves_only_on_commit(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    three_results(&b);
    struct load_counts c;
    struct ss_err err = {0};
    assert_int_equal(load(x, &b, "cursor-1", &c, &err), 0);
    batch_reset(&b);

    /* A new candidate, a changed result and an orphan: all or nothing. */
    add_cand(&b, "u9", "new@example.com");
    add_res(&b, "r1", "u1", 9.9);
    add_res(&b, "r-orphan", "no-such-user", 5.0);
    assert_int_equal(batch_add_quarantine(&b, "bad1", NULL, "broken", "{", &err), 0);
    struct load_counts total = {0};
    total.res_inserted = 42;
    assert_int_equal(
        load_batch(x->l, x->acct, 0, "emmersion.scores", &b, "cursor-2", "scales-v1", &total, &err),
        -1);
    assert_non_null(strstr(err.msg, "no-such-user"));
    assert_non_null(strstr(err.msg, "r-orphan"));
    assert_non_null(strstr(err.msg, "results"));
    assert_int_equal(total.res_inserted, 42); /* counts untouched on failure */
    assert_int_equal(total.cand_inserted, 0);
    assert_sql_eq(db, "cursor-1", "SELECT cursor FROM checkpoints WHERE stream = $1",
                  "emmersion.scores");
    assert_sql_eq(db, "0", "SELECT count(*) FROM candidates WHERE vendor_key = $1", "u9");
    assert_sql_eq(db, "8", "SELECT score::text FROM results WHERE vendor_key = $1", "r1");
    assert_sql_eq(db, "0", "SELECT count(*) FROM quarantine WHERE record_key = $1", "bad1");

    /* The loader and connection are still usable; the fixed batch loads. */
    batch_reset(&b);
    add_cand(&b, "u9", "new@example.com");
    add_res(&b, "r1", "u1", 9.9);
    if (load(x, &b, "cursor-2", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.cand_inserted, 1);
    assert_int_equal(c.res_updated, 1);
    assert_sql_eq(db, "cursor-2", "SELECT cursor FROM checkpoints WHERE stream = $1",
                  "emmersion.scores");
    /* A result may refer to a candidate stored by an earlier batch. */
    batch_reset(&b);
    add_res(&b, "r-later", "u2", 3.0);
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    assert_int_equal(c.res_inserted, 1);
    assert_sql_eq(db, "cursor-2", "SELECT cursor FROM checkpoints WHERE stream = $1",
                  "emmersion.scores");
    batch_free(&b);
}

static void test_quarantine_upsert(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_err err = {0};
    int64_t run_id = 0;
    assert_int_equal(load_run_begin(x->l, x->acct, "emmersion.scores", "sync", "{\"from\":\"x\"}",
                                    &run_id, &err),
                     0);
    struct ss_batch b;
    batch_init(&b);
    assert_int_equal(batch_add_quarantine(&b, "r7", NULL, "not an object", "[1,2", &err), 0);
    assert_int_equal(
        batch_add_quarantine(&b, "r7", "score", "not a number", "{\"score\":\"x\"}", &err), 0);
    struct load_counts c;
    memset(&c, 0, sizeof c);
    assert_int_equal(load_batch(x->l, x->acct, run_id, "emmersion.scores", &b, NULL, "v", &c, &err),
                     0);
    assert_int_equal(c.quarantined, 2);
    assert_sql_eq(db, "2", "SELECT count(*) FROM quarantine WHERE record_key = $1", "r7");
    assert_sql_eq(db, "[1,2", "SELECT raw FROM quarantine WHERE record_key = $1 AND field IS NULL",
                  "r7");

    /* Seen again (with a new reason): same rows, count 2, latest reason. */
    batch_reset(&b);
    assert_int_equal(batch_add_quarantine(&b, "r7", NULL, "still not an object", "[1,2,", &err), 0);
    assert_int_equal(
        batch_add_quarantine(&b, "r7", "score", "not a number", "{\"score\":\"x\"}", &err), 0);
    assert_int_equal(load_batch(x->l, x->acct, run_id, "emmersion.scores", &b, NULL, "v", &c, &err),
                     0);
    assert_sql_eq(db, "2", "SELECT count(*) FROM quarantine WHERE record_key = $1", "r7");
    assert_sql_eq(db, "2|still not an object|[1,2,",
                  "SELECT concat_ws('|', seen_count, reason, raw) FROM quarantine "
                  "WHERE record_key = $1 AND field IS NULL",
                  "r7");
    assert_sql_eq(db, "t",
                  "SELECT last_seen_at > first_seen_at AND run_id IS NOT NULL FROM quarantine "
                  "WHERE record_key = $1 AND field = 'score'",
                  "r7");

    /* When the record later loads, its quarantine rows are resolved. */
    batch_reset(&b);
    add_cand(&b, "u1", NULL);
    add_res(&b, "r7", "u1", 5.0);
    assert_int_equal(load_batch(x->l, x->acct, run_id, "emmersion.scores", &b, NULL, "v", &c, &err),
                     0);
    assert_sql_eq(db, "0",
                  "SELECT count(*) FROM quarantine WHERE record_key = $1 AND resolved_at IS NULL",
                  "r7");

    struct run_stats st = {0};
    st.counts = c;
    st.requests = 12;
    st.status_429 = 3;
    st.windows = 4;
    assert_int_equal(load_run_finish(x->l, run_id, &st, "partial", "1 window failed", &err), 0);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)run_id);
    assert_sql_eq(
        db, "partial|1 window failed|12|3|4|4|1|x",
        "SELECT concat_ws('|', status, error, requests, status_429, windows, quarantined, "
        "results_inserted, args->>'from') FROM sync_runs "
        "WHERE id = $1 AND finished_at IS NOT NULL",
        id);
    assert_int_equal(load_run_finish(x->l, run_id + 1000, &st, "ok", NULL, &err), -1);
    batch_free(&b);
}

static void test_subscores(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", NULL);
    struct ss_result *r = add_res(&b, "r1", "u1", 825);
    r->score_scale = "webcape";
    r->scale_max = 1000;
    r->score_pct = 82.5;
    const char *names[] = {"reading", "grammar", "listening"};
    double vals[] = {1, 14, 0}, maxs[] = {2, 16, NAN};
    for (int i = 0; i < 3; i++) {
        struct ss_subscore *s = result_add_subscore(r);
        s->name = strdup(names[i]);
        s->value = vals[i];
        s->max = maxs[i];
    }
    struct load_counts c;
    struct ss_err err = {0};
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    assert_sql_eq(db, "grammar=14/16,listening=0/,reading=1/2",
                  "SELECT string_agg(name || '=' || value || '/' || coalesce(max::text, ''), ',' "
                  "ORDER BY name) FROM result_subscores WHERE $1::text IS NOT NULL",
                  "x");

    /* Vendor re-sends the record with grammar changed and reading gone. */
    batch_reset(&b);
    add_cand(&b, "u1", NULL);
    r = add_res(&b, "r1", "u1", 825);
    r->score_scale = "webcape";
    r->scale_max = 1000;
    r->score_pct = 82.5;
    free(r->raw_json);
    r->raw_json = strdup("{\"userAssessmentId\":\"r1\",\"subScores\":{\"grammar\":15}}");
    struct ss_subscore *s = result_add_subscore(r);
    s->name = strdup("grammar");
    s->value = 15;
    s->max = 16;
    s = result_add_subscore(r);
    s->name = strdup("listening");
    s->value = 0;
    s->max = NAN;
    char *listening_before = dbt_val(db, "SELECT xmin::text FROM result_subscores WHERE name = $1",
                                     1, (const char *const[]){"listening"});
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    assert_int_equal(c.res_updated, 1);
    assert_sql_eq(db, "grammar=15/16,listening=0/",
                  "SELECT string_agg(name || '=' || value || '/' || coalesce(max::text, ''), ',' "
                  "ORDER BY name) FROM result_subscores WHERE $1::text IS NOT NULL",
                  "x");
    /* The unchanged sub-score row was not rewritten. */
    assert_sql_eq(db, listening_before, "SELECT xmin::text FROM result_subscores WHERE name = $1",
                  "listening");
    free(listening_before);
    batch_free(&b);
}

static void test_hostile_strings_round_trip(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    const char *hostile[] = {
        "O'Brien \"Bob\"",
        "back\\slash \\N \\t \\\\",
        "tab\there\nnew\rline",
        "'); DROP TABLE results; --",
        "Zoë 山田 太郎 🎓 مرحبا",
        "\\N",
        "",
        "comma, semi; pipe| brace{}",
    };
    const size_t n = sizeof hostile / sizeof hostile[0];
    struct ss_batch b;
    batch_init(&b);
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "h%zu", i);
        struct ss_candidate *c = add_cand(&b, key, hostile[i]);
        free(c->given_name);
        c->given_name = strdup(hostile[i]);
        c->family_name = strdup(hostile[i]);
        struct ss_result *r = add_res(&b, hostile[i][0] ? hostile[i] : "empty-key", key, 5);
        r->placement = strdup(hostile[i]);
        r->norm_notes = strdup(hostile[i]);
    }
    /* JSON escapes travel into jsonb intact. */
    free(b.res[0].raw_json);
    b.res[0].raw_json = strdup("{\"s\":\"a\\tb\\\"c\\\\d\\n\",\"u\":\"\\u00e9\\ud83c\\udf93\","
                               "\"q\":\"'); DROP TABLE results; --\"}");
    struct load_counts c;
    struct ss_err err = {0};
    if (load(x, &b, "'); DROP TABLE checkpoints; --", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.res_inserted, (long)n);
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "h%zu", i);
        assert_sql_eq(db, hostile[i], "SELECT given_name FROM candidates WHERE vendor_key = $1",
                      key);
        assert_sql_eq(db, hostile[i], "SELECT family_name FROM candidates WHERE vendor_key = $1",
                      key);
        assert_sql_eq(db, hostile[i], "SELECT email FROM candidates WHERE vendor_key = $1", key);
        assert_sql_eq(db, hostile[i],
                      "SELECT r.placement FROM results r JOIN candidates c "
                      "ON c.id = r.candidate_id WHERE c.vendor_key = $1",
                      key);
        assert_sql_eq(db, hostile[i],
                      "SELECT r.norm_notes FROM results r JOIN candidates c "
                      "ON c.id = r.candidate_id WHERE c.vendor_key = $1",
                      key);
    }
    assert_sql_eq(db, "a\tb\"c\\d\n", "SELECT raw->>'s' FROM results WHERE vendor_key = $1",
                  hostile[0]);
    assert_sql_eq(db, "é🎓", "SELECT raw->>'u' FROM results WHERE vendor_key = $1", hostile[0]);
    assert_sql_eq(db, "'); DROP TABLE checkpoints; --",
                  "SELECT cursor FROM checkpoints WHERE stream = $1", "emmersion.scores");
    assert_sql_eq(db, "t", "SELECT to_regclass($1) IS NOT NULL", "results");
    /* Re-loading hostile data is recognised as unchanged. */
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    assert_int_equal(c.res_unchanged, (long)n);
    assert_int_equal(c.cand_unchanged, (long)n);
    batch_free(&b);
}

static void test_bad_bytes_do_not_fail_batch(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    struct ss_candidate *cd = add_cand(&b, "u1", NULL);
    cd->given_name[0] = (char)0xff; /* invalid UTF-8 */
    struct ss_result *r = add_res(&b, "r1", "u1", 5);
    free(r->raw_json);
    r->raw_json = strdup("{\"a\":\"x\\u0000y\",\"b\":\"\\\\u0000\"}");
    struct ss_err err = {0};
    assert_int_equal(batch_add_quarantine(&b, "q\xc3", NULL, "bad \xe2\x82", "\xff\xfe", &err), 0);
    struct load_counts c;
    if (load(x, &b, NULL, &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_sql_eq(db, "\xEF\xBF\xBDiven", "SELECT given_name FROM candidates WHERE vendor_key = $1",
                  "u1");
    /* \u0000 (refused by jsonb) became U+FFFD; the literal text "\u0000" stayed. */
    assert_sql_eq(db, "x\xEF\xBF\xBDy|\\u0000",
                  "SELECT concat_ws('|', raw->>'a', raw->>'b') FROM results WHERE vendor_key = $1",
                  "r1");
    /* A key that is not UTF-8 keeps its bytes visible (\xHH) and a digest,
     * so two different bad keys never share a quarantine row. */
    assert_sql_eq(db, "\xEF\xBF\xBD\xEF\xBF\xBD",
                  "SELECT raw FROM quarantine WHERE starts_with(record_key, $1)", "q\\xc3/sha256:");
    batch_free(&b);
}

/* Duplicates in one batch are never resolved silently: identical copies
 * load once (counted); a result id whose copies differ (another candidate,
 * other content) is ambiguous: none loads, it is quarantined; a candidate's
 * repeat loads the last record and quarantines the earlier one. */
static void test_duplicates_in_batch(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", "first@example.com");
    add_cand(&b, "u1", "second@example.com");
    add_cand(&b, "u2", NULL);
    add_cand(&b, "u2", NULL); /* identical */
    add_res(&b, "r1", "u1", 1.0);
    add_res(&b, "r1", "u1", 2.0); /* same id, other content */
    add_res(&b, "r2", "u1", 3.0);
    add_res(&b, "r2", "u2", 3.0); /* same id, claimed by another user */
    add_res(&b, "r3", "u2", 4.0);
    add_res(&b, "r3", "u2", 4.0); /* identical */
    add_res(&b, "r4", "u2", 5.0);
    struct load_counts c;
    struct ss_err err = {0};
    if (load(x, &b, "cursor-d", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.cand_inserted, 2);
    assert_int_equal(c.res_inserted, 2);
    assert_int_equal(c.duplicates, 2);
    assert_int_equal(c.quarantined, 3);
    assert_sql_eq(db, "second@example.com", "SELECT email FROM candidates WHERE vendor_key = $1",
                  "u1");
    assert_sql_eq(db, "r3,r4",
                  "SELECT string_agg(vendor_key, ',' ORDER BY vendor_key) FROM results");
    assert_sql_eq(db, "r1:vendor_key|r2:vendor_key|u1:vendor_key",
                  "SELECT string_agg(record_key || ':' || field, '|' ORDER BY record_key) "
                  "FROM quarantine WHERE reason LIKE $1",
                  "%appears%");
    assert_sql_eq(db, "t",
                  "SELECT reason LIKE '%candidates u1, u2%' FROM quarantine "
                  "WHERE record_key = $1",
                  "r2");
    assert_sql_eq(db, "cursor-d", "SELECT cursor FROM checkpoints WHERE stream = $1",
                  "emmersion.scores");
    batch_free(&b);
}

/* The quarantine row of `key`'s record as "field|reason" (first match of
 * a LIKE pattern on record_key). */
static char *quar_of(struct lt *x, const char *like)
{
    const char *p[] = {like};
    return dbt_val(x->t->db,
                   "SELECT coalesce(field, '-') || '|' || reason FROM quarantine "
                   "WHERE record_key LIKE $1 ORDER BY id LIMIT 1",
                   1, p);
}

static void assert_quar(struct lt *x, const char *like, const char *field, const char *reason)
{
    char *v = quar_of(x, like);
    size_t fl = strlen(field);
    if (strncmp(v, field, fl) != 0 || v[fl] != '|' || !strstr(v + fl, reason))
        fail_msg("quarantine of %s: \"%s\", want field %s and a reason with \"%s\"", like, v, field,
                 reason);
    free(v);
}

/* What the schema or its indexes would refuse is quarantined before COPY
 * with field and reason; the good records of the batch load and the
 * checkpoint moves; loading the same batch again changes nothing. */
static void test_refused_before_copy(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    char *long_id = malloc(3001), *long_email = malloc(10241);
    memset(long_id, 'k', 3000);
    long_id[3000] = '\0';
    memset(long_email, 'e', 10240);
    memcpy(long_email + 10230, "@example.c", 10);
    long_email[10240] = '\0';
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", NULL);
    add_res(&b, "good1", "u1", 1);
    add_res(&b, "good2", "u1", 2);
    add_res(&b, "good3", "u1", 3);
    add_res(&b, long_id, "u1", 4);           /* result id over the index limit */
    add_cand(&b, long_id, NULL);             /* user id over the index limit */
    add_res(&b, "of-long-user", long_id, 5); /* ... takes its result with it */
    add_cand(&b, "u-mail", long_email);      /* 10 KB e-mail */
    add_res(&b, "of-long-mail", "u-mail", 6);
    struct ss_result *r = add_res(&b, "year0", "u1", 7);
    r->completed_at = ts_from_civil(0, 1, 1, 0, 0, 0); /* "0000-01-01T00:00:00Z" */
    r = add_res(&b, "year0-utc", "u1", 7);
    r->started_at = ts_from_civil(1, 1, 1, 0, 0, 0) - 14 * 3600 * 1000000LL; /* +14:00 */
    add_res(&b, "bad\xff", "u1", 8); /* invalid UTF-8: would read as U+FFFD */
    add_res(&b, "bad\xfe", "u1", 8);
    add_res(&b, "lone\xEF\xBF\xBD", "u1", 8); /* U+FFFD: a lone surrogate decoded */
    r = add_res(&b, "far-future", "u1", 8);
    r->expires_at = ts_from_civil(10000, 1, 1, 0, 0, 0);
    struct load_counts c;
    struct ss_err err = {0};
    if (load(x, &b, "cursor-v", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.res_inserted, 3);
    assert_int_equal(c.cand_inserted, 1);
    assert_int_equal(c.quarantined, 11);
    assert_sql_eq(db, "good1,good2,good3",
                  "SELECT string_agg(vendor_key, ',' ORDER BY vendor_key) FROM results");
    assert_sql_eq(db, "cursor-v", "SELECT cursor FROM checkpoints WHERE stream = $1",
                  "emmersion.scores");
    assert_quar(x, "kkkkkkkk%/sha256:%", "vendor_key", "3000 bytes long");
    assert_quar(x, "of-long-user", "candidate_key", "3000 bytes long");
    assert_quar(x, "u-mail", "email", "10240 bytes long");
    assert_quar(x, "of-long-mail", "candidate_key", "candidate was quarantined");
    assert_quar(x, "year0", "completed_at", "year 0 UTC");
    assert_quar(x, "year0-utc", "started_at", "year 0 UTC");
    assert_quar(x, "bad\\\\xff/sha256:%", "vendor_key", "not valid UTF-8");
    assert_quar(x, "bad\\\\xfe/sha256:%", "vendor_key", "not valid UTF-8");
    assert_quar(x, "lone%/sha256:%", "vendor_key", "U+FFFD");
    assert_quar(x, "far-future", "expires_at", "year 10000 UTC");
    /* Every refused key has a row of its own: no two keys collapsed (the
     * long result id and the long user id are one key and field). */
    assert_sql_eq(db, "10|10",
                  "SELECT count(*) || '|' || count(DISTINCT record_key) FROM quarantine");
    assert_sql_eq(db, "0", "SELECT count(*) FROM quarantine WHERE length(record_key) > 1024");
    /* The same batch again: nothing new, the quarantine rows seen twice. */
    if (load(x, &b, "cursor-v", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.res_unchanged, 3);
    assert_int_equal(c.res_inserted + c.res_updated, 0);
    assert_sql_eq(db, "10|2", "SELECT count(*) || '|' || min(seen_count) FROM quarantine");
    batch_free(&b);
    free(long_id);
    free(long_email);
}

/* What only the database refuses is found by bisection in savepoints:
 * quarantined with the database's message, the rest loads, the checkpoint
 * moves. A candidate the database refuses takes its results with it. */
static void test_refused_by_database_bisected(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", NULL);
    struct ss_candidate *cd = add_cand(&b, "u-badraw", NULL);
    free(cd->raw_json);
    cd->raw_json = strdup("{\"userId\": oops}"); /* jsonb refuses it */
    char key[32];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "r%02d", i);
        struct ss_result *r = add_res(&b, key, "u1", 5);
        if (i == 7) {
            free(r->raw_json); /* a number numeric cannot hold */
            r->raw_json = strdup("{\"userAssessmentId\":\"r07\",\"score\":1e1000000}");
        }
        if (i == 23)
            r->score_pct = 150; /* the CHECK on score_pct */
    }
    add_res(&b, "of-badraw", "u-badraw", 5);
    struct load_counts c;
    struct ss_err err = {0};
    if (load(x, &b, "cursor-b", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.res_inserted, 38);
    assert_int_equal(c.cand_inserted, 1);
    assert_int_equal(c.quarantined, 4);
    assert_sql_eq(db, "38", "SELECT count(*) FROM results");
    assert_sql_eq(db, "cursor-b", "SELECT cursor FROM checkpoints WHERE stream = $1",
                  "emmersion.scores");
    assert_quar(x, "r07", "-", "the database refused it: ");
    assert_quar(x, "r07", "-", "[22003]");
    assert_quar(x, "r23", "-", "score_pct");
    assert_quar(x, "u-badraw", "-", "the database refused it: ");
    assert_quar(x, "of-badraw", "candidate_key", "candidate was quarantined");
    assert_sql_eq(db, "0", "SELECT count(*) FROM results WHERE vendor_key IN ('r07', 'r23')");
    /* Sub-scores, raw JSON and the account lock survived the savepoints. */
    assert_sql_eq(db, "38", "SELECT count(*) FROM results WHERE raw ? 'score'");
    /* A second load of the fixed records loads them and resolves their rows. */
    batch_reset(&b);
    add_cand(&b, "u1", NULL);
    add_res(&b, "r07", "u1", 5);
    add_res(&b, "r23", "u1", 5);
    if (load(x, &b, "cursor-c", &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(c.res_inserted, 2);
    assert_sql_eq(db, "2", "SELECT count(*) FROM quarantine WHERE resolved_at IS NOT NULL");
    batch_free(&b);
}

/* Lone surrogate escapes, which jsonb refuses, become \ufffd in raw like
 * \u0000; a valid pair stays. */
static void test_raw_surrogates(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", NULL);
    struct ss_result *r = add_res(&b, "r1", "u1", 5);
    free(r->raw_json);
    r->raw_json = strdup("{\"a\":\"x\\ud800y\",\"b\":\"\\udc00\",\"c\":\"\\ud83c\\udf93\","
                         "\"d\":\"\\ud800\\u0041\"}");
    struct load_counts c;
    struct ss_err err = {0};
    if (load(x, &b, NULL, &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_sql_eq(db,
                  "x\xEF\xBF\xBDy|\xEF\xBF\xBD|\xF0\x9F\x8E\x93|\xEF\xBF\xBD"
                  "A",
                  "SELECT concat_ws('|', raw->>'a', raw->>'b', raw->>'c', raw->>'d') "
                  "FROM results WHERE vendor_key = $1",
                  "r1");
    batch_free(&b);
}

/* A registered secret never reaches a table, whatever text carries it. */
static void test_secret_never_stored(void **state)
{
    struct lt *x = *state;
    struct db *db = x->t->db;
    const char *key = "sk-live-0123456789abcdef";
    redact_add(key);
    struct ss_batch b;
    batch_init(&b);
    struct ss_candidate *cd = add_cand(&b, "u1", NULL);
    free(cd->given_name);
    cd->given_name = strdup("Eve sk-live-0123456789abcdef");
    struct ss_result *r = add_res(&b, "r1", "u1", 5);
    free(r->raw_json);
    r->raw_json = strdup("{\"note\":\"Bearer sk-live-0123456789abcdef\"}");
    struct ss_err err = {0};
    assert_int_equal(batch_add_quarantine(&b, "q1", "x",
                                          "vendor said: key sk-live-0123456789abcdef "
                                          "refused",
                                          "{\"k\":\"sk-live-0123456789abcdef\"}", &err),
                     0);
    struct load_counts c;
    if (load(x, &b, NULL, &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_sql_eq(db, "Eve ***", "SELECT given_name FROM candidates WHERE vendor_key = $1", "u1");
    assert_sql_eq(db, "0",
                  "SELECT (SELECT count(*) FROM candidates c WHERE c::text LIKE $1) + "
                  "(SELECT count(*) FROM results r WHERE r::text LIKE $1) + "
                  "(SELECT count(*) FROM quarantine q WHERE q::text LIKE $1)",
                  "%sk-live-0123456789abcdef%");
    assert_sql_eq(db, "1", "SELECT count(*) FROM quarantine WHERE reason LIKE $1",
                  "%key *** refused");
    redact_reset();
    batch_free(&b);
}

static void test_accounts_and_checkpoints(void **state)
{
    struct lt *x = *state;
    struct ss_err err = {0};
    int64_t again = 0, other = 0;
    assert_int_equal(load_account(x->l, "emmersion", "acme", &again, &err), 0);
    assert_int_equal(again, x->acct);
    assert_int_equal(load_account(x->l, "truenorth", "acme", &other, &err), 0);
    assert_true(other != x->acct);
    char *cursor = (char *)"sentinel";
    assert_int_equal(
        load_checkpoint_get(loader_db(x->l), x->acct, "emmersion.scores", &cursor, &err), 0);
    assert_null(cursor);
    struct ss_batch b;
    batch_init(&b);
    struct load_counts c;
    assert_int_equal(load(x, &b, "2020-01-01T00:00:00Z", &c, &err), 0); /* empty batch */
    assert_int_equal(
        load_checkpoint_get(loader_db(x->l), x->acct, "emmersion.scores", &cursor, &err), 0);
    assert_non_null(cursor);
    assert_string_equal(cursor, "2020-01-01T00:00:00Z");
    free(cursor);
    /* Checkpoints are per account. */
    assert_int_equal(load_checkpoint_get(loader_db(x->l), other, "emmersion.scores", &cursor, &err),
                     0);
    assert_null(cursor);
    int64_t run = 0;
    assert_int_equal(load_run_begin(x->l, x->acct, "s", "bogus-mode", NULL, &run, &err), -1);
    assert_int_equal(err.code, SS_EDB);
    batch_free(&b);
}

/* runs.h: request counts, recent requests, the account lock, and the
 * results a sync re-reads (by a whitelisted column only). */
static void test_run_bookkeeping(void **state)
{
    struct lt *x = *state;
    struct ss_err err = {0};
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "u1", NULL);
    add_res(&b, "p1", "u1", 1.0)->status = "score_pending";
    add_res(&b, "p2", "u1", 1.0)->status = "needs_review";
    add_res(&b, "c1", "u1", 1.0);
    struct load_counts c;
    assert_int_equal(load(x, &b, NULL, &c, &err), 0);
    static const char *const pending[] = {"score_pending", "needs_review", NULL};
    static const char *const quoted[] = {"needs_review", "a\"b\\c", NULL};
    int64_t *t = NULL;
    size_t n = 0;
    assert_int_equal(
        load_recheck_times(x->l, x->acct, "scores", "completed_at", pending, 36500, &t, &n, &err),
        0);
    assert_int_equal(n, 2);
    assert_int_equal(t[0], b.res[0].completed_at);
    free(t);
    assert_int_equal(
        load_recheck_times(x->l, x->acct, "scores", "started_at", quoted, 36500, &t, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], b.res[1].started_at);
    free(t);
    assert_int_equal(
        load_recheck_times(x->l, x->acct, "scores", "completed_at", pending, 0, &t, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(t);
    assert_int_equal(load_recheck_times(x->l, x->acct, "scores", "id; DROP TABLE results", pending,
                                        36500, &t, &n, &err),
                     -1);
    assert_non_null(strstr(err.msg, "cannot re-read"));

    batch_free(&b);
}

/* Advisory locks held in this database. */
#define HELD_LOCKS                                                                                 \
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = "        \
    "(SELECT oid FROM pg_database WHERE datname = current_database())"

/* The stream lock is per (account, stream, mode): a backfill and a sync of one
 * stream, or two streams, hold theirs at once; the same triple from another
 * session is refused (tried without waiting, from the keys pg_locks shows). */
static void test_stream_lock(void **state)
{
    struct lt *x = *state;
    struct ss_err err = {0};
    struct db *db2 = NULL;
    assert_int_equal(db_clone(x->t->db, &db2, &err), 0);
    struct loader *l2 = loader_new(db2, &err);
    assert_non_null(l2);

    assert_int_equal(load_stream_lock(x->l, x->acct, "scores", "sync", &err), 0);
    assert_int_equal(dbt_long(x->t->db, HELD_LOCKS), 1);
    /* The key the sync holds, taken from pg_locks, tried from another session. */
    char *held = dbt_val(x->t->db,
                         "SELECT classid || ',' || objid FROM pg_locks WHERE locktype = 'advisory' "
                         "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = "
                         "current_database())",
                         0, NULL);
    const char *key[] = {held};
    char *got = dbt_val(db2,
                        "SELECT pg_try_advisory_lock(split_part($1, ',', 1)::bigint::bit(32)::int, "
                        "split_part($1, ',', 2)::bigint::bit(32)::int)",
                        1, key);
    assert_string_equal(got, "f");
    free(got);
    free(held);

    /* Side by side: the backfill of the same stream, another stream's sync. */
    assert_int_equal(load_stream_lock(l2, x->acct, "scores", "backfill", &err), 0);
    assert_int_equal(load_stream_lock(l2, x->acct, "assignments", "sync", &err), 0);
    assert_int_equal(load_stream_lock(l2, x->acct + 1, "scores", "sync", &err), 0);
    assert_int_equal(dbt_long(x->t->db, HELD_LOCKS), 4);

    /* The lock wait is session state only while locking: back to none. */
    assert_sql_eq(x->t->db, "0", "SHOW lock_timeout");
    assert_int_equal(load_stream_unlock(x->l, x->acct, "scores", "sync", &err), 0);
    assert_int_equal(load_stream_unlock(l2, x->acct, "scores", "backfill", &err), 0);
    assert_int_equal(dbt_long(x->t->db, HELD_LOCKS), 2);
    loader_free(l2);
    db_close(db2); /* a closed session lets go of its locks (its backend exits soon after) */
    long left = 2;
    for (int i = 0; i < 200 && (left = dbt_long(x->t->db, HELD_LOCKS)) > 0; i++)
        usleep(10000);
    assert_int_equal(left, 0);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_and_values, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_stream_lock, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_reload_unchanged_not_rewritten, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_changed_score_updates_one_row, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_supplementary_never_overwrites, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_raw_key_order_is_not_a_change, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_moves_only_on_commit, lt_setup,
                                        lt_teardown),
        cmocka_unit_test_setup_teardown(test_quarantine_upsert, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_subscores, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_strings_round_trip, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_bad_bytes_do_not_fail_batch, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_in_batch, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_refused_before_copy, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_refused_by_database_bisected, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_raw_surrogates, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_secret_never_stored, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_accounts_and_checkpoints, lt_setup, lt_teardown),
        cmocka_unit_test_setup_teardown(test_run_bookkeeping, lt_setup, lt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
