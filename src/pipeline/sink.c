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

/* The progress line is redrawn at most this often between pages. */
#define STATUS_EVERY_US 250000
/* Samples of (time, requests sent) for "requests left in the window", one
 * per window / (RING - 4) at most: RING of them span more than the window,
 * and the newest one older than the window is at most that much older (the
 * count errs high, the requests left low). */
#define RING 64

struct req_sample {
    int64_t t_us;
    long sent;
};

struct sink {
    struct sink_opts o;
    char *vendor, *account, *stream, *checkpoint; /* the copies o points to */
    struct log_ctx log;
    struct loader *ld; /* where batches go: o.loader, or its dry companion */
    long requests_before;
    struct sink_counts n;
    /* The progress line (sink_progress). */
    int64_t opened_us, drawn_us;
    double fraction; /* the last share of the range reported; < 0 unknown */
    char what[96];   /* the last page or window reported */
    long records;    /* results and quarantined records handed in */
    struct req_sample ring[RING];
    size_t ring_n, ring_next;
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
    s->ld = o->dry_run ? load_dry_loader(o->loader, o->account_id, err) : o->loader;
    if (!s->ld) {
        sink_close(s);
        return NULL;
    }
    /* The extractor may already be running on another thread: count from here. */
    s->requests_before = o->http ? http_requests_sent(o->http) : 0;
    s->opened_us = clock_system()->now_us(NULL);
    s->fraction = -1;
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
    if (s->drawn_us)
        log_status_end();
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

/* Records how many requests the run has sent so far, and when (status and
 * the metrics report it): a failure here costs accuracy, not data. */
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
    const struct ss_batch *vq = load_quarantined(s->ld);
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
        if (load_batch(s->ld, s->o.account_id, s->o.run_id, s->checkpoint, &part,
                       last ? cursor : NULL, scales_version(s->o.sc), &s->n.loaded, err) != 0)
            return -1;
        if (!s->o.dry_run)
            s->n.commits++;
        log_loader_quarantine(s);
    } while (off < b->n_res);
    return 0;
}

static void draw_status(struct sink *s, int64_t now);

/* The live line, or log lines (off a terminal, JSON logs, --jobs). */
static int status_line(const struct sink *s)
{
    return !s->o.no_status_line && log_status_enabled();
}

int sink_emit(struct sink *s, struct ss_batch *b, const char *cursor, struct ss_err *err)
{
    int rc = -1;
    s->records += (long)(b->n_res + b->n_quar);
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
    int64_t t1 = clock_system()->now_us(NULL);
    slog_debug(&s->log, "loaded %zu results, %zu candidates in %.0f ms", b->n_res, b->n_cand,
               (double)(t1 - t0) / 1000.0);
    if (rc == 0)
        note_requests(s);
    /* Between pages too: a window of thousands of records loads in parts. */
    if (rc == 0 && t1 - s->drawn_us >= STATUS_EVERY_US && status_line(s))
        draw_status(s, t1);
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
    return load_result_keys(s->ld, s->o.account_id, s->stream, statuses, days, max, keys, cands, n,
                            err);
}

/* Requests sent in the last window_seconds: those since the newest sample
 * at least that old; with none that old, every request of the client (those
 * sent before this sink opened counted as recent). Records a sample. */
static long window_sent(struct sink *s, int64_t now)
{
    long sent = http_requests_sent(s->o.http);
    int64_t span = (int64_t)(s->o.window_seconds * 1e6);
    const struct req_sample *last = s->ring_n ? &s->ring[(s->ring_next + RING - 1) % RING] : NULL;
    if (!last || now - last->t_us >= span / (RING - 4)) {
        s->ring[s->ring_next] = (struct req_sample){now, sent};
        s->ring_next = (s->ring_next + 1) % RING;
        if (s->ring_n < RING)
            s->ring_n++;
    }
    long base = 0;
    int64_t base_t = 0;
    for (size_t i = 0; i < s->ring_n; i++) {
        const struct req_sample *r = &s->ring[i];
        if (now - r->t_us >= span && (base_t == 0 || r->t_us > base_t)) {
            base = r->sent;
            base_t = r->t_us;
        }
    }
    return sent - base;
}

/* "1h05m", "3m07s", "42s". */
static void fmt_duration(double s, char *out, size_t n)
{
    long t = s < 0 ? 0 : (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(out, n, "%lds", t);
}

/* The live line: share, records, rows/s, requests left, ETA. */
static void draw_status(struct sink *s, int64_t now)
{
    const struct load_counts *c = &s->n.loaded;
    double elapsed = (double)(now - s->opened_us) / 1e6;
    long rows = c->res_inserted + c->res_updated + c->res_unchanged;
    char share[128], left[96] = "no request limit", eta[32] = "?";
    if (s->fraction >= 0)
        snprintf(share, sizeof share, "%.0f%% of range", s->fraction * 100.0);
    else
        snprintf(share, sizeof share, "%s", s->what[0] ? s->what : "starting");
    if (s->o.http && s->o.window_requests > 0 && s->o.window_seconds > 0) {
        long l = s->o.window_requests - window_sent(s, now);
        double w = s->o.window_seconds;
        char per[32];
        if (w >= 3600 && (long)w % 3600 == 0)
            snprintf(per, sizeof per, "%ld h", (long)w / 3600);
        else if (w >= 60 && (long)w % 60 == 0)
            snprintf(per, sizeof per, "%ld min", (long)w / 60);
        else
            snprintf(per, sizeof per, "%g s", w);
        snprintf(left, sizeof left, "%ld requests left in %s", l > 0 ? l : 0, per);
    }
    /* The share is of what this run reads (a resumed backfill starts at 0). */
    if (s->fraction >= 1)
        snprintf(eta, sizeof eta, "0s");
    else if (s->fraction > 0)
        fmt_duration(elapsed * (1 - s->fraction) / s->fraction, eta, sizeof eta);
    char line[512];
    snprintf(line, sizeof line, "%s/%s %s%s: %s, %ld records, %.0f rows/s, %s, ETA %s", s->vendor,
             s->account, s->stream, s->o.dry_run ? " (dry run)" : "", share, s->records,
             elapsed > 0.001 ? (double)rows / elapsed : 0.0, left, eta);
    log_status(line);
    s->drawn_us = now;
}

void sink_progress(struct sink *s, const char *what, long records, double fraction_done)
{
    s->fraction = fraction_done;
    snprintf(s->what, sizeof s->what, "%s", what ? what : "");
    if (status_line(s)) {
        draw_status(s, clock_system()->now_us(NULL));
        return;
    }
    const struct load_counts *c = &s->n.loaded;
    char share[48] = "";
    if (fraction_done >= 0)
        snprintf(share, sizeof share, "; %.0f%% of range", fraction_done * 100.0);
    slog_info(&s->log,
              "%s: %ld records%s; so far %ld new, %ld updated, %ld unchanged, %ld quarantined",
              what ? what : "page", records, share, c->res_inserted, c->res_updated,
              c->res_unchanged, c->quarantined);
}
