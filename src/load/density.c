/* density: stored coverage and density of a stream, for `scoresync plan`. */
#include "density.h"
#include "runs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timeparse.h"

static void fmt_i64(char *out, size_t n, int64_t v)
{
    snprintf(out, n, "%" PRId64, v);
}

/* The column names SQL text; only these are accepted. */
static int column_ok(const char *c)
{
    return c && (strcmp(c, "completed_at") == 0 || strcmp(c, "started_at") == 0 ||
                 strcmp(c, "assigned_at") == 0);
}

int density_account_id(struct db *db, const char *vendor, const char *account, int64_t *id,
                       struct ss_err *err)
{
    *id = 0;
    const char *params[] = {vendor, account};
    PGresult *res = NULL;
    if (db_exec(db, "SELECT id FROM vendor_accounts WHERE vendor = $1 AND account = $2", 2, params,
                PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "vendor account %s/%s", vendor, account);
    if (PQntuples(res) > 0)
        *id = (int64_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static int cmp_span(const void *a, const void *b)
{
    const struct density_span *x = a, *y = b;
    return x->from < y->from ? -1 : x->from > y->from;
}

/* "<since>..<until>" of a backfill key: since, or -1 when it does not parse. */
static int backfill_since(const char *range, int64_t *since)
{
    const char *dots = strstr(range, "..");
    char a[64];
    if (!dots || (size_t)(dots - range) >= sizeof a)
        return -1;
    memcpy(a, range, (size_t)(dots - range));
    a[dots - range] = '\0';
    struct ss_err e = {0};
    return ts_parse(a, 0, since, &e);
}

int density_covered(struct db *db, int64_t account_id, const char *stream, int64_t sync_start,
                    struct density_span **out, size_t *n, struct ss_err *err)
{
    *out = NULL;
    *n = 0;
    char id[24];
    fmt_i64(id, sizeof id, account_id);
    const char *params[] = {id, stream};
    PGresult *res = NULL;
    /* left() rather than LIKE: a stream name is data, not a pattern. */
    if (db_exec(db,
                "SELECT stream, cursor FROM checkpoints WHERE account_id = $1::bigint "
                "AND (stream = $2 OR left(stream, length($2 || '" LOAD_BACKFILL_TAG "')) = "
                "$2 || '" LOAD_BACKFILL_TAG "')",
                2, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "reading the checkpoints of %s", stream);
    int rows = PQntuples(res);
    size_t k = 0;
    if (rows > 0) {
        *out = calloc((size_t)rows, sizeof **out);
        if (!*out) {
            PQclear(res);
            return err_set(err, SS_ENOMEM, "out of memory");
        }
    }
    size_t slen = strlen(stream);
    for (int i = 0; i < rows; i++) {
        const char *key = PQgetvalue(res, i, 0);
        int64_t from, to;
        struct ss_err e = {0};
        if (ts_parse(PQgetvalue(res, i, 1), 0, &to, &e) != 0)
            continue;
        if (strcmp(key, stream) == 0)
            from = sync_start;
        else if (backfill_since(key + slen + strlen(LOAD_BACKFILL_TAG), &from) != 0)
            continue;
        if (to > from)
            (*out)[k++] = (struct density_span){from, to};
    }
    PQclear(res);
    if (k == 0) {
        free(*out);
        *out = NULL;
        return 0;
    }
    qsort(*out, k, sizeof **out, cmp_span);
    size_t m = 0;
    for (size_t i = 1; i < k; i++) {
        if ((*out)[i].from <= (*out)[m].to) {
            if ((*out)[i].to > (*out)[m].to)
                (*out)[m].to = (*out)[i].to;
        } else {
            (*out)[++m] = (*out)[i];
        }
    }
    *n = m + 1;
    return 0;
}

int density_histogram(struct db *db, int64_t account_id, const char *stream, const char *column,
                      int64_t from, int64_t to, int64_t bucket_us, struct density_bucket **out,
                      size_t *n, struct ss_err *err)
{
    *out = NULL;
    *n = 0;
    if (!column_ok(column))
        return err_set(err, SS_EINVAL, "no density by column \"%s\"", column ? column : "(null)");
    if (bucket_us <= 0 || to <= from)
        return 0;
    char id[24], a[40], b[40], a_us[24], w[24], sql[640];
    fmt_i64(id, sizeof id, account_id);
    ts_format(from, a, sizeof a);
    ts_format(to, b, sizeof b);
    fmt_i64(a_us, sizeof a_us, from);
    fmt_i64(w, sizeof w, bucket_us);
    /* Exact microseconds: extract(epoch) is numeric, so no float rounding
     * moves a result across a bucket edge. */
    snprintf(sql, sizeof sql,
             "SELECT ((extract(epoch FROM %s) * 1000000)::bigint - $5::bigint) / $6::bigint, "
             "count(*) FROM results WHERE account_id = $1::bigint AND stream = $2 "
             "AND %s >= $3::timestamptz AND %s < $4::timestamptz GROUP BY 1 ORDER BY 1",
             column, column, column);
    const char *params[] = {id, stream, a, b, a_us, w};
    PGresult *res = NULL;
    if (db_exec(db, sql, 6, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "reading the stored density of %s", stream);
    int rows = PQntuples(res);
    int rc = 0;
    if (rows > 0) {
        *out = malloc((size_t)rows * sizeof **out);
        if (!*out) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
        } else {
            for (int i = 0; i < rows; i++) {
                (*out)[i].index = (int64_t)strtoll(PQgetvalue(res, i, 0), NULL, 10);
                (*out)[i].records = strtol(PQgetvalue(res, i, 1), NULL, 10);
            }
            *n = (size_t)rows;
        }
    }
    PQclear(res);
    return rc;
}

int density_count(struct db *db, int64_t account_id, const char *stream, const char *column,
                  int64_t from, int64_t to, long *count, struct ss_err *err)
{
    *count = 0;
    if (!column_ok(column))
        return err_set(err, SS_EINVAL, "no density by column \"%s\"", column ? column : "(null)");
    char id[24], a[40], b[40], sql[300];
    fmt_i64(id, sizeof id, account_id);
    ts_format(from, a, sizeof a);
    ts_format(to, b, sizeof b);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM results WHERE account_id = $1::bigint AND stream = $2 "
             "AND %s >= $3::timestamptz AND %s < $4::timestamptz",
             column, column);
    const char *params[] = {id, stream, a, b};
    PGresult *res = NULL;
    if (db_exec(db, sql, 4, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "counting the stored results of %s", stream);
    *count = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int density_bytes_per_record(struct db *db, int64_t account_id, const char *stream,
                             const char *column, int64_t from, int64_t to, long max, double *bytes,
                             struct ss_err *err)
{
    *bytes = 0;
    if (!column_ok(column))
        return err_set(err, SS_EINVAL, "no density by column \"%s\"", column ? column : "(null)");
    char id[24], a[40], b[40], lim[24], sql[900];
    fmt_i64(id, sizeof id, account_id);
    ts_format(from, a, sizeof a);
    ts_format(to, b, sizeof b);
    snprintf(lim, sizeof lim, "%ld", max > 0 ? max : 1);
    /* A user object is sent once with all its reports: its bytes are shared
     * by the results of it in the sample. */
    snprintf(
        sql, sizeof sql,
        "WITH s AS (SELECT candidate_id, octet_length(raw::text) AS len FROM results "
        "WHERE account_id = $1::bigint AND stream = $2 AND %s >= $3::timestamptz "
        "AND %s < $4::timestamptz LIMIT $5::bigint) "
        "SELECT count(*), coalesce(sum(len), 0) + coalesce((SELECT sum(octet_length(c.raw::text)) "
        "FROM candidates c WHERE c.id IN (SELECT candidate_id FROM s)), 0) FROM s",
        column, column);
    const char *params[] = {id, stream, a, b, lim};
    PGresult *res = NULL;
    if (db_exec(db, sql, 5, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "reading the stored record sizes of %s", stream);
    double count = strtod(PQgetvalue(res, 0, 0), NULL);
    double sum = strtod(PQgetvalue(res, 0, 1), NULL);
    PQclear(res);
    if (count > 0)
        *bytes = sum / count;
    return 0;
}
