/* prefetch: a reader thread and the caller's loading thread, one part in
 * between. The reader owns the HTTP client, the pager and the vendor's
 * parsing; the caller owns emit (the database) and progress. */
#include "prefetch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_RECORDS_DEFAULT 1000

struct part {
    struct ss_batch b;
    int page_end; /* the last part of a page: carries its cursor */
    char cursor[PAGER_TOKEN_MAX];
    char what[128];  /* the page, for progress */
    long records;    /* the page's records (page_end only) */
    double fraction; /* share done after this page (page_end only) */
};

/* The result ids of one page already handed over, so that an id met again
 * in a later part of the same response is not loaded over the first copy
 * without a word (the loader sees one part at a time). Open addressing;
 * cleared at every page and retried attempt. */
struct keyset {
    char **slot;
    size_t cap, n;
};

static uint64_t key_hash(const char *k)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 0x100000001b3ULL;
    return h;
}

static void keyset_clear(struct keyset *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slot[i]);
        s->slot[i] = NULL;
    }
    s->n = 0;
}

static void keyset_free(struct keyset *s)
{
    keyset_clear(s);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

static size_t keyset_find(const struct keyset *s, const char *k)
{
    size_t i = key_hash(k) & (s->cap - 1);
    while (s->slot[i] && strcmp(s->slot[i], k) != 0)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static int keyset_has(const struct keyset *s, const char *k)
{
    return s->cap && s->slot[keyset_find(s, k)] != NULL;
}

/* 0 added (or there already), -1 out of memory. */
static int keyset_add(struct keyset *s, const char *k)
{
    if ((s->n + 1) * 2 > s->cap) {
        struct keyset g = {calloc(s->cap ? s->cap * 2 : 1024, sizeof(char *)), 0, 0};
        if (!g.slot)
            return -1;
        g.cap = s->cap ? s->cap * 2 : 1024;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i]) {
                g.slot[keyset_find(&g, s->slot[i])] = s->slot[i];
                g.n++;
            }
        free(s->slot);
        *s = g;
    }
    size_t i = keyset_find(s, k);
    if (s->slot[i])
        return 0;
    if (!(s->slot[i] = strdup(k)))
        return -1;
    s->n++;
    return 0;
}

/* Results of b whose id an earlier part of this page already carried are
 * quarantined (the earlier copy stays loaded); then b's ids join the set. */
static int drop_repeats(struct keyset *seen, struct ss_batch *b, struct ss_err *err)
{
    size_t keep = 0;
    for (size_t i = 0; i < b->n_res; i++) {
        struct ss_result *r = &b->res[i];
        if (r->vendor_key && keyset_has(seen, r->vendor_key)) {
            int rc = batch_add_quarantine(b, r->vendor_key, NULL,
                                          "the same result id came earlier in this response "
                                          "(that copy was loaded); this later copy is not",
                                          r->raw_json, err);
            result_clear(r);
            if (rc != 0)
                return -1;
            continue;
        }
        if (keep != i)
            b->res[keep] = *r;
        keep++;
    }
    b->n_res = keep;
    for (size_t i = 0; i < b->n_res; i++)
        if (b->res[i].vendor_key && keyset_add(seen, b->res[i].vendor_key) != 0)
            return err_set(err, SS_ENOMEM, "out of memory");
    return 0;
}

struct run {
    struct vendor_ctx *ctx;
    struct pager *pager;
    page_fetch_fn fetch;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct part slot;
    int full;   /* slot holds a part for the caller */
    int done;   /* the reader has finished (see rc) */
    int cancel; /* the caller failed: the reader stops */
    int rc;
    struct ss_err err;
    /* reader-side */
    struct ss_batch *filling;
    struct ss_batch spare;
    struct keyset seen; /* result ids of the page's parts handed over so far */
};

/* Hands *b to the caller once it has taken the previous part; *b comes back
 * empty (the caller's emptied batch). -1 when the caller gave up. */
static int hand_over(struct run *r, struct ss_batch **b, const struct part *meta)
{
    pthread_mutex_lock(&r->mu);
    while (r->full && !r->cancel)
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->cancel) {
        pthread_mutex_unlock(&r->mu);
        return -1;
    }
    struct ss_batch tmp = r->slot.b;
    r->slot = *meta;
    r->slot.b = **b;
    **b = tmp;
    batch_reset(*b);
    (*b)->supplementary = r->ctx->stream ? r->ctx->stream->supplementary : 0;
    r->full = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void restart_page(void *arg)
{
    keyset_clear(&((struct run *)arg)->seen);
}

static int flush_part(void *arg, struct ss_batch **b, struct ss_err *err)
{
    struct run *r = arg;
    struct part meta;
    memset(&meta, 0, sizeof meta);
    if (drop_repeats(&r->seen, *b, err) != 0)
        return -1;
    if (hand_over(r, b, &meta) != 0)
        return err_set(err, SS_EIO, "the loader stopped");
    return 0;
}

static void *reader_main(void *argp)
{
    struct run *r = argp;
    struct vendor_ctx *ctx = r->ctx;
    struct ss_batch *b = &r->spare;
    b->supplementary = ctx->stream ? ctx->stream->supplementary : 0;
    struct page_out out = {b, ctx->part_records ? ctx->part_records : PART_RECORDS_DEFAULT,
                           flush_part, r, restart_page};
    struct ss_err err = {0};
    int rc = 0;
    struct page_req req;

    while (pager_next(r->pager, &req)) {
        if (ctx->stop && *ctx->stop)
            break;
        struct page_res res;
        memset(&res, 0, sizeof res);
        err_clear(&err);
        batch_reset(out.b);
        keyset_clear(&r->seen);
        int frc = r->fetch(r->arg, ctx, &req, &out, &res, &err);
        if (frc != 0 && err.code == SS_ETOOBIG)
            res.too_big = 1;
        else if (frc != 0) {
            rc = -1;
            break;
        }
        if (req.recheck)
            ctx->recheck_requests++;
        struct part meta;
        memset(&meta, 0, sizeof meta);
        int prc = pager_done(r->pager, &req, &res, meta.cursor, sizeof meta.cursor, &err);
        if (prc < 0) {
            rc = -1;
            break;
        }
        if (prc == 1) { /* read the same range again, smaller */
            slog_info(&ctx->log, "response over the size cap; reading a smaller window");
            err_clear(&err);
            batch_reset(out.b);
            continue;
        }
        meta.page_end = 1;
        meta.records = res.records;
        meta.fraction = pager_fraction(r->pager);
        pager_describe(r->pager, &req, meta.what, sizeof meta.what);
        if (drop_repeats(&r->seen, out.b, &err) != 0) {
            rc = -1;
            break;
        }
        if (hand_over(r, &out.b, &meta) != 0)
            break;
        ctx->pages++;
    }
    pthread_mutex_lock(&r->mu);
    r->rc = rc;
    r->err = err;
    r->done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int prefetch_run(struct vendor_ctx *ctx, struct pager *p, page_fetch_fn fetch, void *arg,
                 struct ss_err *err)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.pager = p;
    r.fetch = fetch;
    r.arg = arg;
    batch_init(&r.slot.b);
    batch_init(&r.spare);
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_t reader;
    if (pthread_create(&reader, NULL, reader_main, &r) != 0) {
        pthread_cond_destroy(&r.cv);
        pthread_mutex_destroy(&r.mu);
        return err_set(err, SS_EIO, "could not start the reader thread");
    }

    int rc = 0;
    struct part mine;
    memset(&mine, 0, sizeof mine);
    batch_init(&mine.b);
    for (;;) {
        pthread_mutex_lock(&r.mu);
        while (!r.full && !r.done)
            pthread_cond_wait(&r.cv, &r.mu);
        if (!r.full) { /* done, nothing left */
            pthread_mutex_unlock(&r.mu);
            break;
        }
        struct ss_batch tmp = mine.b;
        mine = r.slot;
        r.slot.b = tmp;
        r.full = 0;
        pthread_cond_broadcast(&r.cv);
        pthread_mutex_unlock(&r.mu);

        const char *cursor = mine.page_end && mine.cursor[0] ? mine.cursor : NULL;
        if (ctx->emit(ctx->sink, &mine.b, cursor, err) != 0) {
            rc = -1;
            pthread_mutex_lock(&r.mu);
            r.cancel = 1;
            pthread_cond_broadcast(&r.cv);
            pthread_mutex_unlock(&r.mu);
            break;
        }
        batch_reset(&mine.b);
        if (mine.page_end && ctx->progress)
            ctx->progress(ctx->sink, mine.what, mine.records, mine.fraction);
    }
    pthread_join(reader, NULL);
    /* Everything the reader read before failing has been loaded. */
    if (rc == 0 && r.rc != 0) {
        *err = r.err;
        rc = -1;
    }
    batch_free(&mine.b);
    batch_free(&r.slot.b);
    batch_free(&r.spare);
    keyset_free(&r.seen);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    return rc;
}
