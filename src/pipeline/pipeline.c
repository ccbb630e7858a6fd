#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "../vendors/vendor.h"

/* What the emit callback needs to load a batch. */
struct sink {
    struct db *db;
    struct http_client *http;
    long requests_before;
    struct loader *loader;
    const struct scales *sc;
    const struct cfg_account *acct;
    const char *stream;
    const char *ckpt_key;
    int64_t account_id, run_id;
    struct run_stats *st;
    size_t batch_rows;       /* database.batch_rows: results per transaction */
    long notes, quarantined; /* seen this run, for capping the log */
};

/* Per run, this many unknown-label notes and quarantined records are logged
 * one by one; the rest are counted (`scoresync status` lists them all). */
#define LOG_EACH_MAX 50

/* Records how many requests the run has sent so far, and when: a run killed
 * before it finishes still tells the next one how much of the vendor's
 * budget it spent (see preload_limiter). */
static void note_requests(struct sink *s)
{
    char id[24], n[24];
    snprintf(id, sizeof id, "%lld", (long long)s->run_id);
    /* The extractor may be fetching the next window on another thread. */
    snprintf(n, sizeof n, "%ld", http_requests_sent(s->http) - s->requests_before);
    const char *params[] = {id, n};
    struct ss_err e = {0};
    if (db_exec(s->db,
                "UPDATE sync_runs SET requests = $2::bigint, last_request_at = now() "
                "WHERE id = $1::bigint",
                2, params, PGRES_COMMAND_OK, NULL, &e) != 0)
        log_warn("%s/%s: could not record request count: %s", s->acct->vendor, s->acct->name,
                 e.msg);
}

/* Loads a batch in transactions of at most batch_rows results. The
 * candidates and quarantine rows go with the first part (the later parts'
 * results refer to those candidates); only the last part carries the
 * cursor, so the checkpoint moves when the whole window is in. */
static int load_parts(struct sink *s, const struct ss_batch *b, const char *cursor,
                      struct ss_err *err)
{
    size_t per = s->batch_rows > 0 ? s->batch_rows : b->n_res;
    size_t off = 0;
    do {
        struct ss_batch part;
        memset(&part, 0, sizeof part);
        part.supplementary = b->supplementary;
        if (off == 0) {
            part.cand = b->cand;
            part.n_cand = b->n_cand;
            part.quar = b->quar;
            part.n_quar = b->n_quar;
        }
        part.res = b->res + off;
        part.n_res = b->n_res - off < per ? b->n_res - off : per;
        off += part.n_res;
        int last = off >= b->n_res;
        if (load_batch(s->loader, s->account_id, s->run_id, s->ckpt_key, &part,
                       last ? cursor : NULL, scales_version(s->sc), &s->st->counts, err) != 0)
            return -1;
    } while (off < b->n_res);
    return 0;
}

static int sink_emit(void *arg, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    struct sink *s = arg;
    for (size_t i = 0; i < b->n_res; i++) {
        struct ss_result *r = &b->res[i];
        norm_result(s->sc, s->acct->vendor, r);
        if (r->norm_notes && s->notes++ < LOG_EACH_MAX)
            log_warn("%s/%s %s: result %s: %s", s->acct->vendor, s->acct->name, s->stream,
                     r->vendor_key, r->norm_notes);
    }
    for (size_t i = 0; i < b->n_quar; i++) {
        const struct ss_quarantine *q = &b->quar[i];
        if (s->quarantined++ < LOG_EACH_MAX)
            log_warn("%s/%s %s: record %s%s%s: %s (quarantined)", s->acct->vendor, s->acct->name,
                     s->stream, q->record_key, q->field ? " field " : "", q->field ? q->field : "",
                     q->reason);
    }
    int64_t t0 = clock_system()->now_us(NULL);
    int rc = load_parts(s, b, cursor, err);
    log_debug("%s/%s %s: loaded %zu results, %zu candidates in %.0f ms", s->acct->vendor,
              s->acct->name, s->stream, b->n_res, b->n_cand,
              (double)(clock_system()->now_us(NULL) - t0) / 1000.0);
    batch_reset(b);
    if (rc == 0)
        note_requests(s);
    return rc;
}

static void sink_progress(void *arg, int64_t from, int64_t to, long records, double done)
{
    struct sink *s = arg;
    char a[40], b[40];
    ts_format(from, a, sizeof a);
    ts_format(to, b, sizeof b);
    const struct load_counts *c = &s->st->counts;
    log_info("%s/%s %s: %.10s .. %.10s: %ld records; %.0f%% of range; so far %ld new, %ld "
             "updated, %ld unchanged, %ld quarantined",
             s->acct->vendor, s->acct->name, s->stream, a, b, records, done * 100.0,
             c->res_inserted, c->res_updated, c->res_unchanged, c->quarantined);
}

static struct rate_limiter *account_limiter(const struct cfg_account *a)
{
    struct rl_window w[CFG_MAX_WINDOWS];
    for (int i = 0; i < a->n_rate; i++) {
        w[i].limit = (uint32_t)a->rate[i].requests;
        w[i].period_us = (int64_t)(a->rate[i].per_seconds * 1e6);
    }
    return rl_new(w, (size_t)a->n_rate, (int64_t)a->rate_margin_ms * 1000);
}

static struct http_client *account_client(const struct cfg_account *a, struct rate_limiter *rl,
                                          char *prefix, struct ss_err *err)
{
    struct http_opts o;
    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = (long)a->connect_timeout_s * 1000;
    o.timeout_ms = (long)a->timeout_s * 1000;
    o.max_body = (size_t)a->max_response_bytes;
    o.retry.max_attempts = a->max_attempts;
    o.retry.base_us = (int64_t)a->backoff_base_ms * 1000;
    o.retry.max_us = (int64_t)a->backoff_max_ms * 1000;
    o.log_prefix = prefix;
    struct http_client *c = http_new(&o, rl, clock_system(), err);
    if (c && a->api_key)
        http_add_secret(c, a->api_key);
    return c;
}

/* The checkpoint key: a backfill keeps its own progress per range, so a
 * killed backfill resumes and never moves the nightly sync's checkpoint. */
static void checkpoint_key(const struct sync_request *rq, const char *stream, char *out, size_t n)
{
    if (!rq->backfill) {
        snprintf(out, n, "%s", stream);
        return;
    }
    char a[40] = "open", b[40] = "open";
    if (rq->since != TS_NULL)
        ts_format(rq->since, a, sizeof a);
    if (rq->until != TS_NULL)
        ts_format(rq->until, b, sizeof b);
    snprintf(out, n, "%s#backfill:%s..%s", stream, a, b);
}

/* Completion times of this stream's stored results that are not final yet
 * (see vendor_ctx.recheck). *out is malloc'd (NULL when none). */
static int pending_times(struct db *db, int64_t account_id, const char *stream, int days,
                         int64_t **out, size_t *n, struct ss_err *err)
{
    *out = NULL;
    *n = 0;
    if (days <= 0)
        return 0;
    char id[24], d[16];
    snprintf(id, sizeof id, "%lld", (long long)account_id);
    snprintf(d, sizeof d, "%d", days);
    const char *params[] = {id, stream, d};
    PGresult *res = NULL;
    if (db_exec(db,
                "SELECT (extract(epoch FROM completed_at) * 1000000)::bigint FROM results "
                "WHERE account_id = $1::bigint AND stream = $2 "
                "AND status IN ('score_pending', 'needs_review') "
                "AND completed_at > now() - make_interval(days => $3::int) ORDER BY completed_at",
                3, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "reading results not final yet");
    int rows = PQntuples(res);
    if (rows > 0) {
        *out = malloc((size_t)rows * sizeof **out);
        if (!*out) {
            PQclear(res);
            return err_set(err, SS_ENOMEM, "out of memory");
        }
        for (int i = 0; i < rows; i++)
            (*out)[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        *n = (size_t)rows;
    }
    PQclear(res);
    return 0;
}

static int run_stream(struct db *db, struct loader *ld, size_t batch_rows, const struct scales *sc,
                      const struct vendor_ops *v, const struct cfg_account *acct,
                      struct http_client *http, int64_t account_id, const char *stream,
                      const struct sync_request *rq, int64_t now, struct sync_summary *sum,
                      struct ss_err *err)
{
    char key[160];
    checkpoint_key(rq, stream, key, sizeof key);
    char *cursor = NULL;
    int64_t *recheck = NULL;
    size_t n_recheck = 0;
    int64_t run_id = 0;
    struct run_stats st;
    memset(&st, 0, sizeof st);
    struct http_stats before = *http_stats(http);
    int rc = -1;
    char args[256];
    snprintf(args, sizeof args, "{\"checkpoint\": \"%s\"}", key);

    if (load_checkpoint_get(ld, account_id, key, &cursor, err) != 0 ||
        load_run_begin(ld, account_id, stream, rq->backfill ? "backfill" : "sync", args, &run_id,
                       err) != 0)
        goto out;
    log_info("%s/%s %s: %s from %s", acct->vendor, acct->name, stream,
             rq->backfill ? "backfill" : "sync", cursor ? cursor : "the beginning");
    if (!rq->backfill &&
        pending_times(db, account_id, stream, acct->recheck_days, &recheck, &n_recheck, err) != 0) {
        log_warn("%s/%s %s: %s; not re-reading pending results this run", acct->vendor, acct->name,
                 stream, err->msg);
        err_clear(err);
    }

    struct sink s;
    memset(&s, 0, sizeof s);
    s.db = db;
    s.http = http;
    s.requests_before = before.requests;
    s.loader = ld;
    s.sc = sc;
    s.acct = acct;
    s.stream = stream;
    s.ckpt_key = key;
    s.account_id = account_id;
    s.run_id = run_id;
    s.st = &st;
    s.batch_rows = batch_rows;
    struct vendor_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.acct = acct;
    ctx.http = http;
    ctx.cursor = cursor;
    ctx.backfill = rq->backfill;
    ctx.since = rq->since;
    ctx.until = rq->until;
    ctx.now = now;
    ctx.emit = sink_emit;
    ctx.sink = &s;
    ctx.progress = sink_progress;
    ctx.stop = rq->stop;
    ctx.recheck = recheck;
    ctx.n_recheck = n_recheck;
    rc = v->extract(&ctx, stream, err);

    const struct http_stats *after = http_stats(http);
    st.requests = after->requests - before.requests;
    st.retries = after->retries - before.retries;
    st.status_429 = after->status_429 - before.status_429;
    st.errors = rc != 0 ? 1 : 0;
    st.windows = ctx.windows;
    const char *status = "ok";
    char why[sizeof err->msg + 32] = "";
    if (rc != 0) {
        status = ctx.windows > 0 ? "partial" : "failed";
        snprintf(why, sizeof why, "%s", err->msg);
    } else if (rq->stop && *rq->stop) {
        status = "partial";
        snprintf(why, sizeof why, "interrupted by a signal; the next run resumes");
        sum->interrupted = 1;
    }
    struct ss_err ferr = {0};
    if (load_run_finish(ld, run_id, &st, status, why[0] ? why : NULL, &ferr) != 0)
        log_error("%s/%s %s: could not record the run: %s", acct->vendor, acct->name, stream,
                  ferr.msg);
    const struct load_counts *c = &st.counts;
    log_info("%s/%s %s: %s: %ld requests (%ld retries, %ld 429s), results %ld new, %ld updated, "
             "%ld unchanged, candidates %ld new, %ld updated, %ld quarantined",
             acct->vendor, acct->name, stream, status, st.requests, st.retries, st.status_429,
             c->res_inserted, c->res_updated, c->res_unchanged, c->cand_inserted, c->cand_updated,
             c->quarantined);
    if (s.notes > LOG_EACH_MAX || s.quarantined > LOG_EACH_MAX)
        log_warn("%s/%s %s: %ld results with unknown labels and %ld quarantined records in "
                 "all (only the first %d of each were logged); `scoresync status` lists them",
                 acct->vendor, acct->name, stream, s.notes, s.quarantined, LOG_EACH_MAX);

    /* Add to the totals. */
    struct run_stats *t = &sum->total;
    t->counts.cand_inserted += c->cand_inserted;
    t->counts.cand_updated += c->cand_updated;
    t->counts.cand_unchanged += c->cand_unchanged;
    t->counts.res_inserted += c->res_inserted;
    t->counts.res_updated += c->res_updated;
    t->counts.res_unchanged += c->res_unchanged;
    t->counts.quarantined += c->quarantined;
    t->requests += st.requests;
    t->retries += st.retries;
    t->status_429 += st.status_429;
    t->errors += st.errors;
    t->windows += st.windows;
out:
    free(recheck);
    free(cursor);
    return rc;
}

/* The vendor counts requests per account across processes; our limiter lives
 * in one. Before the first request, replay what recent runs of this account
 * sent (as if all at their last request time: conservative), so a sync that
 * starts right after another never exceeds the limits. */
static int preload_limiter(struct db *db, int64_t account_id, const struct cfg_account *a,
                           struct rate_limiter *rl, struct ss_err *err)
{
    double horizon = 0;
    long most = 0;
    for (int i = 0; i < a->n_rate; i++) {
        if (a->rate[i].per_seconds > horizon)
            horizon = a->rate[i].per_seconds;
        if (a->rate[i].requests > most)
            most = a->rate[i].requests;
    }
    if (a->n_rate == 0)
        return 0;
    char id[24], secs[32];
    snprintf(id, sizeof id, "%lld", (long long)account_id);
    snprintf(secs, sizeof secs, "%.3f", horizon + (double)a->rate_margin_ms / 1000.0);
    const char *params[] = {id, secs};
    PGresult *res = NULL;
    if (db_exec(db,
                "SELECT requests, (extract(epoch FROM clock_timestamp() - t) * 1e6)::bigint "
                "FROM (SELECT requests, coalesce(last_request_at, finished_at) AS t "
                "FROM sync_runs WHERE account_id = $1::bigint AND requests > 0) r "
                "WHERE t > clock_timestamp() - make_interval(secs => $2::float8) "
                "ORDER BY t",
                2, params, PGRES_TUPLES_OK, &res, err) != 0)
        return err_prefix(err, "reading recent request counts");
    int64_t now = clock_system()->now_us(NULL);
    long replayed = 0;
    for (int i = 0; i < PQntuples(res) && replayed < most; i++) {
        long n = strtol(PQgetvalue(res, i, 0), NULL, 10);
        int64_t age = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        if (age < 0)
            age = 0;
        for (long k = 0; k < n && replayed < most; k++, replayed++)
            rl_record(rl, now - age);
    }
    PQclear(res);
    if (replayed)
        log_debug("%s/%s: rate limiter starts with %ld recent requests of earlier runs", a->vendor,
                  a->name, replayed);
    return 0;
}

/* One scoresync at a time per account: two would share the vendor's budget
 * without knowing it. A session lock, released at disconnect or crash; a run
 * starting while another ends (or a killed one's connection closes) waits a
 * little rather than failing at once. */
#define ACCOUNT_LOCK_CLASS "1397971279"
#define ACCOUNT_LOCK_WAIT  "20s"

static int lock_account(struct db *db, int64_t account_id, const char *prefix, int lock,
                        struct ss_err *err)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)account_id);
    const char *params[] = {id};
    if (!lock)
        return db_exec(db, "SELECT pg_advisory_unlock(" ACCOUNT_LOCK_CLASS ", $1::int)", 1, params,
                       PGRES_TUPLES_OK, NULL, err);
    if (db_exec(db, "SELECT set_config('lock_timeout', '" ACCOUNT_LOCK_WAIT "', false)", 0, NULL,
                PGRES_TUPLES_OK, NULL, err) != 0)
        return -1;
    int rc = db_exec(db, "SELECT pg_advisory_lock(" ACCOUNT_LOCK_CLASS ", $1::int)", 1, params,
                     PGRES_TUPLES_OK, NULL, err);
    struct ss_err e2 = {0};
    if (db_exec(db, "SELECT set_config('lock_timeout', '0', false)", 0, NULL, PGRES_TUPLES_OK, NULL,
                &e2) != 0 &&
        rc == 0)
        *err = e2, rc = -1;
    if (rc != 0)
        return err_set(
            err, SS_EIO,
            "%s: another scoresync run is syncing this account (waited " ACCOUNT_LOCK_WAIT ")",
            prefix);
    return 0;
}

static int sync_account(struct db *db, struct loader *ld, size_t batch_rows,
                        const struct scales *sc, const struct vendor_ops *v,
                        const struct cfg_account *acct, const struct sync_request *rq,
                        struct sync_summary *sum, struct ss_err *err)
{
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s/%s", acct->vendor, acct->name);
    int64_t account_id = 0;
    struct rate_limiter *rl = account_limiter(acct);
    struct http_client *http = NULL;
    int failed = 0;
    if (!rl) {
        err_set(err, SS_ECONFIG, "%s: invalid rate_limits", prefix);
        sum->streams_failed++;
        return -1;
    }
    int locked = 0;
    http = account_client(acct, rl, prefix, err);
    if (!http || load_account(ld, v->name, acct->name, &account_id, err) != 0) {
        err_prefix(err, "%s", prefix);
        sum->streams_failed++;
        failed = 1;
        goto out;
    }
    if (lock_account(db, account_id, prefix, 1, err) != 0 ||
        preload_limiter(db, account_id, acct, rl, err) != 0) {
        log_error("%s", err->msg);
        sum->streams_failed++;
        failed = 1;
        goto out;
    }
    locked = 1;
    int64_t now = clock_wall_us();
    for (size_t i = 0; v->streams[i]; i++) {
        const char *stream = v->streams[i];
        if (rq->stream ? strcmp(rq->stream, stream) != 0 : !cfg_stream_enabled(acct, stream))
            continue;
        if (rq->stop && *rq->stop)
            break;
        if (run_stream(db, ld, batch_rows, sc, v, acct, http, account_id, stream, rq, now, sum,
                       err) != 0) {
            log_error("%s %s: %s", prefix, stream, err->msg);
            sum->streams_failed++;
            failed = 1;
        } else {
            sum->streams_ok++;
        }
    }
out:
    if (locked) {
        struct ss_err e = {0};
        if (lock_account(db, account_id, prefix, 0, &e) != 0)
            log_warn("%s", e.msg);
    }
    http_free(http);
    rl_free(rl);
    return failed ? -1 : 0;
}

int pipeline_sync(const struct config *cfg, struct db *db, const struct scales *sc,
                  const struct sync_request *rq, struct sync_summary *sum, struct ss_err *err)
{
    memset(sum, 0, sizeof *sum);
    struct loader *ld = loader_new(db, err);
    if (!ld)
        return -1;
    int matched = 0, failed = 0;
    for (size_t i = 0; i < cfg->n_vendors; i++) {
        const struct cfg_vendor *cv = &cfg->vendors[i];
        if (rq->vendor && strcmp(rq->vendor, cv->name) != 0)
            continue;
        const struct vendor_ops *v = vendor_find(cv->name);
        if (!v) {
            log_warn("%s: configured but not supported by this build yet; skipped", cv->name);
            continue;
        }
        for (size_t j = 0; j < cv->n_accounts; j++) {
            const struct cfg_account *a = &cv->accounts[j];
            if (rq->account && strcmp(rq->account, a->name) != 0)
                continue;
            matched++;
            if (rq->stream && !vendor_has_stream(v, rq->stream)) {
                err_set(err, SS_ECONFIG, "%s has no stream \"%s\"", v->name, rq->stream);
                failed = 1;
                continue;
            }
            if (sync_account(db, ld, (size_t)cfg->db.batch_rows, sc, v, a, rq, sum, err) != 0)
                failed = 1;
            if (rq->stop && *rq->stop)
                goto out;
        }
    }
    if (!matched) {
        err_set(err, SS_ECONFIG, "no configured account matches%s%s%s%s",
                rq->vendor ? " vendor " : "", rq->vendor ? rq->vendor : "",
                rq->account ? " account " : "", rq->account ? rq->account : "");
        failed = 1;
    }
out:
    loader_free(ld);
    return failed ? -1 : 0;
}
