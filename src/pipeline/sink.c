/* sink: normalise -> log -> load in parts -> note requests. */
#include "sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/clock.h"
#include "../load/runs.h"

/* Per sink, this many unknown-label notes and quarantined records are
 * logged one by one; the rest are counted (`scoresync status` lists all). */
#define LOG_EACH_MAX 50

struct sink {
    struct sink_opts o;
    char *vendor, *account, *stream, *checkpoint; /* the copies o points to */
    struct log_ctx log;
    long requests_before;
    struct sink_counts n;
};

struct sink *sink_open(const struct sink_opts *o, struct ss_err *err)
{
    struct sink *s = calloc(1, sizeof *s);
    if (!s)
        goto oom;
    s->o = *o;
    s->vendor = ss_strdup(o->vendor);
    s->account = ss_strdup(o->account);
    s->stream = ss_strdup(o->stream);
    s->checkpoint = ss_strdup(o->checkpoint ? o->checkpoint : o->stream);
    if (!s->vendor || !s->account || !s->stream || !s->checkpoint)
        goto oom;
    s->o.vendor = s->vendor;
    s->o.account = s->account;
    s->o.stream = s->stream;
    s->o.checkpoint = s->checkpoint;
    s->log = (struct log_ctx){s->vendor, s->account, s->stream};
    /* The extractor may already be running on another thread: count from here. */
    s->requests_before = o->http ? http_requests_sent(o->http) : 0;
    return s;
oom:
    sink_close(s);
    err_set(err, SS_ENOMEM, "out of memory");
    return NULL;
}

void sink_close(struct sink *s)
{
    if (!s)
        return;
    if (s->n.loaded.duplicates > 0)
        slog_warn(&s->log, "%ld records repeated identically within a response were loaded once",
                  s->n.loaded.duplicates);
    if (s->n.noted > LOG_EACH_MAX || s->n.quarantined > LOG_EACH_MAX)
        slog_warn(&s->log,
                  "%ld results with unknown labels and %ld quarantined records in all (only the "
                  "first %d of each were logged); `scoresync status` lists them",
                  s->n.noted, s->n.quarantined, LOG_EACH_MAX);
    free(s->vendor);
    free(s->account);
    free(s->stream);
    free(s->checkpoint);
    free(s);
}

const struct sink_counts *sink_counts(const struct sink *s)
{
    return &s->n;
}

const struct log_ctx *sink_log(const struct sink *s)
{
    return &s->log;
}

/* Records how many requests the run has sent so far, and when (see
 * load_recent_requests): a failure here costs accuracy, not data. */
static void note_requests(struct sink *s)
{
    if (!s->o.http || s->o.run_id <= 0)
        return;
    struct ss_err e = {0};
    if (load_run_requests(s->o.loader, s->o.run_id,
                          http_requests_sent(s->o.http) - s->requests_before, &e) != 0)
        slog_warn(&s->log, "could not record the request count: %s", e.msg);
}

/* The records the loader itself quarantined in its last batch (what the
 * database would refuse, ambiguous duplicates), logged like the parsers'. */
static void log_loader_quarantine(struct sink *s)
{
    const struct ss_batch *vq = load_quarantined(s->o.loader);
    for (size_t i = 0; i < vq->n_quar; i++) {
        const struct ss_quarantine *q = &vq->quar[i];
        if (s->n.quarantined++ < LOG_EACH_MAX)
            slog_warn(&s->log, "record %s%s%s: %s (quarantined)", q->record_key,
                      q->field ? " field " : "", q->field ? q->field : "", q->reason);
    }
}

/* Loads b in transactions of at most batch_rows results. Candidates and
 * quarantine rows go with the first part (later parts' results refer to
 * those candidates); only the last part carries the cursor. */
static int load_parts(struct sink *s, const struct ss_batch *b, const char *cursor,
                      struct ss_err *err)
{
    size_t per = s->o.batch_rows > 0 ? s->o.batch_rows : b->n_res;
    size_t off = 0;
    do {
        struct ss_batch part;
        memset(&part, 0, sizeof part);
        part.supplementary = b->supplementary || s->o.supplementary;
        if (off == 0) {
            part.cand = b->cand;
            part.n_cand = b->n_cand;
            part.quar = b->quar;
            part.n_quar = b->n_quar;
            part.assess = b->assess;
            part.n_assess = b->n_assess;
            part.groups = b->groups;
            part.n_groups = b->n_groups;
        }
        part.res = b->res + off;
        part.n_res = b->n_res - off < per ? b->n_res - off : per;
        off += part.n_res;
        int last = off >= b->n_res;
        if (load_batch(s->o.loader, s->o.account_id, s->o.run_id, s->checkpoint, &part,
                       last ? cursor : NULL, scales_version(s->o.sc), &s->n.loaded, err) != 0)
            return -1;
        s->n.commits++;
        log_loader_quarantine(s);
    } while (off < b->n_res);
    return 0;
}

int sink_emit(struct sink *s, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    int rc = -1;
    for (size_t i = 0; i < b->n_res; i++) {
        struct ss_result *r = &b->res[i];
        if (!r->stream && !(r->stream = strdup(s->stream))) {
            err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        norm_result(s->o.sc, s->vendor, r);
        if (r->norm_notes && s->n.noted++ < LOG_EACH_MAX)
            slog_warn(&s->log, "result %s: %s", r->vendor_key ? r->vendor_key : "(no id)",
                      r->norm_notes);
    }
    for (size_t i = 0; i < b->n_groups; i++) {
        /* A group's overall level: the CEFR ranks only (its level name stays
         * the vendor's); an unknown label keeps null ranks. */
        struct ss_group *g = &b->groups[i];
        if (g->cefr.label && norm_cefr(s->o.sc, g->cefr.label, &g->cefr.low, &g->cefr.high) != 0)
            g->cefr.low = g->cefr.high = 0;
    }
    for (size_t i = 0; i < b->n_quar; i++) {
        const struct ss_quarantine *q = &b->quar[i];
        if (s->n.quarantined++ < LOG_EACH_MAX)
            slog_warn(&s->log, "record %s%s%s: %s (quarantined)",
                      q->record_key ? q->record_key : "(unknown)", q->field ? " field " : "",
                      q->field ? q->field : "", q->reason ? q->reason : "(no reason given)");
    }
    int64_t t0 = clock_system()->now_us(NULL);
    rc = load_parts(s, b, cursor, err);
    slog_debug(&s->log, "loaded %zu results, %zu candidates in %.0f ms", b->n_res, b->n_cand,
               (double)(clock_system()->now_us(NULL) - t0) / 1000.0);
    if (rc == 0)
        note_requests(s);
out:
    batch_reset(b);
    return rc;
}

long sink_changed(const struct sink *s)
{
    const struct load_counts *c = &s->n.loaded;
    return c->res_inserted + c->res_updated + c->cand_inserted + c->cand_updated +
           c->groups_changed;
}

int sink_stored_keys(struct sink *s, const char *const *statuses, int days, long max, char ***keys,
                     char ***cands, size_t *n, struct ss_err *err)
{
    return load_result_keys(s->o.loader, s->o.account_id, s->stream, statuses, days, max, keys,
                            cands, n, err);
}

void sink_progress(struct sink *s, const char *what, long records, double fraction_done)
{
    const struct load_counts *c = &s->n.loaded;
    char share[48] = "";
    if (fraction_done >= 0)
        snprintf(share, sizeof share, "; %.0f%% of range", fraction_done * 100.0);
    slog_info(&s->log,
              "%s: %ld records%s; so far %ld new, %ld updated, %ld unchanged, %ld quarantined",
              what ? what : "page", records, share, c->res_inserted, c->res_updated,
              c->res_unchanged, c->quarantined);
}
