/* runs: sync_runs rows, request counts, the stream lock and the results a
 * sync re-reads. All SQL of a run's bookkeeping lives here. */
#include "runs.h"

#include "../core/timeparse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/timeparse.h"

/* First key of the per-stream session lock ("SSST"); the second is a hash of
 * (account, stream, mode). Neither load.c's per-batch class ("SSYN") nor the
 * retired per-account class ("SSYO"), so they never collide; two streams whose
 * hashes collide only wait for each other. */
#define STREAM_LOCK_CLASS "1397969748"
#define STREAM_LOCK_KEY   "hashtext($1::text || '/' || $2::text || '/' || $3::text)"

static void fmt_i64(char *out, size_t n, int64_t v)
{
    snprintf(out, n, "%" PRId64, v);
}

static int64_t parse_i64(const char *s)
{
    return (int64_t)strtoll(s, NULL, 10);
}

int load_run_begin(struct loader *l, int64_t account_id, const char *stream, const char *mode,
                   const char *args_json, int64_t *run_id, struct ss_err *err)
{
    char id[24];
    fmt_i64(id, sizeof id, account_id);
    const char *params[] = {id, stream, mode, args_json};
    PGresult *res = NULL;
    if (db_exec(loader_db(l),
                "INSERT INTO sync_runs (account_id, stream, mode, args) "
                "VALUES ($1, $2, $3, $4::jsonb) RETURNING id",
                4, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "recording the start of the %s run", stream);
    *run_id = parse_i64(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int load_run_finish(struct loader *l, int64_t run_id, const struct run_stats *st,
                    const char *status, const char *error, struct ss_err *err)
{
    char v[14][24];
    const struct load_counts *c = &st->counts;
    fmt_i64(v[0], sizeof v[0], run_id);
    long nums[] = {c->cand_inserted, c->cand_updated,  c->cand_unchanged, c->res_inserted,
                   c->res_updated,   c->res_unchanged, c->quarantined,    st->requests,
                   st->retries,      st->status_429,   st->errors,        st->windows};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        snprintf(v[i + 1], sizeof v[i + 1], "%ld", nums[i]);
    const char *params[15] = {v[0], status, error};
    for (int i = 0; i < 12; i++)
        params[3 + i] = v[i + 1];
    PGresult *res = NULL;
    if (db_exec(loader_db(l),
                "UPDATE sync_runs SET finished_at = now(), status = $2, error = $3, "
                "candidates_inserted = $4, candidates_updated = $5, candidates_unchanged = $6, "
                "results_inserted = $7, results_updated = $8, results_unchanged = $9, "
                "quarantined = $10, requests = $11, retries = $12, status_429 = $13, "
                "errors = $14, windows = $15 WHERE id = $1",
                15, params, PGRES_COMMAND_OK, &res, err) != 0)
        return err_prefix(err, "recording the end of run %" PRId64, run_id);
    int rc = 0;
    if (strcmp(PQcmdTuples(res), "1") != 0)
        rc = err_set(err, SS_EDB, "run %" PRId64 " not found in sync_runs", run_id);
    PQclear(res);
    return rc;
}

int load_run_requests(struct loader *l, int64_t run_id, long requests, struct ss_err *err)
{
    char id[24], n[24];
    fmt_i64(id, sizeof id, run_id);
    snprintf(n, sizeof n, "%ld", requests);
    const char *params[] = {id, n};
    if (db_exec(loader_db(l),
                "UPDATE sync_runs SET requests = $2::bigint, last_request_at = now() "
                "WHERE id = $1::bigint",
                2, params, PGRES_COMMAND_OK, NULL, err) != 0)
        return err_prefix(err, "recording the request count of run %" PRId64, run_id);
    return 0;
}

/* A run starting while another ends (or while a killed one's connection
 * closes) waits a little rather than failing at once. */
int load_stream_lock(struct loader *l, int64_t account_id, const char *stream, const char *mode,
                     struct ss_err *err)
{
    struct db *db = loader_db(l);
    char id[24];
    fmt_i64(id, sizeof id, account_id);
    const char *params[] = {id, stream, mode};
    if (db_exec(db, "SELECT set_config('lock_timeout', '" LOAD_STREAM_LOCK_WAIT "', false)", 0,
                NULL, PGRES_TUPLES_OK, NULL, err) != 0)
        return -1;
    int rc = db_exec(db, "SELECT pg_advisory_lock(" STREAM_LOCK_CLASS ", " STREAM_LOCK_KEY ")", 3,
                     params, PGRES_TUPLES_OK, NULL, err);
    /* 55P03 lock_not_available: the wait ran out; anything else is the database's. */
    int busy = rc != 0 && strstr(err->msg, "[55P03]") != NULL;
    struct ss_err e2 = {0};
    if (db_exec(db, "SELECT set_config('lock_timeout', '0', false)", 0, NULL, PGRES_TUPLES_OK, NULL,
                &e2) != 0 &&
        rc == 0)
        *err = e2, rc = -1;
    if (busy)
        return err_set(err, SS_EIO,
                       "another scoresync %s of stream %s is running for this account "
                       "(waited " LOAD_STREAM_LOCK_WAIT ")",
                       mode, stream);
    if (rc != 0)
        return err_prefix(err, "locking stream %s for %s", stream, mode);
    return 0;
}

int load_stream_unlock(struct loader *l, int64_t account_id, const char *stream, const char *mode,
                       struct ss_err *err)
{
    char id[24];
    fmt_i64(id, sizeof id, account_id);
    const char *params[] = {id, stream, mode};
    return db_exec(loader_db(l),
                   "SELECT pg_advisory_unlock(" STREAM_LOCK_CLASS ", " STREAM_LOCK_KEY ")", 3,
                   params, PGRES_TUPLES_OK, NULL, err);
}

/* The columns a vendor may name, each with its own constant statement: the
 * name is matched here and never put into SQL text. $1 account, $2 stream,
 * $3 statuses (a text[] literal), $4 days. */
static const struct {
    const char *column, *sql;
} recheck_sql[] = {
    {"completed_at",
     "SELECT (extract(epoch FROM completed_at) * 1000000)::bigint FROM results "
     "WHERE account_id = $1::bigint AND stream = $2 AND status = ANY ($3::text[]) "
     "AND completed_at > now() - make_interval(days => $4::int) ORDER BY completed_at"},
    {"started_at", "SELECT (extract(epoch FROM started_at) * 1000000)::bigint FROM results "
                   "WHERE account_id = $1::bigint AND stream = $2 AND status = ANY ($3::text[]) "
                   "AND started_at > now() - make_interval(days => $4::int) ORDER BY started_at"},
};

/* statuses as an array literal {"a","b"} (a parameter value, not SQL). */
static int array_literal(struct buf *b, const char *const *items, struct ss_err *err)
{
    if (buf_append(b, "{", 1, err) != 0)
        return -1;
    for (size_t i = 0; items[i]; i++) {
        if (buf_append(b, i ? ",\"" : "\"", i ? 2 : 1, err) != 0)
            return -1;
        for (const char *p = items[i]; *p; p++) {
            int esc = *p == '"' || *p == '\\';
            if ((esc && buf_append(b, "\\", 1, err) != 0) || buf_append(b, p, 1, err) != 0)
                return -1;
        }
        if (buf_append(b, "\"", 1, err) != 0)
            return -1;
    }
    return buf_append(b, "}", 1, err);
}

int load_recheck_times(struct loader *l, int64_t account_id, const char *stream, const char *column,
                       const char *const *statuses, int days, int64_t **out, size_t *n,
                       struct ss_err *err)
{
    *out = NULL;
    *n = 0;
    if (days <= 0 || !statuses || !statuses[0])
        return 0;
    const char *sql = NULL;
    for (size_t i = 0; i < sizeof recheck_sql / sizeof recheck_sql[0] && column; i++)
        if (strcmp(recheck_sql[i].column, column) == 0)
            sql = recheck_sql[i].sql;
    if (!sql)
        return err_set(err, SS_EINVAL,
                       "stream %s: cannot re-read results by \"%s\" (completed_at or "
                       "started_at)",
                       stream, column ? column : "(none)");
    struct buf arr;
    buf_init(&arr, 0);
    if (array_literal(&arr, statuses, err) != 0) {
        buf_free(&arr);
        return -1;
    }
    char id[24], d[16];
    fmt_i64(id, sizeof id, account_id);
    snprintf(d, sizeof d, "%d", days);
    const char *params[] = {id, stream, arr.data, d};
    PGresult *res = NULL;
    int rc = db_exec(loader_db(l), sql, 4, params, PGRES_TUPLES_OK, &res, err);
    buf_free(&arr);
    if (rc != 0)
        return err_prefix(err, "reading results not final yet");
    int rows = PQntuples(res);
    if (rows > 0) {
        *out = malloc((size_t)rows * sizeof **out);
        if (!*out) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
        } else {
            for (int i = 0; i < rows; i++)
                (*out)[i] = parse_i64(PQgetvalue(res, i, 0));
            *n = (size_t)rows;
        }
    }
    PQclear(res);
    return rc;
}

/* $1 vendor, $2 account, $3 stream, $4 statuses, $5 days. */
static const struct {
    const char *column, *sql;
} past_sql[] = {
    {"completed_at",
     "SELECT count(*), coalesce(min(r.completed_at)::timestamp(0)::text, '') FROM results r "
     "JOIN vendor_accounts a ON a.id = r.account_id WHERE a.vendor = $1 AND a.account = $2 "
     "AND r.stream = $3 AND r.status = ANY ($4::text[]) "
     "AND r.completed_at <= now() - make_interval(days => $5::int)"},
    {"started_at",
     "SELECT count(*), coalesce(min(r.started_at)::timestamp(0)::text, '') FROM results r "
     "JOIN vendor_accounts a ON a.id = r.account_id WHERE a.vendor = $1 AND a.account = $2 "
     "AND r.stream = $3 AND r.status = ANY ($4::text[]) "
     "AND r.started_at <= now() - make_interval(days => $5::int)"},
};

int load_unfinished_past(struct db *db, const char *vendor, const char *account, const char *stream,
                         const char *column, const char *const *statuses, int days, long *count,
                         char *oldest, size_t oldest_len, struct ss_err *err)
{
    *count = 0;
    if (oldest_len)
        oldest[0] = '\0';
    if (!statuses || !statuses[0])
        return 0;
    const char *sql = NULL;
    for (size_t i = 0; i < sizeof past_sql / sizeof past_sql[0] && column; i++)
        if (strcmp(past_sql[i].column, column) == 0)
            sql = past_sql[i].sql;
    if (!sql)
        return err_set(err, SS_EINVAL, "stream %s: no re-check column \"%s\"", stream,
                       column ? column : "(none)");
    struct buf arr;
    buf_init(&arr, 0);
    if (array_literal(&arr, statuses, err) != 0) {
        buf_free(&arr);
        return -1;
    }
    char d[16];
    snprintf(d, sizeof d, "%d", days > 0 ? days : 0);
    const char *params[] = {vendor, account, stream, arr.data, d};
    PGresult *res = NULL;
    int rc = db_exec(db, sql, 5, params, PGRES_TUPLES_OK, &res, err);
    buf_free(&arr);
    if (rc != 0)
        return -1;
    *count = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(oldest, oldest_len, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

void load_checkpoint_key(const char *stream, int backfill, int64_t since, int64_t until, char *out,
                         size_t n)
{
    if (!backfill) {
        snprintf(out, n, "%s", stream);
        return;
    }
    char a[40] = "open", b[40] = "open";
    if (since != TS_NULL)
        ts_format(since, a, sizeof a);
    if (until != TS_NULL)
        ts_format(until, b, sizeof b);
    snprintf(out, n, "%s" LOAD_BACKFILL_TAG "%s..%s", stream, a, b);
}
