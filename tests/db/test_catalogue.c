/* test_catalogue: a vendor's test catalogue (assessments), grouped overall
 * results (result_groups + members) and the re-read keys, loaded into a
 * real, freshly migrated database. */
#include "dbtest.c"

#include <math.h>
#include <time.h>

#include "core/record.h"
#include "core/timeparse.h"
#include "load/load.h"
#include "load/migrate.h"

struct ct {
    struct dbt *t; /* first member: dbt_teardown frees through it */
    struct loader *l;
    int64_t acct;
};

static int ct_setup(void **state)
{
    if (dbt_setup(state) != 0)
        return -1;
    struct dbt *t = *state;
    struct ct *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->t = t;
    x->l = dbt_migrated_loader(t->db, "cepa", "acme", &x->acct);
    *state = x;
    return 0;
}

static int ct_teardown(void **state)
{
    struct ct *x = *state;
    loader_free(x->l);
    void *inner = x->t;
    free(x);
    return dbt_teardown(&inner);
}

/* The first column of the first row of sql, as text ("" for NULL). */
static char *q1(struct ct *x, const char *sql)
{
    PGresult *res = NULL;
    struct ss_err err = {0};
    if (db_exec(x->t->db, sql, 0, NULL, PGRES_TUPLES_OK, &res, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
    if (PQntuples(res) < 1)
        fail_msg("%s: no rows", sql);
    char *v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static void assert_q(struct ct *x, const char *sql, const char *want)
{
    char *v = q1(x, sql);
    if (strcmp(v, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", sql, v, want);
    free(v);
}

static void load(struct ct *x, struct ss_batch *b, struct load_counts *c)
{
    struct ss_err err = {0};
    if (load_batch(x->l, x->acct, 0, "candidates", b, NULL, "v1", c, &err) != 0)
        fail_msg("load_batch: %s", err.msg);
}

static void add_test(struct ss_batch *b, const char *name, const char *raw)
{
    struct ss_assessment *a = batch_add_assessment(b);
    assert_non_null(a);
    a->vendor_key = strdup(name);
    a->name = strdup(name);
    a->raw_json = strdup(raw);
}

static void test_catalogue_upsert(void **state)
{
    struct ct *x = *state;
    struct ss_batch b;
    batch_init(&b);
    add_test(&b, "Oral Proficiency Assessment", "{\"id\":3,\"available_token\":1000}");
    add_test(&b, "Writing Communication Assessment", "{\"id\":4}");
    load(x, &b, NULL);
    assert_q(x, "SELECT count(*) FROM assessments", "2");
    assert_q(x,
             "SELECT raw->>'id' FROM assessments WHERE vendor_key = 'Oral Proficiency "
             "Assessment'",
             "3");
    char *before = q1(x, "SELECT xmin::text FROM assessments WHERE raw->>'id' = '4'");
    char *before3 = q1(x, "SELECT xmin::text FROM assessments WHERE raw->>'id' = '3'");

    /* The same catalogue again rewrites nothing; a changed entry is updated. */
    batch_reset(&b);
    add_test(&b, "Oral Proficiency Assessment", "{\"id\":3,\"available_token\":999}");
    add_test(&b, "Writing Communication Assessment", "{\"id\":4}");
    load(x, &b, NULL);
    char *after = q1(x, "SELECT xmin::text FROM assessments WHERE raw->>'id' = '4'");
    char *after3 = q1(x, "SELECT xmin::text FROM assessments WHERE raw->>'id' = '3'");
    assert_string_equal(before, after);
    assert_string_not_equal(before3, after3);
    assert_q(x, "SELECT raw->>'available_token' FROM assessments WHERE raw->>'id' = '3'", "999");
    free(before);
    free(after);
    free(before3);
    free(after3);

    /* A test known first from results keeps its row when the catalogue names it. */
    batch_reset(&b);
    add_test(&b, "Reading & Listening Comprehension Assessment", "{\"id\":1}");
    b.assess[0].assessment_type = strdup("cepa");
    load(x, &b, NULL);
    assert_q(x, "SELECT count(*) FROM assessments", "3");
    assert_q(x, "SELECT assessment_type FROM assessments WHERE raw->>'id' = '1'", "cepa");
    batch_free(&b);
}

static void add_result(struct ss_batch *b, const char *cand, const char *token, const char *status)
{
    struct ss_result *r = batch_add_result(b);
    assert_non_null(r);
    r->vendor_key = strdup(token);
    r->candidate_key = strdup(cand);
    r->stream = strdup("candidates");
    r->status = status;
    r->status_label = strdup(status);
    r->assessment_name = strdup("Speaking");
    char raw[128];
    snprintf(raw, sizeof raw, "{\"token\":\"%s\"}", token);
    r->raw_json = strdup(raw);
}

static void add_cand(struct ss_batch *b, const char *key)
{
    struct ss_candidate *c = batch_add_candidate(b);
    assert_non_null(c);
    c->vendor_key = strdup(key);
    c->email = strdup(key);
    c->raw_json = strdup("{}");
}

static struct ss_group *add_group(struct ss_batch *b, const char *cand, const char *id,
                                  double score, const char *const *members)
{
    struct ss_group *g = batch_add_group(b);
    assert_non_null(g);
    g->vendor_key = strdup(id);
    g->candidate_key = strdup(cand);
    g->has_score = 1;
    g->score = score;
    g->cefr.label = strdup("B2+");
    g->cefr.low = g->cefr.high = 9;
    g->level_name = strdup("Advance Low");
    struct ss_err err = {0};
    if (ts_parse("2022-08-23 16:06:08", 180, &g->assigned_at, &err) != 0)
        fail_msg("%s", err.msg);
    for (const char *const *m = members; *m; m++)
        assert_int_equal(group_add_member(g, *m), 0);
    char raw[128];
    snprintf(raw, sizeof raw, "{\"id\":\"%s\",\"score\":%g}", id, score);
    g->raw_json = strdup(raw);
    return g;
}

static void test_groups(void **state)
{
    struct ct *x = *state;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "john@example.com");
    add_result(&b, "john@example.com", "123456", "completed");
    add_result(&b, "john@example.com", "123457", "completed");
    static const char *const m1[] = {"123456", "123457", "123458", NULL};
    static const char *const m2[] = {"123459", NULL};
    add_group(&b, "john@example.com", "1234", 56.3, m1);
    add_group(&b, "john@example.com", "1235", 35.7, m2);
    struct load_counts c = {0};
    load(x, &b, &c);
    assert_int_equal(c.groups_changed, 2);
    assert_q(x, "SELECT count(*) FROM result_groups", "2");
    assert_q(x, "SELECT score::text FROM result_groups WHERE vendor_key = '1234'", "56.3");
    assert_q(x, "SELECT cefr_low FROM result_groups WHERE vendor_key = '1234'", "9");
    assert_q(x,
             "SELECT assigned_at = '2022-08-23 13:06:08Z' FROM result_groups "
             "WHERE vendor_key = '1234'",
             "t");
    assert_q(x,
             "SELECT string_agg(result_vendor_key, ',' ORDER BY position) FROM bi_result_groups "
             "WHERE group_key = '1234'",
             "123456,123457,123458");
    /* The view joins the stored members; 123458 is not stored yet. */
    assert_q(x, "SELECT count(result_id) FROM bi_result_groups WHERE group_key = '1234'", "2");
    char *before = q1(x, "SELECT xmin::text FROM result_groups WHERE vendor_key = '1234'");

    /* Unchanged: nothing rewritten. Changed members and score: updated. */
    batch_reset(&b);
    add_group(&b, "john@example.com", "1234", 56.3, m1);
    static const char *const m3[] = {"123459", "123460", NULL};
    add_group(&b, "john@example.com", "1235", 36.0, m3);
    memset(&c, 0, sizeof c);
    load(x, &b, &c);
    assert_int_equal(c.groups_changed, 1);
    char *after = q1(x, "SELECT xmin::text FROM result_groups WHERE vendor_key = '1234'");
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_q(x, "SELECT score::text FROM result_groups WHERE vendor_key = '1235'", "36");
    assert_q(x,
             "SELECT string_agg(result_vendor_key, ',' ORDER BY position) FROM "
             "result_group_members m JOIN result_groups g ON g.id = m.group_id "
             "WHERE g.vendor_key = '1235'",
             "123459,123460");

    /* The same overall id under another candidate is another group. */
    batch_reset(&b);
    add_cand(&b, "paul@example.com");
    add_group(&b, "paul@example.com", "1234", 40, m2);
    load(x, &b, NULL);
    assert_q(x, "SELECT count(*) FROM result_groups WHERE vendor_key = '1234'", "2");

    /* A group whose candidate is unknown is a parser bug: nothing loads. */
    batch_reset(&b);
    add_group(&b, "nobody@example.com", "9", 1, m2);
    struct ss_err err = {0};
    assert_int_not_equal(load_batch(x->l, x->acct, 0, "candidates", &b, NULL, "v1", NULL, &err), 0);
    assert_non_null(strstr(err.msg, "candidate"));
    assert_q(x, "SELECT count(*) FROM result_groups", "3");
    batch_free(&b);
}

static void test_result_keys(void **state)
{
    struct ct *x = *state;
    struct ss_batch b;
    batch_init(&b);
    add_cand(&b, "a@example.com");
    add_result(&b, "a@example.com", "t-old-done", "completed");
    add_result(&b, "a@example.com", "t-new-done", "completed");
    add_result(&b, "a@example.com", "t-started", "in_progress");
    add_result(&b, "a@example.com", "t-ancient", "not_started");
    int64_t now = time(NULL) * 1000000LL;
    b.res[0].completed_at = now - 5 * 86400 * 1000000LL;
    b.res[1].completed_at = now - 1 * 86400 * 1000000LL;
    b.res[2].started_at = now - 3 * 86400 * 1000000LL;
    b.res[3].assigned_at = now - 90 * 86400 * 1000000LL;
    load(x, &b, NULL);
    batch_free(&b);

    static const char *const st[] = {"not_started", "in_progress", "completed", NULL};
    char **keys = NULL, **cands = NULL;
    size_t n = 0;
    struct ss_err err = {0};
    if (load_result_keys(x->l, x->acct, "candidates", st, 30, 10, &keys, &cands, &n, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(n, 3);
    assert_string_equal(keys[0], "t-started"); /* unfinished first */
    assert_string_equal(keys[1], "t-new-done");
    assert_string_equal(keys[2], "t-old-done");
    assert_string_equal(cands[0], "a@example.com");
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
        free(cands[i]);
    }
    free(keys);
    free(cands);
    /* Capped, and nothing for another stream. */
    if (load_result_keys(x->l, x->acct, "candidates", st, 30, 1, &keys, &cands, &n, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(n, 1);
    free(keys[0]);
    free(keys);
    free(cands[0]);
    free(cands);
    if (load_result_keys(x->l, x->acct, "other", st, 30, 10, &keys, &cands, &n, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(n, 0);
    assert_null(keys);
    assert_null(cands);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_catalogue_upsert, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_groups, ct_setup, ct_teardown),
        cmocka_unit_test_setup_teardown(test_result_keys, ct_setup, ct_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
