/* pipeline: accounts and streams -> vendor extract -> sink. No SQL here:
 * the database side of a run is load.h / runs.h, normalise + load is sink.h. */
#include "pipeline.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../core/log.h"
#include "../load/documents.h"
#include "../load/runs.h"
#include "../vendors/vendor.h"
#include "account.h"
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

/* vendor_ctx.docs: where a stream's documents go (load/documents.h). A dry
 * run fetches none: a document it would fetch is counted and called
 * current, so it costs no request and nothing is stored. */
struct doc_target {
    struct loader *ld;
    int64_t account_id;
    int dry_run;
    long would_fetch;
};

static int document_current_cb(void *docs, const char *kind, const char *owner_key,
                               const unsigned char source_sha256[32], struct ss_err *err)
{
    struct doc_target *t = docs;
    int current = 0;
    if (load_document_current(t->ld, t->account_id, kind, owner_key, source_sha256, &current,
                              err) != 0)
        return -1;
    if (!current && t->dry_run) {
        t->would_fetch++;
        return 1;
    }
    return current;
}

static int document_cb(void *docs, const struct vendor_document *d, struct ss_err *err)
{
    const struct doc_target *t = docs;
    if (t->dry_run)
        return 0; /* not reached: a dry run fetches no document */
    const struct load_document ld = {d->kind,    d->owner_key, d->file_name, d->mime,
                                     d->content, d->size,      d->sha256,    d->source_sha256};
    int written = 0;
    return load_document_put(t->ld, t->account_id, &ld, &written, err);
}

static int run_stream(struct account_run *ar, const struct vendor_stream *vs, struct ss_err *err)
{
    const struct sync_request *rq = ar->rq;
    const struct cfg_account *acct = ar->acct;
    const struct log_ctx lc = {ar->v->name, acct->name, vs->name};
    char key[160];
    load_checkpoint_key(vs->name, rq->backfill, rq->since, rq->until, key, sizeof key);
    char *cursor = NULL;
    int64_t *recheck = NULL;
    size_t n_recheck = 0;
    int64_t run_id = 0;
    struct sink *s = NULL;
    struct run_stats st;
    memset(&st, 0, sizeof st);
    struct http_stats before = *http_stats(ar->http);
    int rc = -1;
    const char *command = rq->backfill ? "backfill" : "sync";
    char args[256];
    /* A dry run's mode is "dry-run" (sql/009): it never stands in for the
     * stream's last sync in `status` and the metrics. */
    snprintf(args, sizeof args, "{\"checkpoint\": \"%s\"%s%s%s}", key,
             rq->dry_run ? ", \"dry_run\": true, \"command\": \"" : "", rq->dry_run ? command : "",
             rq->dry_run ? "\"" : "");
    struct doc_target docs = {ar->ld, ar->account_id, rq->dry_run, 0};

    if (load_checkpoint_get(loader_db(ar->ld), ar->account_id, key, &cursor, err) != 0 ||
        load_run_begin(ar->ld, ar->account_id, vs->name, rq->dry_run ? "dry-run" : command, args,
                       &run_id, err) != 0)
        goto out;
    slog_info(&lc, "%s%s from %s", command, rq->dry_run ? " (dry run: nothing is written)" : "",
              cursor ? cursor : "the beginning");
    /* A dry run reads back what it would have written (load_dry_loader),
     * as a real run reads what its earlier streams committed. */
    struct loader *data_ld = rq->dry_run ? load_dry_loader(ar->ld, ar->account_id, err) : ar->ld;
    if (!data_ld)
        goto finish;
    if (!rq->backfill && vs->recheck_statuses &&
        load_recheck_times(data_ld, ar->account_id, vs->name, vs->recheck_column,
                           vs->recheck_statuses, acct->recheck_days, &recheck, &n_recheck,
                           err) != 0) {
        slog_warn(&lc, "%s; not re-reading unfinished results this run", err->msg);
        err_clear(err);
    }

    /* The progress line's "requests left": the longest rate window. */
    long window_requests = 0;
    double window_seconds = 0;
    for (int i = 0; i < acct->n_rate; i++)
        if (acct->rate[i].per_seconds > window_seconds) {
            window_seconds = acct->rate[i].per_seconds;
            window_requests = acct->rate[i].requests;
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
        .dry_run = rq->dry_run,
        .no_status_line = rq->jobs > 1,
        .window_requests = window_requests,
        .window_seconds = window_seconds,
    };
    s = sink_open(&so, err);
    if (!s)
        goto finish;

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
    sink_close(s); /* first: it ends the progress line */
    if (rq->dry_run && docs.would_fetch > 0)
        slog_info(&lc,
                  "dry run: %ld documents are missing or out of date; a real run fetches them "
                  "(within its per-run cap), this one fetched none",
                  docs.would_fetch);
    slog_info(&lc,
              "%s%s: %ld requests (%ld retries, %ld 429s), results %ld new, %ld updated, "
              "%ld unchanged, candidates %ld new, %ld updated, %ld quarantined",
              status, rq->dry_run ? " (dry run, nothing written)" : "", st.requests, st.retries,
              st.status_429, c->res_inserted, c->res_updated, c->res_unchanged, c->cand_inserted,
              c->cand_updated, c->quarantined);

    struct run_stats *t = &ar->sum->total;
    load_counts_add(&t->counts, c);
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

/* One rate limiter, ledger, HTTP client and credential per account (the
 * vendor's limits are per account), and one scoresync at a time per stream
 * and mode: a backfill runs beside the nightly sync of the same account,
 * their requests counted together by the ledger. */
static int sync_account(struct loader *ld, size_t batch_rows, const struct scales *sc,
                        const struct vendor_ops *v, const struct cfg_account *acct,
                        const struct sync_request *rq, struct sync_summary *sum, struct ss_err *err)
{
    struct account_io io;
    memset(&io, 0, sizeof io);
    struct account_run ar = {ld, sc, batch_rows, v, acct, NULL, &io.auth, 0, 0, rq, sum};
    int failed = 0;
    if (load_account(ld, v->name, acct->name, &ar.account_id, err) != 0 ||
        account_io_open(&io, loader_db(ld), v, acct, ar.account_id, err) != 0) {
        err_prefix(err, "%s/%s", v->name, acct->name);
        log_error("%s", err->msg);
        sum->streams_failed++;
        failed = 1;
        goto out;
    }
    ar.http = io.http;
    ar.now = clock_wall_us();
    const char *mode = rq->backfill ? "backfill" : "sync";
    for (const struct vendor_stream *vs = v->streams; vs && vs->name; vs++) {
        if (rq->stream ? strcmp(rq->stream, vs->name) != 0 : !cfg_stream_enabled(acct, vs->name))
            continue;
        if (rq->stop && *rq->stop)
            break;
        const struct log_ctx slc = {v->name, acct->name, vs->name};
        int rc = load_stream_lock(ld, ar.account_id, vs->name, mode, err);
        if (rc == 0) {
            rc = run_stream(&ar, vs, err);
            struct ss_err e = {0};
            if (load_stream_unlock(ld, ar.account_id, vs->name, mode, &e) != 0)
                slog_warn(&slc, "%s", e.msg);
        }
        if (rc != 0) {
            slog_error(&slc, "%s", err->msg);
            err_prefix(err, "%s %s", io.prefix, vs->name);
            sum->streams_failed++;
            failed = 1;
        } else {
            sum->streams_ok++;
        }
    }
out:
    account_io_close(&io);
    return failed ? -1 : 0;
}

/* One (vendor, account) pair the run visits. */
struct pair {
    const struct vendor_ops *v;
    const struct cfg_account *acct;
};

/* Syncs pairs[i] into its own entry: sync_account() adds to the summary it
 * is given, so each account gets a fresh one and nothing is shared. */
static void sync_pair(struct loader *ld, size_t batch_rows, const struct scales *sc,
                      const struct sync_request *rq, const struct pair *p,
                      struct sync_account_summary *a)
{
    struct sync_summary s;
    memset(&s, 0, sizeof s);
    a->started = 1;
    if (sync_account(ld, batch_rows, sc, p->v, p->acct, rq, &s, &a->err) != 0 &&
        s.streams_failed == 0)
        s.streams_failed = 1; /* a failure must show in the verdict and the exit status */
    a->streams_ok = s.streams_ok;
    a->streams_failed = s.streams_failed;
    a->interrupted = s.interrupted;
    a->commits = s.commits;
    a->total = s.total;
    if (a->streams_failed == 0)
        err_clear(&a->err);
}

/* What the workers of a --jobs run share. Only `next` and the first
 * connection failure change while they run (under mu); each worker writes
 * its own pairs' entries of acc alone. */
struct pool {
    struct db *db; /* the caller's, only cloned */
    size_t batch_rows;
    const struct scales *sc;
    const struct sync_request *rq;
    const struct pair *pairs;
    struct sync_account_summary *acc;
    size_t n;
    pthread_mutex_t mu;
    size_t next;
    int conn_failed;
    struct ss_err conn_err;
};

/* A libpq connection must not be shared between threads: each worker opens
 * its own, with its own loader (its staging tables are per connection). */
static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    struct db *db = NULL;
    struct loader *ld = NULL;
    struct ss_err err = {0};
    if (db_clone(p->db, &db, &err) != 0 || !(ld = loader_new(db, &err))) {
        log_warn("a --jobs worker has no database connection: %s", err.msg);
        pthread_mutex_lock(&p->mu);
        if (!p->conn_failed)
            p->conn_err = err;
        p->conn_failed = 1;
        pthread_mutex_unlock(&p->mu);
        db_close(db);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->n;
        if (p->next < p->n && !(p->rq->stop && *p->rq->stop))
            i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            break;
        sync_pair(ld, p->batch_rows, p->sc, p->rq, &p->pairs[i], &p->acc[i]);
    }
    loader_free(ld);
    db_close(db);
    return NULL;
}

/* Runs pairs on min(jobs, n) threads. Returns the number of threads that
 * ran (0: none could be started, nothing was synced). */
static size_t run_pool(struct pool *p, int jobs)
{
    size_t want = (size_t)jobs < p->n ? (size_t)jobs : p->n, started = 0;
    pthread_t *th = calloc(want, sizeof *th);
    if (!th)
        return 0;
    /* Signals go to the calling thread: a worker inside libpq or curl is not
     * interrupted, and the handler's stop flag is read between pairs. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (; started < want; started++)
        if (pthread_create(&th[started], NULL, pool_worker, p) != 0)
            break;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started < want)
        log_warn("--jobs %d: only %zu worker thread%s could be started", jobs, started,
                 started == 1 ? "" : "s");
    for (size_t i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    free(th);
    return started;
}

static void add_stats(struct run_stats *t, const struct run_stats *s)
{
    load_counts_add(&t->counts, &s->counts);
    t->requests += s->requests;
    t->retries += s->retries;
    t->status_429 += s->status_429;
    t->errors += s->errors;
    t->windows += s->windows;
}

/* Every (vendor, account) pair rq selects, in configuration order, with the
 * same matching rules and errors as ever. Returns 0, 1 after a selection
 * error (err set; the pairs found still run), -1 out of memory. *out is
 * malloc'd (NULL when *n is 0). */
static int select_pairs(const struct config *cfg, const struct sync_request *rq, struct pair **out,
                        size_t *n, int *matched, struct ss_err *err)
{
    size_t cap = 0;
    int failed = 0;
    *out = NULL;
    *n = 0;
    *matched = 0;
    for (size_t i = 0; i < cfg->n_vendors; i++)
        cap += cfg->vendors[i].n_accounts;
    if (cap && !(*out = calloc(cap, sizeof **out))) {
        err_set(err, SS_ENOMEM, "out of memory");
        return -1;
    }
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
                (*matched)++;
            }
            continue;
        }
        for (size_t j = 0; j < cv->n_accounts; j++) {
            const struct cfg_account *a = &cv->accounts[j];
            if (rq->account && strcmp(rq->account, a->name) != 0)
                continue;
            (*matched)++;
            (*out)[(*n)++] = (struct pair){v, a};
        }
    }
    return failed;
}

int pipeline_sync(const struct config *cfg, struct db *db, const struct scales *sc,
                  const struct sync_request *rq, struct sync_summary *sum, struct ss_err *err)
{
    memset(sum, 0, sizeof *sum);
    struct pair *pairs = NULL;
    size_t n = 0;
    int matched = 0;
    int failed = select_pairs(cfg, rq, &pairs, &n, &matched, err);
    if (failed < 0)
        return -1;
    if (n && !(sum->accounts = calloc(n, sizeof *sum->accounts))) {
        free(pairs);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    sum->n_accounts = n;
    for (size_t i = 0; i < n; i++) {
        sum->accounts[i].vendor = pairs[i].v->name;
        sum->accounts[i].account = pairs[i].acct->name;
    }
    const size_t batch_rows = (size_t)cfg->db.batch_rows;

    size_t workers = 0;
    if (rq->jobs > 1 && n > 1) {
        struct pool p = {.db = db,
                         .batch_rows = batch_rows,
                         .sc = sc,
                         .rq = rq,
                         .pairs = pairs,
                         .acc = sum->accounts,
                         .n = n};
        pthread_mutex_init(&p.mu, NULL);
        workers = run_pool(&p, rq->jobs);
        pthread_mutex_destroy(&p.mu);
        /* Pairs no worker could take for want of a connection fail with
         * its error (a stop leaves them not started, as a serial run does). */
        for (size_t i = 0; workers && p.conn_failed && i < n; i++) {
            struct sync_account_summary *a = &sum->accounts[i];
            if (a->started || (rq->stop && *rq->stop))
                continue;
            a->started = 1;
            a->streams_failed = 1;
            a->err = p.conn_err;
            err_prefix(&a->err, "%s/%s", a->vendor, a->account);
        }
    }
    if (!workers && n) {
        /* One account after another on the caller's connection. */
        struct loader *ld = loader_new(db, err);
        if (!ld) {
            free(pairs);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            sync_pair(ld, batch_rows, sc, rq, &pairs[i], &sum->accounts[i]);
            if (rq->stop && *rq->stop)
                break;
        }
        loader_free(ld);
    }
    free(pairs);

    for (size_t i = 0; i < n; i++) {
        const struct sync_account_summary *a = &sum->accounts[i];
        sum->streams_ok += a->streams_ok;
        sum->streams_failed += a->streams_failed;
        /* An account the stop kept from starting counts as interrupted too. */
        sum->interrupted |= a->interrupted || !a->started;
        sum->commits += a->commits;
        add_stats(&sum->total, &a->total);
        if (a->streams_failed) {
            /* A failing account (refused key, vendor down) is logged and
             * counted; the others still run. */
            *err = a->err;
            failed = 1;
        }
    }
    if (!matched) {
        err_set(err, SS_ECONFIG, "no configured account matches%s%s%s%s%s%s",
                rq->vendor ? " vendor " : "", rq->vendor ? rq->vendor : "",
                rq->account ? " account " : "", rq->account ? rq->account : "",
                rq->stream ? " stream " : "", rq->stream ? rq->stream : "");
        failed = 1;
    }
    return failed ? -1 : 0;
}

void sync_summary_free(struct sync_summary *sum)
{
    if (!sum)
        return;
    free(sum->accounts);
    sum->accounts = NULL;
    sum->n_accounts = 0;
}
