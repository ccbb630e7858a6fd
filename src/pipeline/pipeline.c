/* pipeline: accounts and streams -> vendor extract -> sink. No SQL here:
 * the database side of a run is load.h / runs.h, normalise + load is sink.h. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "../load/documents.h"
#include "../load/runs.h"
#include "../vendors/vendor.h"
#include "sink.h"

/* What every stream of one account shares. */
struct account_run {
    struct loader *ld;
    const struct scales *sc;
    size_t batch_rows;
    const struct vendor_ops *v;
    const struct cfg_account *acct;
    struct http_client *http;
    const struct http_auth *auth;
    int64_t account_id;
    int64_t now;
    const struct sync_request *rq;
    struct sync_summary *sum;
};

/* vendor_ctx's callbacks take the sink as void *. */
static int emit_cb(void *sink, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    return sink_emit(sink, b, cursor, err);
}

static void progress_cb(void *sink, const char *what, long records, double fraction_done)
{
    sink_progress(sink, what, records, fraction_done);
}

static long changed_cb(void *sink)
{
    return sink_changed(sink);
}

static int stored_keys_cb(void *sink, const char *const *statuses, int days, long max, char ***keys,
                          char ***cands, size_t *n, struct ss_err *err)
{
    return sink_stored_keys(sink, statuses, days, max, keys, cands, n, err);
}

/* vendor_ctx.docs: where a stream's documents go (load/documents.h). */
struct doc_target {
    struct loader *ld;
    int64_t account_id;
};

static int document_current_cb(void *docs, const char *kind, const char *owner_key,
                               const unsigned char source_sha256[32], struct ss_err *err)
{
    const struct doc_target *t = docs;
    int current = 0;
    if (load_document_current(t->ld, t->account_id, kind, owner_key, source_sha256, &current,
                              err) != 0)
        return -1;
    return current;
}

static int document_cb(void *docs, const struct vendor_document *d, struct ss_err *err)
{
    const struct doc_target *t = docs;
    const struct load_document ld = {d->kind,    d->owner_key, d->file_name, d->mime,
                                     d->content, d->size,      d->sha256,    d->source_sha256};
    int written = 0;
    return load_document_put(t->ld, t->account_id, &ld, &written, err);
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

/* The account's secrets were registered with core/redact.h by the config. */
static struct http_client *account_client(const struct cfg_account *a, struct rate_limiter *rl,
                                          const char *prefix, struct ss_err *err)
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
    return http_new(&o, rl, clock_system(), err);
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

static void add_counts(struct load_counts *t, const struct load_counts *c)
{
    t->cand_inserted += c->cand_inserted;
    t->cand_updated += c->cand_updated;
    t->cand_unchanged += c->cand_unchanged;
    t->res_inserted += c->res_inserted;
    t->res_updated += c->res_updated;
    t->res_unchanged += c->res_unchanged;
    t->quarantined += c->quarantined;
}

static int run_stream(struct account_run *ar, const struct vendor_stream *vs, struct ss_err *err)
{
    const struct sync_request *rq = ar->rq;
    const struct cfg_account *acct = ar->acct;
    const struct log_ctx lc = {ar->v->name, acct->name, vs->name};
    char key[160];
    checkpoint_key(rq, vs->name, key, sizeof key);
    char *cursor = NULL;
    int64_t *recheck = NULL;
    size_t n_recheck = 0;
    int64_t run_id = 0;
    struct sink *s = NULL;
    struct run_stats st;
    memset(&st, 0, sizeof st);
    struct http_stats before = *http_stats(ar->http);
    int rc = -1;
    char args[256];
    snprintf(args, sizeof args, "{\"checkpoint\": \"%s\"}", key);

    if (load_checkpoint_get(ar->ld, ar->account_id, key, &cursor, err) != 0 ||
        load_run_begin(ar->ld, ar->account_id, vs->name, rq->backfill ? "backfill" : "sync", args,
                       &run_id, err) != 0)
        goto out;
    slog_info(&lc, "%s from %s", rq->backfill ? "backfill" : "sync",
              cursor ? cursor : "the beginning");
    if (!rq->backfill && vs->recheck_statuses &&
        load_recheck_times(ar->ld, ar->account_id, vs->name, vs->recheck_column,
                           vs->recheck_statuses, acct->recheck_days, &recheck, &n_recheck,
                           err) != 0) {
        slog_warn(&lc, "%s; not re-reading unfinished results this run", err->msg);
        err_clear(err);
    }

    const struct sink_opts so = {
        .loader = ar->ld,
        .sc = ar->sc,
        .vendor = ar->v->name,
        .account = acct->name,
        .account_id = ar->account_id,
        .stream = vs->name,
        .supplementary = vs->supplementary,
        .checkpoint = key,
        .run_id = run_id,
        .batch_rows = ar->batch_rows,
        .http = ar->http,
    };
    s = sink_open(&so, err);
    if (!s)
        goto finish;

    struct doc_target docs = {ar->ld, ar->account_id};
    struct vendor_ctx ctx = {
        .vendor = ar->v,
        .stream = vs,
        .acct = acct,
        .http = ar->http,
        .auth = ar->auth,
        .log = lc,
        .cursor = cursor,
        .backfill = rq->backfill,
        .since = rq->since,
        .until = rq->until,
        .now = ar->now,
        .part_records = ar->batch_rows,
        .emit = emit_cb,
        .sink = s,
        .progress = progress_cb,
        .stop = rq->stop,
        .recheck = recheck,
        .n_recheck = n_recheck,
        .recheck_max = acct->recheck_max_requests,
        .changed = changed_cb,
        .stored_keys = stored_keys_cb,
        .document_current = document_current_cb,
        .document = document_cb,
        .docs = &docs,
    };
    rc = ar->v->extract(&ctx, err);
    st.windows = ctx.pages;
    if (rc == 0 && ctx.recheck_requests > 0) {
        if (ctx.recheck_requests < ctx.recheck_max)
            slog_info(&lc,
                      "re-read %zu results not final yet: %ld requests re-checked "
                      "unfinished results",
                      n_recheck, ctx.recheck_requests);
        else
            slog_info(&lc,
                      "%ld requests re-checked unfinished results (at most %ld a run: "
                      "the rest of the %zu results not final yet next run)",
                      ctx.recheck_requests, ctx.recheck_max, n_recheck);
    }

finish:;
    const struct sink_counts *n = s ? sink_counts(s) : NULL;
    long commits = n ? n->commits : 0;
    if (n)
        st.counts = n->loaded;
    const struct http_stats *after = http_stats(ar->http);
    st.requests = after->requests - before.requests;
    st.retries = after->retries - before.retries;
    st.status_429 = after->status_429 - before.status_429;
    st.errors = rc != 0 ? 1 : 0;
    const char *status = "ok";
    char why[sizeof err->msg + 32] = "";
    if (rc != 0) {
        /* What was committed before the failure stays: the next run resumes. */
        status = commits > 0 ? "partial" : "failed";
        snprintf(why, sizeof why, "%s", err->msg);
    } else if (rq->stop && *rq->stop) {
        status = "partial";
        snprintf(why, sizeof why, "interrupted by a signal; the next run resumes");
        ar->sum->interrupted = 1;
    }
    struct ss_err ferr = {0};
    if (load_run_finish(ar->ld, run_id, &st, status, why[0] ? why : NULL, &ferr) != 0)
        slog_error(&lc, "could not record the run: %s", ferr.msg);
    const struct load_counts *c = &st.counts;
    slog_info(&lc,
              "%s: %ld requests (%ld retries, %ld 429s), results %ld new, %ld updated, "
              "%ld unchanged, candidates %ld new, %ld updated, %ld quarantined",
              status, st.requests, st.retries, st.status_429, c->res_inserted, c->res_updated,
              c->res_unchanged, c->cand_inserted, c->cand_updated, c->quarantined);
    sink_close(s);

    struct run_stats *t = &ar->sum->total;
    add_counts(&t->counts, c);
    t->requests += st.requests;
    t->retries += st.retries;
    t->status_429 += st.status_429;
    t->errors += st.errors;
    t->windows += st.windows;
    ar->sum->commits += commits;
out:
    free(recheck);
    free(cursor);
    return rc;
}

/* The vendor counts requests per account across processes; our limiter lives
 * in one. Before the first request, replay what recent runs of this account
 * sent (as if all at their last request time: conservative), so a sync that
 * starts right after another never exceeds the limits. */
static int preload_limiter(struct loader *ld, int64_t account_id, const struct cfg_account *a,
                           const struct log_ctx *lc, struct rate_limiter *rl, struct ss_err *err)
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
    struct load_recent *recent = NULL;
    size_t n = 0;
    if (load_recent_requests(ld, account_id, horizon + (double)a->rate_margin_ms / 1000.0, &recent,
                             &n, err) != 0)
        return -1;
    int64_t now = clock_system()->now_us(NULL);
    long replayed = 0;
    for (size_t i = 0; i < n && replayed < most; i++) {
        int64_t age = recent[i].age_us < 0 ? 0 : recent[i].age_us;
        for (long k = 0; k < recent[i].requests && replayed < most; k++, replayed++)
            rl_record(rl, now - age);
    }
    free(recent);
    if (replayed)
        slog_debug(lc, "rate limiter starts with %ld recent requests of earlier runs", replayed);
    return 0;
}

/* One rate limiter, HTTP client and credential per account (the vendor's
 * limits are per account), and one scoresync at a time per account: two
 * would share the vendor's budget without knowing it. */
static int sync_account(struct loader *ld, size_t batch_rows, const struct scales *sc,
                        const struct vendor_ops *v, const struct cfg_account *acct,
                        const struct sync_request *rq, struct sync_summary *sum, struct ss_err *err)
{
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s/%s", v->name, acct->name);
    const struct log_ctx lc = {v->name, acct->name, NULL};
    struct http_auth auth;
    memset(&auth, 0, sizeof auth);
    struct account_run ar = {ld, sc, batch_rows, v, acct, NULL, &auth, 0, 0, rq, sum};
    struct rate_limiter *rl = account_limiter(acct);
    int failed = 0, locked = 0;
    if (!rl) {
        err_set(err, SS_ECONFIG, "%s: invalid rate_limits", prefix);
        slog_error(&lc, "invalid rate_limits");
        sum->streams_failed++;
        return -1;
    }
    ar.http = account_client(acct, rl, prefix, err);
    if (!ar.http || vendor_auth(v, acct, &auth, err) != 0 ||
        load_account(ld, v->name, acct->name, &ar.account_id, err) != 0 ||
        load_account_lock(ld, ar.account_id, err) != 0) {
        err_prefix(err, "%s", prefix);
        log_error("%s", err->msg);
        sum->streams_failed++;
        failed = 1;
        goto out;
    }
    locked = 1;
    if (preload_limiter(ld, ar.account_id, acct, &lc, rl, err) != 0) {
        err_prefix(err, "%s", prefix);
        log_error("%s", err->msg);
        sum->streams_failed++;
        failed = 1;
        goto out;
    }
    ar.now = clock_wall_us();
    for (const struct vendor_stream *vs = v->streams; vs && vs->name; vs++) {
        if (rq->stream ? strcmp(rq->stream, vs->name) != 0 : !cfg_stream_enabled(acct, vs->name))
            continue;
        if (rq->stop && *rq->stop)
            break;
        if (run_stream(&ar, vs, err) != 0) {
            const struct log_ctx slc = {v->name, acct->name, vs->name};
            slog_error(&slc, "%s", err->msg);
            err_prefix(err, "%s %s", prefix, vs->name);
            sum->streams_failed++;
            failed = 1;
        } else {
            sum->streams_ok++;
        }
    }
out:
    if (locked) {
        struct ss_err e = {0};
        if (load_account_unlock(ld, ar.account_id, &e) != 0)
            slog_warn(&lc, "%s", e.msg);
    }
    http_free(ar.http);
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
        if (rq->stream && !vendor_stream(v, rq->stream)) {
            /* Without --vendor, --stream picks the vendors that have it. */
            if (rq->vendor) {
                err_set(err, SS_ECONFIG, "%s has no stream \"%s\"", v->name, rq->stream);
                failed = 1;
                matched++;
            }
            continue;
        }
        for (size_t j = 0; j < cv->n_accounts; j++) {
            const struct cfg_account *a = &cv->accounts[j];
            if (rq->account && strcmp(rq->account, a->name) != 0)
                continue;
            matched++;
            /* A failing account (refused key, vendor down) is logged and
             * counted; the others still run. */
            if (sync_account(ld, (size_t)cfg->db.batch_rows, sc, v, a, rq, sum, err) != 0)
                failed = 1;
            if (rq->stop && *rq->stop)
                goto out;
        }
    }
    if (!matched) {
        err_set(err, SS_ECONFIG, "no configured account matches%s%s%s%s%s%s",
                rq->vendor ? " vendor " : "", rq->vendor ? rq->vendor : "",
                rq->account ? " account " : "", rq->account ? rq->account : "",
                rq->stream ? " stream " : "", rq->stream ? rq->stream : "");
        failed = 1;
    }
out:
    loader_free(ld);
    return failed ? -1 : 0;
}
