/* renormalize: results.raw -> reparse() -> norm_result() -> the loader's
 * renormalize stage (load.h: its columns and COPY encoder) -> one UPDATE ...
 * WHERE (columns) IS DISTINCT FROM per batch. */
#include "renormalize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/record.h"
#include "../load/load.h"
#include "../load/refdata.h"
#include "../vendors/vendor.h"

/* Failures logged one by one before the rest are only counted. */
#define RENORM_LOG_FAILURES 20

/* $1 last id, $2 vendor, $3 account, $4 all, $5 current version, $6 limit. */
static const char *const read_sql =
    "SELECT r.id, a.vendor, a.account, r.stream, r.raw::text, r.skill, r.xmin::text, "
    "r.vendor_key FROM results r JOIN vendor_accounts a ON a.id = r.account_id "
    "WHERE r.id > $1::bigint AND ($2::text IS NULL OR a.vendor = $2::text) "
    "AND ($3::text IS NULL OR a.account = $3::text) "
    "AND ($4::bool OR r.scales_version IS DISTINCT FROM $5::text) "
    "ORDER BY r.id LIMIT $6::int";

/* ---- one batch ----------------------------------------------------------- */

struct rn_state {
    struct db *db;
    const struct scales *sc;
    const struct renorm_request *rq;
    struct renorm_counts *n;
    struct loader *ld; /* its result columns and COPY encoder (load_renorm_*) */
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

/* Re-parses and normalises row i of res into the batch and the stage.
 * Returns 1 when staged, 0 when it failed (counted), -1 on a staging error. */
static int stage_row(struct rn_state *s, PGresult *res, int i, struct ss_err *err)
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
    /* A batch slot starts as reparse() expects (result_init()). */
    struct ss_result *r = batch_add_result(&s->batch);
    if (!r)
        return err_set(err, SS_ENOMEM, "out of memory");
    struct ss_err perr = {0};
    if (v->reparse(v, stream, raw, (size_t)PQgetlength(res, i, 4), r, &perr) != 0) {
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
        return err_set(err, SS_ENOMEM, "out of memory");
    norm_result(s->sc, vendor, r);
    if (r->norm_notes)
        s->n->noted++;
    if (load_renorm_add(s->ld, id, xmin, r, scales_version(s->sc), err) != 0)
        return -1;
    return 1;
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
    batch_reset(&s->batch);
    long staged = 0;
    for (int i = 0; i < nt; i++) {
        int st = stage_row(s, res, i, err);
        if (st < 0) {
            err_prefix(err, "staging result %s", PQgetvalue(res, i, 0));
            goto fail;
        }
        staged += st;
    }
    long changed = 0, skipped = 0;
    if (load_renorm_apply(s->ld, &changed, &skipped, err) != 0)
        goto fail;
    s->n->changed += changed;
    s->n->skipped += skipped;
    s->n->unchanged += staged - changed - skipped;
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
    batch_init(&s.batch);
    int rc = -1;
    if (!rq->dry_run) {
        int loaded = refdata_load(db, sc, err);
        if (loaded < 0)
            goto out;
        counts->refdata = loaded;
    }
    /* Outside any transaction, so the table outlives a rolled-back batch. */
    s.ld = loader_new(db, err);
    if (!s.ld)
        goto out;
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
    loader_free(s.ld);
    batch_free(&s.batch);
    return rc;
}
