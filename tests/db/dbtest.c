/* dbtest: helpers shared by the database tests, #included by each
 * tests/db/test_*.c (CMake builds one executable per test_*.c, so this file
 * is deliberately not named test_*). Each test gets a fresh database
 * ss_test_<pid>_<n> on the server named by $SS_TEST_DATABASE_URL and drops
 * it afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "load/db.h"
#include "load/load.h"
#include "load/migrate.h"

/* Not every test program uses every helper. */
#define DBT_HELPER __attribute__((unused)) static

#ifndef SS_SOURCE_DIR
#define SS_SOURCE_DIR "."
#endif

struct dbt {
    char name[64];
    char *conninfo; /* key=value string for the test database */
    struct db *db;
};

static int dbt_counter;

DBT_HELPER const char *dbt_source_dir(void)
{
    const char *s = getenv("SS_SOURCE_DIR");
    return s && *s ? s : SS_SOURCE_DIR;
}

/* key=value conninfo equal to `url` but with dbname replaced. */
DBT_HELPER char *dbt_conninfo_with_db(const char *url, const char *dbname)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &errmsg);
    if (!opts) {
        fprintf(stderr, "bad SS_TEST_DATABASE_URL: %s\n", errmsg ? errmsg : "?");
        PQfreemem(errmsg);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    for (PQconninfoOption *o = opts; o->keyword && out; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? dbname : o->val;
        if (!v)
            continue;
        size_t need = len + strlen(o->keyword) + 2 * strlen(v) + 8;
        if (need >= cap) {
            cap = need * 2;
            char *p = realloc(out, cap);
            if (!p) {
                free(out);
                out = NULL;
                break;
            }
            out = p;
        }
        len += (size_t)sprintf(out + len, "%s='", o->keyword);
        for (const char *c = v; *c; c++) {
            if (*c == '\'' || *c == '\\')
                out[len++] = '\\';
            out[len++] = *c;
        }
        len += (size_t)sprintf(out + len, "' ");
    }
    PQconninfoFree(opts);
    return out;
}

static void dbt_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Runs an admin command on the server's default database. */
DBT_HELPER void dbt_admin(const char *sql)
{
    const char *url = getenv("SS_TEST_DATABASE_URL");
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "connect %s: %s", url, PQerrorMessage(c));
        PQfinish(c);
        fail_msg("cannot connect to SS_TEST_DATABASE_URL");
    }
    PQsetNoticeProcessor(c, dbt_quiet, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        fail_msg("admin command failed");
    }
    PQclear(r);
    PQfinish(c);
}

/* Creates a fresh database and connects to it. */
DBT_HELPER int dbt_setup(void **state)
{
    const char *url = getenv("SS_TEST_DATABASE_URL");
    if (!url || !*url) {
        fprintf(stderr, "SS_TEST_DATABASE_URL is not set; run via tests/run.sh\n");
        return -1;
    }
    struct dbt *t = calloc(1, sizeof *t);
    assert_non_null(t);
    snprintf(t->name, sizeof t->name, "ss_test_%ld_%d", (long)getpid(), ++dbt_counter);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", t->name);
    dbt_admin(sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", t->name);
    dbt_admin(sql);
    t->conninfo = dbt_conninfo_with_db(url, t->name);
    assert_non_null(t->conninfo);
    struct ss_err err = {0};
    if (db_connect(t->conninfo, &t->db, &err) != 0)
        fail_msg("db_connect: %s", err.msg);
    *state = t;
    return 0;
}

DBT_HELPER int dbt_teardown(void **state)
{
    struct dbt *t = *state;
    if (!t)
        return 0;
    db_close(t->db);
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", t->name);
    dbt_admin(sql);
    free(t->conninfo);
    free(t);
    return 0;
}

/* First column of the first row of a parameterised query, as a malloc'd
 * string ("<NULL>" for SQL NULL, "<none>" when no row). */
DBT_HELPER char *dbt_val(struct db *db, const char *sql, int n, const char *const *params)
{
    PGresult *r = NULL;
    struct ss_err err = {0};
    if (db_exec(db, sql, n, params, PGRES_TUPLES_OK, &r, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
    char *v;
    if (PQntuples(r) == 0)
        v = strdup("<none>");
    else if (PQgetisnull(r, 0, 0))
        v = strdup("<NULL>");
    else
        v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

DBT_HELPER long dbt_long(struct db *db, const char *sql)
{
    char *v = dbt_val(db, sql, 0, NULL);
    long n = strtol(v, NULL, 10);
    free(v);
    return n;
}

/* Asserts that a query's first value equals want. */
#define assert_sql_eq(db, want, sql, ...)                                                          \
    do {                                                                                           \
        const char *p_[] = {NULL, __VA_ARGS__};                                                    \
        char *v_ = dbt_val((db), (sql), (int)(sizeof p_ / sizeof p_[0]) - 1, p_ + 1);              \
        assert_string_equal(v_, (want));                                                           \
        free(v_);                                                                                  \
    } while (0)

DBT_HELPER void dbt_exec(struct db *db, const char *sql)
{
    struct ss_err err = {0};
    PGresult *r = PQexec(db_conn(db), sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err.msg, sizeof err.msg, "%s", PQresultErrorMessage(r));
        PQclear(r);
        fail_msg("%s: %s", sql, err.msg);
    }
    PQclear(r);
}

/* Applies sql/ to the test database and returns a loader with the account
 * vendor/account created (*acct its id); fails the test on any error. The
 * caller frees the loader with loader_free(). */
DBT_HELPER struct loader *dbt_migrated_loader(struct db *db, const char *vendor,
                                              const char *account, int64_t *acct)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/sql", dbt_source_dir());
    struct ss_err err = {0};
    int applied = 0;
    if (migrate_run(db, dir, &applied, &err) != 0)
        fail_msg("migrate: %s", err.msg);
    struct loader *l = loader_new(db, &err);
    if (!l)
        fail_msg("loader_new: %s", err.msg);
    if (load_account(l, vendor, account, acct, &err) != 0)
        fail_msg("load_account: %s", err.msg);
    return l;
}
