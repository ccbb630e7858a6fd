/* renormalize: results.raw -> reparse() -> norm_result() -> staging table ->
 * one UPDATE ... WHERE (columns) IS DISTINCT FROM per batch. */
#include "renormalize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/log.h"
#include "../core/record.h"
#include "../load/refdata.h"
#include "../vendors/vendor.h"

/* Failures logged one by one before the rest are only counted. */
#define RENORM_LOG_FAILURES 20

struct rn_col {
    const char *name, *type;
};

/* The columns norm_result() decides (plus skill, which the parser sets and
 * rows loaded before it existed lack), in staging/COPY order; write_row()
 * follows it. scales_version is last and deliberately not compared: a row
 * whose values are the same under the new tables is not rewritten. */
static const struct rn_col rn_cols[] = {
    {"status", "text"},        {"score", "numeric"},       {"score_scale", "text"},
    {"scale_min", "numeric"},  {"scale_max", "numeric"},   {"score_pct", "numeric"},
    {"cefr_low", "smallint"},  {"cefr_high", "smallint"},  {"cefr_rule", "text"},
    {"actfl_low", "smallint"}, {"actfl_high", "smallint"}, {"actfl_rule", "text"},
    {"toefl_low", "numeric"},  {"toefl_high", "numeric"},  {"ielts_low", "numeric"},
    {"ielts_high", "numeric"}, {"toeic_low", "numeric"},   {"toeic_high", "numeric"},
    {"skill", "text"},         {"passed", "boolean"},      {"pass_rule", "text"},
    {"norm_notes", "text"},    {"scales_version", "text"},
};
#define N_RN_COLS     (sizeof rn_cols / sizeof rn_cols[0])
#define N_RN_COMPARED (N_RN_COLS - 1)

/* $1 last id, $2 vendor, $3 account, $4 all, $5 current version, $6 limit. */
static const char *const read_sql =
    "SELECT r.id, a.vendor, a.account, r.stream, r.raw::text, r.skill, r.xmin::text, "
    "r.vendor_key FROM results r JOIN vendor_accounts a ON a.id = r.account_id "
    "WHERE r.id > $1::bigint AND ($2::text IS NULL OR a.vendor = $2::text) "
    "AND ($3::text IS NULL OR a.account = $3::text) "
    "AND ($4::bool OR r.scales_version IS DISTINCT FROM $5::text) "
    "ORDER BY r.id LIMIT $6::int";

struct rn_sql {
    char *ddl, *copy, *update;
};

/* ---- SQL built once from rn_cols (constants, never data) ---------------- */

static int build_sql(struct rn_sql *q, struct ss_err *err)
{
    struct buf d, c, u;
    buf_init(&d, 0);
    buf_init(&c, 0);
    buf_init(&u, 0);
    int rc = -1;
    /* ON COMMIT DELETE ROWS: a commit empties it, a (dry-run) rollback too. */
    if (buf_appendf(&d, err,
                    "CREATE TEMP TABLE IF NOT EXISTS ss_renorm (id bigint NOT NULL, "
                    "row_xmin text NOT NULL") != 0 ||
        buf_appendf(&c, err, "COPY ss_renorm (id, row_xmin") != 0 ||
        buf_appendf(&u, err, "WITH u AS (UPDATE results r SET ") != 0)
        goto out;
    for (size_t i = 0; i < N_RN_COLS; i++)
        if (buf_appendf(&d, err, ", %s %s", rn_cols[i].name, rn_cols[i].type) != 0 ||
            buf_appendf(&c, err, ", %s", rn_cols[i].name) != 0 ||
            buf_appendf(&u, err, "%s = s.%s, ", rn_cols[i].name, rn_cols[i].name) != 0)
            goto out;
    /* The row must still be the one that was read (xmin): a sync that
     * rewrote it meanwhile normalised its newer raw itself. */
    if (buf_appendf(&d, err, ") ON COMMIT DELETE ROWS") != 0 ||
        buf_appendf(&c, err, ") FROM STDIN") != 0 ||
        buf_appendf(&u, err,
                    "updated_at = now() FROM ss_renorm s WHERE r.id = s.id "
                    "AND r.xmin::text = s.row_xmin AND (") != 0)
        goto out;
    for (size_t i = 0; i < N_RN_COMPARED; i++)
        if (buf_appendf(&u, err, "%sr.%s", i ? ", " : "", rn_cols[i].name) != 0)
            goto out;
    if (buf_appendf(&u, err, ") IS DISTINCT FROM (") != 0)
        goto out;
    for (size_t i = 0; i < N_RN_COMPARED; i++)
        if (buf_appendf(&u, err, "%ss.%s", i ? ", " : "", rn_cols[i].name) != 0)
            goto out;
    /* Every part of the statement sees the snapshot from before the UPDATE,
     * so the second count finds the rows a concurrent writer changed. */
    if (buf_appendf(&u, err,
                    ") RETURNING r.id) SELECT (SELECT count(*) FROM u), "
                    "(SELECT count(*) FROM ss_renorm s JOIN results r ON r.id = s.id "
                    "WHERE r.xmin::text <> s.row_xmin)") != 0)
        goto out;
    q->ddl = buf_steal(&d);
    q->copy = buf_steal(&c);
    q->update = buf_steal(&u);
    rc = 0;
out:
    buf_free(&d);
    buf_free(&c);
    buf_free(&u);
    return rc;
}

static void free_sql(struct rn_sql *q)
{
    free(q->ddl);
    free(q->copy);
    free(q->update);
}

/* ---- COPY text, as the loader writes it (so equal values compare equal) - */

struct rn_writer {
    struct buf *b;
    struct ss_err *err;
    int failed;
    int first;
};

static void w_raw(struct rn_writer *w, const char *s, size_t n)
{
    if (!w->failed && buf_append(w->b, s, n, w->err) != 0)
        w->failed = 1;
}

static void w_sep(struct rn_writer *w)
{
    if (!w->first)
        w_raw(w, "\t", 1);
    w->first = 0;
}

static void w_null(struct rn_writer *w)
{
    w_sep(w);
    w_raw(w, "\\N", 2);
}

static void w_text(struct rn_writer *w, const char *s)
{
    if (!s) {
        w_null(w);
        return;
    }
    w_sep(w);
    if (!w->failed && buf_append_copy_escaped(w->b, s, w->err) != 0)
        w->failed = 1;
}

/* Shortest text that reads back as the same double (load.c's cw_num). */
static void w_num(struct rn_writer *w, double v)
{
    if (!isfinite(v)) {
        w_null(w);
        return;
    }
    char tmp[40];
    int n;
    if (v == (double)(long long)v && fabs(v) < 1e15) {
        n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    } else {
        n = snprintf(tmp, sizeof tmp, "%.15g", v);
        if (strtod(tmp, NULL) != v)
            n = snprintf(tmp, sizeof tmp, "%.17g", v);
    }
    w_sep(w);
    w_raw(w, tmp, (size_t)n);
}

static void w_level(struct rn_writer *w, int rank)
{
    if (rank <= 0)
        w_null(w);
    else
        w_num(w, rank);
}

static void w_end(struct rn_writer *w)
{
    w_raw(w, "\n", 1);
    w->first = 1;
}

/* Follows rn_cols order. */
static void write_row(struct rn_writer *w, const char *id, const char *xmin,
                      const struct ss_result *r, const char *version)
{
    w_text(w, id);
    w_text(w, xmin);
    w_text(w, r->status ? r->status : "unknown");
    w_num(w, r->has_score ? r->score : NAN);
    w_text(w, r->score_scale);
    w_num(w, r->scale_min);
    w_num(w, r->scale_max);
    w_num(w, r->score_pct);
    w_level(w, r->cefr.low);
    w_level(w, r->cefr.high);
    w_text(w, r->cefr.rule);
    w_level(w, r->actfl.low);
    w_level(w, r->actfl.high);
    w_text(w, r->actfl.rule);
    w_num(w, r->toefl.low);
    w_num(w, r->toefl.high);
    w_num(w, r->ielts.low);
    w_num(w, r->ielts.high);
    w_num(w, r->toeic.low);
    w_num(w, r->toeic.high);
    w_text(w, r->skill);
    if (r->passed == 0 || r->passed == 1)
        w_text(w, r->passed ? "t" : "f");
    else
        w_null(w);
    w_text(w, r->pass_rule);
    w_text(w, r->norm_notes);
    w_text(w, version);
    w_end(w);
}

/* ---- one batch ----------------------------------------------------------- */

struct rn_state {
    struct db *db;
    const struct scales *sc;
    const struct renorm_request *rq;
    struct renorm_counts *n;
    struct rn_sql sql;
    struct buf copy;
    struct ss_batch batch;
    long logged_failures;
};

static void note_failure(struct rn_state *s, const char *vendor, const char *account,
                         const char *id, const char *key, const char *why)
{
    s->n->failed++;
    if (s->logged_failures++ < RENORM_LOG_FAILURES)
        log_warn("%s/%s result %s (id %s): cannot re-parse the stored raw JSON: %s; left "
                 "unchanged",
                 vendor, account, key, id, why);
}

/* Re-parses and normalises row i of res into the batch and the COPY text.
 * Returns 1 when staged, 0 when it failed (counted), -1 on a writer error. */
static int stage_row(struct rn_state *s, PGresult *res, int i, struct rn_writer *w)
{
    const char *id = PQgetvalue(res, i, 0), *vendor = PQgetvalue(res, i, 1),
               *account = PQgetvalue(res, i, 2), *stream = PQgetvalue(res, i, 3),
               *raw = PQgetvalue(res, i, 4), *xmin = PQgetvalue(res, i, 6),
               *key = PQgetvalue(res, i, 7);
    const char *skill = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
    const struct vendor_ops *v = vendor_find(vendor);
    if (!v || !v->reparse) {
        note_failure(s, vendor, account, id, key, "this build has no parser for the vendor");
        return 0;
    }
    struct ss_result *r = batch_add_result(&s->batch);
    if (!r)
        return err_set(w->err, SS_ENOMEM, "out of memory");
    struct ss_err perr = {0};
    if (v->reparse(stream, raw, r, &perr) != 0) {
        batch_drop_last_result(&s->batch);
        note_failure(s, vendor, account, id, key, perr.msg);
        return 0;
    }
    free(r->stream);
    r->stream = strdup(stream);
    /* The parser decides the skill; a row it leaves open keeps the stored one. */
    if (!r->skill && skill)
        r->skill = strdup(skill);
    if (!r->stream || (skill && !r->skill))
        return err_set(w->err, SS_ENOMEM, "out of memory");
    norm_result(s->sc, vendor, r);
    if (r->norm_notes)
        s->n->noted++;
    write_row(w, id, xmin, r, scales_version(s->sc));
    return w->failed ? -1 : 1;
}

/* Reads, re-normalises and writes one batch in one transaction. *last is
 * the keyset position; *done is set when no row is left. */
static int run_batch(struct rn_state *s, long long *last, int *done, struct ss_err *err)
{
    const struct renorm_request *rq = s->rq;
    char after[24], limit[24];
    snprintf(after, sizeof after, "%lld", *last);
    snprintf(limit, sizeof limit, "%ld", rq->batch_rows > 0 ? rq->batch_rows : RENORM_BATCH_ROWS);
    const char *params[] = {
        after, rq->vendor, rq->account, rq->all ? "true" : "false", scales_version(s->sc), limit};
    PGresult *res = NULL;
    int rc = -1;
    if (db_cmd(s->db, "BEGIN", err) != 0)
        return -1;
    if (db_exec(s->db, read_sql, 6, params, PGRES_TUPLES_OK, &res, err) != 0) {
        err_prefix(err, "reading results");
        goto fail;
    }
    int nt = PQntuples(res);
    if (nt == 0) {
        *done = 1;
        PQclear(res);
        return db_cmd(s->db, "COMMIT", err);
    }
    *last = strtoll(PQgetvalue(res, nt - 1, 0), NULL, 10);
    s->n->examined += nt;
    buf_reset(&s->copy);
    batch_reset(&s->batch);
    struct rn_writer w = {&s->copy, err, 0, 1};
    long staged = 0;
    for (int i = 0; i < nt; i++) {
        int st = stage_row(s, res, i, &w);
        if (st < 0) {
            err_prefix(err, "staging result %s", PQgetvalue(res, i, 0));
            goto fail;
        }
        staged += st;
    }
    if (staged > 0) {
        PGresult *u = NULL;
        if (db_copy_in(s->db, s->sql.copy, s->copy.data, s->copy.len, err) != 0 ||
            db_exec(s->db, s->sql.update, 0, NULL, PGRES_TUPLES_OK, &u, err) != 0) {
            err_prefix(err, "updating results");
            goto fail;
        }
        long changed = strtol(PQgetvalue(u, 0, 0), NULL, 10);
        long skipped = strtol(PQgetvalue(u, 0, 1), NULL, 10);
        PQclear(u);
        s->n->changed += changed;
        s->n->skipped += skipped;
        s->n->unchanged += staged - changed - skipped;
    }
    if (db_cmd(s->db, rq->dry_run ? "ROLLBACK" : "COMMIT", err) != 0)
        goto fail;
    log_debug("renormalize: through id %lld: %ld examined, %ld changed", *last, s->n->examined,
              s->n->changed);
    rc = 0;
    goto out;
fail:
    db_rollback(s->db);
out:
    PQclear(res);
    batch_reset(&s->batch);
    return rc;
}

int renormalize_run(struct db *db, const struct scales *sc, const struct renorm_request *rq,
                    struct renorm_counts *counts, struct ss_err *err)
{
    memset(counts, 0, sizeof *counts);
    struct rn_state s;
    memset(&s, 0, sizeof s);
    s.db = db;
    s.sc = sc;
    s.rq = rq;
    s.n = counts;
    buf_init(&s.copy, 0);
    batch_init(&s.batch);
    int rc = -1;
    if (!rq->dry_run) {
        int loaded = refdata_load(db, sc, err);
        if (loaded < 0)
            goto out;
        counts->refdata = loaded;
    }
    if (build_sql(&s.sql, err) != 0)
        goto out;
    /* Outside any transaction, so the table outlives a rolled-back batch. */
    if (db_cmd(db, s.sql.ddl, err) != 0) {
        err_prefix(err, "creating the staging table");
        goto out;
    }
    long long last = 0;
    int done = 0;
    while (!done) {
        if (rq->stop && *rq->stop) {
            counts->interrupted = 1;
            break;
        }
        if (run_batch(&s, &last, &done, err) != 0)
            goto out;
    }
    if (s.logged_failures > RENORM_LOG_FAILURES)
        log_warn("... and %ld more results that cannot be re-parsed",
                 s.logged_failures - RENORM_LOG_FAILURES);
    rc = 0;
out:
    free_sql(&s.sql);
    buf_free(&s.copy);
    batch_free(&s.batch);
    return rc;
}
