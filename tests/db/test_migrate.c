/* test_migrate: ordered, checksummed, locked migrations against a real server. */
#include "dbtest.c"

#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "load/migrate.h"

/* A private migrations directory under /tmp, removed by rm_dir(). */
static void make_dir(char *out, size_t n)
{
    snprintf(out, n, "/tmp/ss-migtest-XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Copies the project's sql/NNN_*.sql files into dir. */
static void copy_project_sql(const char *dir)
{
    char src[512];
    snprintf(src, sizeof src, "%s/sql", dbt_source_dir());
    DIR *d = opendir(src);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".sql") != 0)
            continue;
        char in[1024], out[1024];
        snprintf(in, sizeof in, "%s/%s", src, e->d_name);
        snprintf(out, sizeof out, "%s/%s", dir, e->d_name);
        FILE *fi = fopen(in, "rb"), *fo = fopen(out, "wb");
        assert_non_null(fi);
        assert_non_null(fo);
        char buf[8192];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, fi)) > 0)
            assert_int_equal(fwrite(buf, 1, k, fo), k);
        fclose(fi);
        fclose(fo);
    }
    closedir(d);
}

static const char *const m001 = "CREATE TABLE t1 (id int PRIMARY KEY);\n"
                                "INSERT INTO t1 VALUES (1);\n";
static const char *const m002 = "ALTER TABLE t1 ADD COLUMN name text;\n"
                                "UPDATE t1 SET name = 'one';\n";
static const char *const m010 = "CREATE TABLE t10 (x int REFERENCES t1 (id));\n";

static void test_applies_in_order_with_checksums(void **state)
{
    struct dbt *t = *state;
    char dir[64];
    make_dir(dir, sizeof dir);
    /* Written out of order; 010 sorts after 002 by name. */
    write_file(dir, "010_third.sql", m010);
    write_file(dir, "002_second.sql", m002);
    write_file(dir, "001_first.sql", m001);
    write_file(dir, "README.md", "not a migration");
    write_file(dir, "notes.sql", "this is not SQL and must be ignored");

    struct ss_err err = {0};
    int applied = -1;
    assert_int_equal(migrate_run(t->db, dir, &applied, &err), 0);
    assert_int_equal(applied, 3);
    assert_sql_eq(t->db, "001,002,010",
                  "SELECT string_agg(version, ',' ORDER BY applied_at, version) "
                  "FROM schema_migrations WHERE $1::text IS NOT NULL",
                  "x");
    assert_sql_eq(t->db, "one", "SELECT name FROM t1 WHERE id = $1::int", "1");
    /* Checksum is the hex SHA-256 of the file, computed independently. */
    assert_sql_eq(t->db, "t",
                  "SELECT checksum = encode(sha256(convert_to($1, 'UTF8')), 'hex') "
                  "FROM schema_migrations WHERE version = '002'",
                  m002);
    assert_sql_eq(t->db, "002_second.sql", "SELECT name FROM schema_migrations WHERE version = $1",
                  "002");

    /* Second run: nothing to do, and the check passes. */
    applied = -1;
    assert_int_equal(migrate_run(t->db, dir, &applied, &err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(migrate_check(t->db, dir, &err), 0);
    assert_int_equal(dbt_long(t->db, "SELECT count(*) FROM schema_migrations"), 3);

    /* A new file is pending for the check, then applied alone. */
    write_file(dir, "011_more.sql", "CREATE TABLE t11 (y int);");
    assert_int_equal(migrate_check(t->db, dir, &err), -1);
    assert_non_null(strstr(err.msg, "011_more.sql"));
    assert_int_equal(migrate_run(t->db, dir, &applied, &err), 0);
    assert_int_equal(applied, 1);
    rm_dir(dir);
}

static void test_project_schema(void **state)
{
    struct dbt *t = *state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/sql", dbt_source_dir());
    struct ss_err err = {0};
    assert_int_equal(migrate_check(t->db, dir, &err), -1);
    assert_non_null(strstr(err.msg, "pending"));
    int applied = 0;
    if (migrate_run(t->db, dir, &applied, &err) != 0)
        fail_msg("%s", err.msg);
    assert_true(applied >= 1);
    assert_int_equal(migrate_check(t->db, dir, &err), 0);
    assert_int_equal(migrate_run(t->db, dir, &applied, &err), 0);
    assert_int_equal(applied, 0);
    const char *tables[] = {"vendor_accounts",  "candidates", "assessments", "results",
                            "result_subscores", "sync_runs",  "checkpoints", "quarantine"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        assert_sql_eq(t->db, "t", "SELECT to_regclass($1) IS NOT NULL", tables[i]);
    /* The canonical status set is enforced. */
    PGresult *r =
        PQexec(db_conn(t->db), "INSERT INTO vendor_accounts (vendor, account) VALUES ('v', 'a');"
                               "INSERT INTO candidates (account_id, vendor_key) VALUES (1, 'c');"
                               "INSERT INTO results (account_id, candidate_id, vendor_key, stream, "
                               "status, raw) VALUES (1, 1, 'r', 's', 'Completed', '{}')");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23514"); /* check_violation */
    PQclear(r);
}

static void test_edited_migration_refused(void **state)
{
    struct dbt *t = *state;
    char dir[64];
    make_dir(dir, sizeof dir);
    copy_project_sql(dir);
    struct ss_err err = {0};
    int applied = 0;
    if (migrate_run(t->db, dir, &applied, &err) != 0)
        fail_msg("%s", err.msg);
    long before = dbt_long(t->db, "SELECT count(*) FROM schema_migrations");

    /* Edit the applied file and add a new one: nothing may be applied. */
    char path[600];
    snprintf(path, sizeof path, "%s/001_schema.sql", dir);
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("\n-- a harmless-looking edit\n", f);
    fclose(f);
    write_file(dir, "900_new.sql", "CREATE TABLE should_not_exist (x int);");

    applied = -1;
    assert_int_equal(migrate_run(t->db, dir, &applied, &err), -1);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err.msg, "001_schema.sql was edited after it was applied"));
    assert_non_null(strstr(err.msg, "checksum"));
    assert_sql_eq(t->db, "f", "SELECT to_regclass($1) IS NOT NULL", "should_not_exist");
    assert_int_equal(dbt_long(t->db, "SELECT count(*) FROM schema_migrations"), before);
    assert_int_equal(migrate_check(t->db, dir, &err), -1);
    assert_non_null(strstr(err.msg, "edited"));
    rm_dir(dir);
}

static void test_failing_migration_rolls_back(void **state)
{
    struct dbt *t = *state;
    char dir[64];
    make_dir(dir, sizeof dir);
    write_file(dir, "001_first.sql", m001);
    write_file(dir, "002_broken.sql", "CREATE TABLE half (x int);\nSELECT * FROM no_such_table;\n");
    write_file(dir, "003_after.sql", "CREATE TABLE after_broken (x int);");
    struct ss_err err = {0};
    int applied = -1;
    assert_int_equal(migrate_run(t->db, dir, &applied, &err), -1);
    assert_int_equal(applied, 1);
    assert_non_null(strstr(err.msg, "002_broken.sql"));
    assert_non_null(strstr(err.msg, "no_such_table"));
    /* 001 stays applied; 002's first statement was rolled back; 003 never ran. */
    assert_sql_eq(t->db, "001",
                  "SELECT string_agg(version, ',') FROM schema_migrations "
                  "WHERE $1::text IS NOT NULL",
                  "x");
    assert_sql_eq(t->db, "f", "SELECT to_regclass($1) IS NOT NULL", "half");
    assert_sql_eq(t->db, "f", "SELECT to_regclass($1) IS NOT NULL", "after_broken");
    /* The connection is usable and the lock was released. */
    assert_sql_eq(t->db, "0",
                  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = "
                  "pg_backend_pid() AND $1::text IS NOT NULL",
                  "x");
    rm_dir(dir);
}

struct runner {
    const char *conninfo, *dir;
    int rc, applied;
    char msg[1024];
};

static void *run_migrate(void *arg)
{
    struct runner *r = arg;
    struct db *db = NULL;
    struct ss_err err = {0};
    r->rc = -1;
    if (db_connect(r->conninfo, &db, &err) == 0) {
        r->rc = migrate_run(db, r->dir, &r->applied, &err);
        db_close(db);
    }
    snprintf(r->msg, sizeof r->msg, "%s", err.msg);
    return NULL;
}

/* Must equal MIGRATE_LOCK_KEY in src/load/migrate.c; if it drifts, the
 * runners never wait on it and the "both waiting" assertion fails. */
#define TEST_MIGRATE_LOCK_KEY "7575237019551748941"

static void test_concurrent_runs_apply_once(void **state)
{
    struct dbt *t = *state;
    char dir[64];
    make_dir(dir, sizeof dir);
    copy_project_sql(dir);
    write_file(dir, "900_extra.sql", "CREATE TABLE extra (x int);"); /* fails if run twice */
    long nfiles = 0;
    {
        DIR *d = opendir(dir);
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            nfiles += e->d_name[0] != '.';
        closedir(d);
    }

    /* Hold the migration lock so both runners provably wait at the same
     * time on a fresh database, then release them together. */
    struct db *holder = NULL;
    struct ss_err err = {0};
    assert_int_equal(db_connect(t->conninfo, &holder, &err), 0);
    assert_int_equal(db_exec(holder, "SELECT pg_advisory_lock(" TEST_MIGRATE_LOCK_KEY ")", 0, NULL,
                             PGRES_TUPLES_OK, NULL, &err),
                     0);
    struct runner a = {t->conninfo, dir, 0, 0, ""}, b = {t->conninfo, dir, 0, 0, ""};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, run_migrate, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, run_migrate, &b), 0);
    long waiting = 0;
    for (int i = 0; i < 10000 && waiting < 2; i++) {
        waiting = dbt_long(holder, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                   "AND NOT granted");
        if (waiting < 2) {
            struct timespec ts = {0, 1000000}; /* polling the server, not a timing guess */
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(waiting, 2);
    assert_sql_eq(holder, "f", "SELECT to_regclass($1) IS NOT NULL", "schema_migrations");
    assert_int_equal(db_exec(holder, "SELECT pg_advisory_unlock(" TEST_MIGRATE_LOCK_KEY ")", 0,
                             NULL, PGRES_TUPLES_OK, NULL, &err),
                     0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    if (a.rc != 0 || b.rc != 0)
        fail_msg("runner failed: %s / %s", a.msg, b.msg);
    /* One runner applied everything, the other found nothing to do. */
    assert_int_equal(a.applied + b.applied, nfiles);
    assert_true(a.applied == 0 || b.applied == 0);
    assert_int_equal(dbt_long(holder, "SELECT count(*) FROM schema_migrations"), nfiles);
    db_close(holder);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_applies_in_order_with_checksums, dbt_setup,
                                        dbt_teardown),
        cmocka_unit_test_setup_teardown(test_project_schema, dbt_setup, dbt_teardown),
        cmocka_unit_test_setup_teardown(test_edited_migration_refused, dbt_setup, dbt_teardown),
        cmocka_unit_test_setup_teardown(test_failing_migration_rolls_back, dbt_setup, dbt_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_runs_apply_once, dbt_setup, dbt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
