/* test_refdata: config/scales.yaml -> ref_* tables in a real, freshly
 * migrated database. The rows are checked against the normaliser's own
 * lookups (norm_cefr, norm_status, ...), not against scales_export(). */
#include "dbtest.c"

#include <math.h>

#include "core/log.h"
#include "load/migrate.h"
#include "load/refdata.h"
#include "normalize/norm.h"

static const char *const tables[] = {
    "ref_cefr_levels", "ref_actfl_levels", "ref_actfl_cefr", "ref_test_cefr", "ref_cepa_levels",
    "ref_status_map",  "ref_score_scales", "ref_pass_marks", "ref_sources",
};
#define N_TABLES (sizeof tables / sizeof tables[0])

struct rt {
    struct dbt *t; /* first member: dbt_teardown frees through it */
    char *yaml;    /* config/scales.yaml as text */
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1))) {
            if (fread(s, 1, (size_t)n, f) != (size_t)n) {
                free(s);
                s = NULL;
            } else {
                s[n] = '\0';
            }
        }
    }
    fclose(f);
    return s;
}

static int rt_setup(void **state)
{
    if (dbt_setup(state) != 0)
        return -1;
    struct rt *x = calloc(1, sizeof *x);
    assert_non_null(x);
    x->t = *state;
    char path[600];
    snprintf(path, sizeof path, "%s/sql", dbt_source_dir());
    struct ss_err err = {0};
    if (migrate_run(x->t->db, path, NULL, &err) != 0)
        fail_msg("migrate: %s", err.msg);
    snprintf(path, sizeof path, "%s/config/scales.yaml", dbt_source_dir());
    x->yaml = read_file(path);
    assert_non_null(x->yaml);
    *state = x;
    return 0;
}

static int rt_teardown(void **state)
{
    struct rt *x = *state;
    void *inner = x->t;
    free(x->yaml);
    free(x);
    return dbt_teardown(&inner);
}

static struct scales *load_yaml(const char *yaml)
{
    struct scales *sc = NULL;
    struct ss_err err = {0};
    if (scales_load_string(yaml, "test-scales.yaml", &sc, &err) != 0)
        fail_msg("scales: %s", err.msg);
    return sc;
}

/* The shipped file with one replacement (which must occur). */
static char *edited(const char *yaml, const char *from, const char *to)
{
    const char *p = strstr(yaml, from);
    if (!p)
        fail_msg("config/scales.yaml has no %s to edit", from);
    size_t n = strlen(yaml) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(p - yaml), yaml, to, p + strlen(from));
    return out;
}

/* Rows scales_export() hands over per table. */
struct export_count {
    long n[N_TABLES];
    long other;
};

static int count_row(void *arg, const char *table, const char *const *values, int n)
{
    struct export_count *c = arg;
    (void)values;
    (void)n;
    for (size_t i = 0; i < N_TABLES; i++)
        if (strcmp(table, tables[i]) == 0) {
            c->n[i]++;
            return 0;
        }
    c->other++;
    return 0;
}

static long table_rows(struct db *db, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return dbt_long(db, sql);
}

/* A digest of every ref_* row version (xmin) and the version row. */
static char *snapshot(struct db *db)
{
    return dbt_val(
        db,
        "SELECT md5(string_agg(x, ',' ORDER BY x)) FROM ("
        "SELECT 'c' || xmin || code AS x FROM ref_cefr_levels UNION ALL "
        "SELECT 'a' || xmin || label FROM ref_actfl_levels UNION ALL "
        "SELECT 's' || xmin || vendor || vendor_status FROM ref_status_map UNION ALL "
        "SELECT 'k' || xmin || vendor || assessment_type FROM ref_score_scales UNION ALL "
        "SELECT 'p' || xmin || coalesce(level_name, '') FROM ref_cepa_levels UNION ALL "
        "SELECT 'v' || xmin || version || loaded_at FROM ref_scales_version) q",
        0, NULL);
}

static void test_fills_every_table(void **state)
{
    struct rt *x = *state;
    struct db *db = x->t->db;
    struct scales *sc = load_yaml(x->yaml);
    struct ss_err err = {0};
    int rc = refdata_load(db, sc, &err);
    if (rc < 0)
        fail_msg("refdata_load: %s", err.msg);
    assert_int_equal(rc, 1);

    /* Every exported row is in its table, and the core tables are not empty. */
    struct export_count ec;
    memset(&ec, 0, sizeof ec);
    assert_int_equal(scales_export(sc, count_row, &ec), 0);
    assert_int_equal(ec.other, 0);
    for (size_t i = 0; i < N_TABLES; i++) {
        long got = table_rows(db, tables[i]);
        if (got != ec.n[i])
            fail_msg("%s: %ld rows, scales_export gave %ld", tables[i], got, ec.n[i]);
    }
    assert_true(table_rows(db, "ref_cefr_levels") >= 12);
    assert_true(table_rows(db, "ref_actfl_levels") >= 11);
    assert_true(table_rows(db, "ref_status_map") > 0);
    assert_true(table_rows(db, "ref_score_scales") > 0);
    assert_true(table_rows(db, "ref_cepa_levels") > 0);
    const char *ver[] = {scales_version(sc)};
    assert_sql_eq(db, "1", "SELECT count(*) FROM ref_scales_version WHERE version = $1", ver[0]);

    /* The values agree with the normaliser's own lookups. */
    PGresult *r = NULL;
    assert_int_equal(
        db_exec(db, "SELECT code, rank FROM ref_cefr_levels", 0, NULL, PGRES_TUPLES_OK, &r, &err),
        0);
    for (int i = 0; i < PQntuples(r); i++) {
        int lo = 0, hi = 0;
        assert_int_equal(norm_cefr(sc, PQgetvalue(r, i, 0), &lo, &hi), 0);
        assert_int_equal(lo, atoi(PQgetvalue(r, i, 1)));
        assert_int_equal(hi, lo);
        assert_string_equal(norm_cefr_code(sc, lo), PQgetvalue(r, i, 0));
    }
    PQclear(r);
    assert_sql_eq(db, "C2", "SELECT code FROM ref_cefr_levels ORDER BY rank DESC LIMIT 1");
    assert_sql_eq(db, "Pre A1", "SELECT code FROM ref_cefr_levels ORDER BY rank LIMIT 1");

    assert_int_equal(
        db_exec(db, "SELECT label, rank FROM ref_actfl_levels", 0, NULL, PGRES_TUPLES_OK, &r, &err),
        0);
    for (int i = 0; i < PQntuples(r); i++) {
        int lo = 0, hi = 0;
        assert_int_equal(norm_actfl(sc, PQgetvalue(r, i, 0), &lo, &hi), 0);
        assert_int_equal(lo, atoi(PQgetvalue(r, i, 1)));
    }
    PQclear(r);

    assert_int_equal(db_exec(db, "SELECT vendor, vendor_status, status FROM ref_status_map", 0,
                             NULL, PGRES_TUPLES_OK, &r, &err),
                     0);
    for (int i = 0; i < PQntuples(r); i++)
        assert_string_equal(norm_status(sc, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)),
                            PQgetvalue(r, i, 2));
    PQclear(r);
    assert_sql_eq(db, "completed",
                  "SELECT status FROM ref_status_map WHERE vendor = 'emmersion' "
                  "AND lower(vendor_status) = 'completed'");

    assert_int_equal(db_exec(db,
                             "SELECT vendor, assessment_type, scale, min, max, linear "
                             "FROM ref_score_scales",
                             0, NULL, PGRES_TUPLES_OK, &r, &err),
                     0);
    for (int i = 0; i < PQntuples(r); i++) {
        struct score_scale ss;
        assert_int_equal(norm_score_scale(sc, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), &ss), 0);
        assert_string_equal(ss.name, PQgetvalue(r, i, 2));
        assert_true(ss.min == strtod(PQgetvalue(r, i, 3), NULL));
        assert_true(ss.max == strtod(PQgetvalue(r, i, 4), NULL));
        assert_string_equal(ss.linear ? "t" : "f", PQgetvalue(r, i, 5));
    }
    PQclear(r);
    scales_free(sc);
}

static void test_idempotent(void **state)
{
    struct rt *x = *state;
    struct db *db = x->t->db;
    struct scales *sc = load_yaml(x->yaml);
    struct ss_err err = {0};
    assert_int_equal(refdata_load(db, sc, &err), 1);
    char *before = snapshot(db);
    assert_int_equal(refdata_load(db, sc, &err), 0);
    assert_int_equal(refdata_load(db, sc, &err), 0);
    char *after = snapshot(db);
    assert_string_equal(before, after); /* not one row rewritten */
    assert_int_equal(dbt_long(db, "SELECT count(*) FROM ref_scales_version"), 1);
    /* Not left inside a transaction. */
    assert_int_equal(PQtransactionStatus(db_conn(db)), PQTRANS_IDLE);
    free(before);
    free(after);
    scales_free(sc);
}

static void test_changed_scales_change_rows(void **state)
{
    struct rt *x = *state;
    struct db *db = x->t->db;
    struct scales *sc1 = load_yaml(x->yaml);
    char *yaml2 = edited(x->yaml, "\"Mastery\"", "\"Mastery (edited)\"");
    char *yaml3 = edited(x->yaml, "NeedsReview: needs_review", "NeedsReview: completed");
    struct scales *sc2 = load_yaml(yaml2), *sc3 = load_yaml(yaml3);
    assert_string_not_equal(scales_version(sc1), scales_version(sc2));
    struct ss_err err = {0};
    assert_int_equal(refdata_load(db, sc1, &err), 1);
    long n_cefr = table_rows(db, "ref_cefr_levels");
    assert_sql_eq(db, "Mastery", "SELECT label FROM ref_cefr_levels WHERE code = 'C2'");

    assert_int_equal(refdata_load(db, sc2, &err), 1);
    assert_sql_eq(db, "Mastery (edited)", "SELECT label FROM ref_cefr_levels WHERE code = 'C2'");
    assert_int_equal(table_rows(db, "ref_cefr_levels"), n_cefr); /* replaced, not appended */
    const char *v2[] = {scales_version(sc2)};
    assert_sql_eq(db, v2[0], "SELECT string_agg(version, ',') FROM ref_scales_version");

    /* One vendor's NeedsReview now maps to completed: one row moves. */
    const char *counts = "SELECT count(*) FILTER (WHERE status = 'needs_review') || '/' || "
                         "count(*) FILTER (WHERE status = 'completed') || '/' || count(*) "
                         "FROM ref_status_map";
    char *before = dbt_val(db, counts, 0, NULL);
    long nr = 0, co = 0, all = 0;
    assert_int_equal(sscanf(before, "%ld/%ld/%ld", &nr, &co, &all), 3);
    assert_int_equal(refdata_load(db, sc3, &err), 1);
    char want[64];
    snprintf(want, sizeof want, "%ld/%ld/%ld", nr - 1, co + 1, all);
    assert_sql_eq(db, want, counts);
    free(before);
    assert_sql_eq(db, "Mastery", "SELECT label FROM ref_cefr_levels WHERE code = 'C2'");
    free(yaml2);
    free(yaml3);
    scales_free(sc1);
    scales_free(sc2);
    scales_free(sc3);
}

static void test_failure_keeps_old_tables(void **state)
{
    struct rt *x = *state;
    struct db *db = x->t->db;
    struct scales *sc1 = load_yaml(x->yaml);
    char *yaml2 = edited(x->yaml, "\"Mastery\"", "\"Mastery (edited)\"");
    struct scales *sc2 = load_yaml(yaml2);
    struct ss_err err = {0};
    assert_int_equal(refdata_load(db, sc1, &err), 1);
    char *before = snapshot(db);
    /* A constraint the new rows break: the COPY fails after the DELETEs. */
    dbt_exec(db, "ALTER TABLE ref_cefr_levels ADD CONSTRAINT t_refuse "
                 "CHECK (label <> 'Mastery (edited)') NOT VALID");
    assert_int_equal(refdata_load(db, sc2, &err), -1);
    assert_non_null(strstr(err.msg, "ref_cefr_levels"));
    assert_int_equal(PQtransactionStatus(db_conn(db)), PQTRANS_IDLE);
    char *after = snapshot(db);
    assert_string_equal(before, after);
    assert_sql_eq(db, "Mastery", "SELECT label FROM ref_cefr_levels WHERE code = 'C2'");
    free(before);
    free(after);
    free(yaml2);
    scales_free(sc1);
    scales_free(sc2);
}

int main(void)
{
    log_set_level(LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fills_every_table, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_idempotent, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_changed_scales_change_rows, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_failure_keeps_old_tables, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
