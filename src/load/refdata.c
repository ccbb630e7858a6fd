/* refdata: config/scales.yaml -> ref_* tables. scales_export() hands over
 * rows as text; they are COPYed (values never become SQL text) into tables
 * emptied in the same transaction, so a reader sees either the old tables or
 * the new ones, never a mix. */
#include "refdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/log.h"
#include "../normalize/scales.h"

/* Advisory lock key ("SREF") serialising concurrent loads: two syncs
 * starting together must not both delete and refill. */
#define REFDATA_LOCK "1397900614"

/* Far above the few hundred rows the tables hold. */
#define REFDATA_COPY_LIMIT ((size_t)64 << 20)

/* The tables scales_export() fills under fixed names, with their column
 * count and constant SQL (the column order of scales.h and
 * sql/002_reference.sql). The score-band tables, named in scales.yaml, come
 * in addition (band_table()). */
struct ref_table {
    const char *name;
    int ncols;
    const char *delete_sql, *copy_sql;
};
static const struct ref_table ref_tables[] = {
    {"ref_cefr_levels", 3, "DELETE FROM ref_cefr_levels",
     "COPY ref_cefr_levels (code, label, rank) FROM STDIN"},
    {"ref_actfl_levels", 2, "DELETE FROM ref_actfl_levels",
     "COPY ref_actfl_levels (label, rank) FROM STDIN"},
    {"ref_actfl_cefr", 6, "DELETE FROM ref_actfl_cefr",
     "COPY ref_actfl_cefr (skill_group, actfl_label, actfl_rank, cefr_sublevel, cefr_code, "
     "cefr_rank) FROM STDIN"},
    {"ref_test_cefr", 6, "DELETE FROM ref_test_cefr",
     "COPY ref_test_cefr (test, skill, cefr_code, cefr_rank, min_score, max_score) FROM STDIN"},
    {"ref_status_map", 3, "DELETE FROM ref_status_map",
     "COPY ref_status_map (vendor, vendor_status, status) FROM STDIN"},
    {"ref_score_scales", 6, "DELETE FROM ref_score_scales",
     "COPY ref_score_scales (vendor, assessment_type, scale, min, max, linear) FROM STDIN"},
    {"ref_pass_marks", 5, "DELETE FROM ref_pass_marks",
     "COPY ref_pass_marks (vendor, assessment_type, pass_mark, valid_from, valid_until) "
     "FROM STDIN"},
    {"ref_sources", 2, "DELETE FROM ref_sources",
     "COPY ref_sources (table_name, source) FROM STDIN"},
};
#define N_REF_TABLES (sizeof ref_tables / sizeof ref_tables[0])
/* Far above the one or two score-band tables scales.yaml declares. */
#define MAX_BAND_TABLES 32
#define MAX_TABLES      (N_REF_TABLES + MAX_BAND_TABLES)

struct collect {
    struct ref_table tab[MAX_TABLES];
    char sql[MAX_BAND_TABLES][2][192]; /* DELETE and COPY of the band tables */
    size_t n;
    struct buf data[MAX_TABLES]; /* COPY text per table */
    long rows[MAX_TABLES];
    struct ss_err *err;
    int failed;
};

/* The fixed tables, then one entry per score-band table. Its name comes from
 * scales.yaml, which the loader allows only as ref_[a-z0-9_]+: checked again
 * here since it becomes an identifier, and quoted. */
static int table_list(struct collect *c, const struct scales *sc, struct ss_err *err)
{
    const char *name;
    for (size_t t = 0; t < N_REF_TABLES; t++)
        c->tab[c->n++] = ref_tables[t];
    for (size_t i = 0; (name = scales_band_sql_table(sc, i)); i++) {
        size_t k = c->n - N_REF_TABLES;
        if (k >= MAX_BAND_TABLES)
            return err_set(err, SS_EINVAL, "scales name more than %d score-band tables",
                           MAX_BAND_TABLES);
        if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name) ||
            strlen(name) > 63)
            return err_set(err, SS_EINVAL, "score-band table name \"%s\" is not ref_[a-z0-9_]+",
                           name);
        snprintf(c->sql[k][0], sizeof c->sql[k][0], "DELETE FROM \"%s\"", name);
        snprintf(c->sql[k][1], sizeof c->sql[k][1],
                 "COPY \"%s\" (" SCALES_BAND_COLUMNS ") FROM STDIN", name);
        c->tab[c->n++] = (struct ref_table){name, SCALES_BAND_NCOLS, c->sql[k][0], c->sql[k][1]};
    }
    return 0;
}

/* scales_row_fn: appends one row to its table's COPY text. An unknown table
 * or a wrong column count is a contract break between norm.h and the SQL:
 * refuse it rather than load half a table. */
static int collect_row(void *arg, const char *table, const char *const *values, int n)
{
    struct collect *c = arg;
    size_t t;
    for (t = 0; t < c->n; t++)
        if (table && strcmp(table, c->tab[t].name) == 0)
            break;
    if (t == c->n) {
        err_set(c->err, SS_EINVAL, "scales_export: unknown reference table \"%s\"",
                table ? table : "(null)");
        c->failed = 1;
        return 1;
    }
    if (n != c->tab[t].ncols) {
        err_set(c->err, SS_EINVAL, "scales_export: %s row with %d values, expected %d", table, n,
                c->tab[t].ncols);
        c->failed = 1;
        return 1;
    }
    struct buf *b = &c->data[t];
    for (int i = 0; i < n; i++) {
        int rc = (i > 0 ? buf_append(b, "\t", 1, c->err) : 0);
        if (rc == 0)
            rc = values[i] ? buf_append_copy_escaped(b, values[i], c->err)
                           : buf_append(b, "\\N", 2, c->err);
        if (rc != 0) {
            err_prefix(c->err, "%s", table);
            c->failed = 1;
            return 1;
        }
    }
    if (buf_append(b, "\n", 1, c->err) != 0) {
        c->failed = 1;
        return 1;
    }
    c->rows[t]++;
    return 0;
}

/* Whether ref_scales_version already holds version (inside the transaction). */
static int version_current(struct db *db, const char *version, int *current, struct ss_err *err)
{
    const char *params[] = {version};
    PGresult *res = NULL;
    if (db_exec(db, "SELECT count(*) FROM ref_scales_version WHERE version = $1", 1, params,
                PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "ref_scales_version");
    *current = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return 0;
}

int refdata_load(struct db *db, const struct scales *sc, struct ss_err *err)
{
    const char *version = scales_version(sc);
    struct collect *cp = calloc(1, sizeof *cp);
    if (!cp)
        return err_set(err, SS_ENOMEM, "out of memory loading reference tables");
    cp->err = err;
    for (size_t t = 0; t < MAX_TABLES; t++)
        buf_init(&cp->data[t], REFDATA_COPY_LIMIT);
    int rc = -1, current = 0;
    if (table_list(cp, sc, err) != 0)
        goto out;

    if (db_cmd(db, "BEGIN", err) != 0)
        goto out;
    if (db_exec(db, "SELECT pg_advisory_xact_lock(" REFDATA_LOCK ")", 0, NULL, PGRES_TUPLES_OK,
                NULL, err) != 0 ||
        version_current(db, version, &current, err) != 0)
        goto fail;
    if (current) {
        if (db_cmd(db, "COMMIT", err) != 0)
            goto fail;
        log_debug("reference tables already hold scales %s", version);
        rc = 0;
        goto out;
    }
    /* Collected before anything is deleted, so an export failure leaves the
     * old tables in place. */
    int stopped = scales_export(sc, collect_row, cp);
    if (cp->failed)
        goto fail;
    if (stopped) {
        err_set(err, SS_EINVAL, "scales_export stopped (%d)", stopped);
        goto fail;
    }
    for (size_t t = 0; t < cp->n; t++) {
        if (db_cmd(db, cp->tab[t].delete_sql, err) != 0) {
            err_prefix(err, "%s", cp->tab[t].name);
            goto fail;
        }
        if (cp->rows[t] > 0 &&
            db_copy_in(db, cp->tab[t].copy_sql, cp->data[t].data, cp->data[t].len, err) != 0) {
            err_prefix(err, "%s", cp->tab[t].name);
            goto fail;
        }
    }
    {
        const char *params[] = {version};
        if (db_cmd(db, "DELETE FROM ref_scales_version", err) != 0 ||
            db_exec(db, "INSERT INTO ref_scales_version (version) VALUES ($1)", 1, params,
                    PGRES_COMMAND_OK, NULL, err) != 0) {
            err_prefix(err, "ref_scales_version");
            goto fail;
        }
    }
    if (db_cmd(db, "COMMIT", err) != 0)
        goto fail;
    long total = 0;
    for (size_t t = 0; t < cp->n; t++)
        total += cp->rows[t];
    log_info("reference tables loaded from scales %s: %ld rows in %zu tables", version, total,
             cp->n);
    rc = 1;
    goto out;
fail:
    db_rollback(db);
    err_prefix(err, "loading reference tables (rolled back)");
    rc = -1;
out:
    for (size_t t = 0; t < MAX_TABLES; t++)
        buf_free(&cp->data[t]);
    free(cp);
    return rc;
}
