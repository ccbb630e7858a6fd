/* record: batch storage for normalised records. */
#include "record.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "timeparse.h"

char *ss_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

void batch_init(struct ss_batch *b)
{
    memset(b, 0, sizeof *b);
}

struct ss_candidate *batch_add_candidate(struct ss_batch *b)
{
    if (arr_grow((void **)&b->cand, b->n_cand, &b->cap_cand, sizeof *b->cand) != 0)
        return NULL;
    struct ss_candidate *c = &b->cand[b->n_cand++];
    memset(c, 0, sizeof *c);
    return c;
}

struct ss_assessment *batch_add_assessment(struct ss_batch *b)
{
    if (arr_grow((void **)&b->assess, b->n_assess, &b->cap_assess, sizeof *b->assess) != 0)
        return NULL;
    struct ss_assessment *a = &b->assess[b->n_assess++];
    memset(a, 0, sizeof *a);
    return a;
}

struct ss_group *batch_add_group(struct ss_batch *b)
{
    if (arr_grow((void **)&b->groups, b->n_groups, &b->cap_groups, sizeof *b->groups) != 0)
        return NULL;
    struct ss_group *g = &b->groups[b->n_groups++];
    memset(g, 0, sizeof *g);
    g->score = NAN;
    g->assigned_at = g->completed_at = TS_NULL;
    return g;
}

int group_add_member(struct ss_group *g, const char *key)
{
    char *k = strdup(key ? key : "");
    char **p = k ? realloc(g->member_keys, (g->n_members + 1) * sizeof *p) : NULL;
    if (!p) {
        free(k);
        return -1;
    }
    g->member_keys = p;
    p[g->n_members++] = k;
    return 0;
}

void assessment_clear(struct ss_assessment *a)
{
    free(a->vendor_key);
    free(a->name);
    free(a->assessment_type);
    free(a->raw_json);
    memset(a, 0, sizeof *a);
}

static void band_init(struct ss_band *bd)
{
    bd->label = NULL;
    bd->low = NAN;
    bd->high = NAN;
}

struct ss_result *batch_add_result(struct ss_batch *b)
{
    if (arr_grow((void **)&b->res, b->n_res, &b->cap_res, sizeof *b->res) != 0)
        return NULL;
    struct ss_result *r = &b->res[b->n_res++];
    result_init(r);
    return r;
}

void result_init(struct ss_result *r)
{
    memset(r, 0, sizeof *r);
    r->assigned_at = r->started_at = r->completed_at = r->expires_at = TS_NULL;
    r->duration_us = TS_NULL;
    r->passed = -1;
    r->score = NAN;
    r->scale_min = r->scale_max = r->score_pct = NAN;
    band_init(&r->toefl);
    band_init(&r->ielts);
    band_init(&r->toeic);
}

int batch_add_quarantine(struct ss_batch *b, const char *key, const char *field, const char *reason,
                         const char *raw, struct ss_err *err)
{
    if (arr_grow((void **)&b->quar, b->n_quar, &b->cap_quar, sizeof *b->quar) != 0)
        return err_set(err, SS_ENOMEM, "out of memory adding a quarantine record");
    struct ss_quarantine q = {ss_strdup(key), ss_strdup(field), ss_strdup(reason), ss_strdup(raw)};
    if ((key && !q.record_key) || (field && !q.field) || (reason && !q.reason) || (raw && !q.raw)) {
        free(q.record_key);
        free(q.field);
        free(q.reason);
        free(q.raw);
        return err_set(err, SS_ENOMEM, "out of memory adding a quarantine record");
    }
    b->quar[b->n_quar++] = q;
    return 0;
}

static void quarantine_clear(struct ss_quarantine *q)
{
    free(q->record_key);
    free(q->field);
    free(q->reason);
    free(q->raw);
    memset(q, 0, sizeof *q);
}

void batch_drop_last_result(struct ss_batch *b)
{
    if (b->n_res == 0)
        return;
    result_clear(&b->res[--b->n_res]);
}

void batch_drop_last_candidate(struct ss_batch *b)
{
    if (b->n_cand == 0)
        return;
    candidate_clear(&b->cand[--b->n_cand]);
}

void result_add_note(struct ss_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t old = r->norm_notes ? strlen(r->norm_notes) : 0;
    size_t sep = old ? 2 : 0;
    char *p = realloc(r->norm_notes, old + sep + (size_t)n + 1);
    if (!p)
        return; /* notes are advisory; losing one on OOM is acceptable */
    if (sep)
        memcpy(p + old, "; ", 2);
    va_start(ap, fmt);
    vsnprintf(p + old + sep, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->norm_notes = p;
}

struct ss_subscore *result_add_subscore(struct ss_result *r)
{
    struct ss_subscore *p = realloc(r->subscores, (r->n_subscores + 1) * sizeof *p);
    if (!p)
        return NULL;
    r->subscores = p;
    struct ss_subscore *s = &p[r->n_subscores++];
    s->name = NULL;
    s->value = NAN;
    s->max = NAN;
    return s;
}

static void level_clear(struct ss_level *l)
{
    free(l->label);
    free(l->rule);
}

void result_clear(struct ss_result *r)
{
    free(r->vendor_key);
    free(r->candidate_key);
    free(r->stream);
    free(r->assessment_name);
    free(r->assessment_type);
    free(r->assessment_version);
    free(r->status_label);
    free(r->score_label);
    free(r->placement);
    level_clear(&r->cefr);
    level_clear(&r->actfl);
    free(r->toefl.label);
    free(r->ielts.label);
    free(r->toeic.label);
    for (size_t i = 0; i < r->n_subscores; i++)
        free(r->subscores[i].name);
    free(r->subscores);
    free(r->skill);
    free(r->certificate_url);
    free(r->raw_json);
    free(r->norm_notes);
    memset(r, 0, sizeof *r);
}

void group_clear(struct ss_group *g)
{
    free(g->vendor_key);
    free(g->candidate_key);
    free(g->score_label);
    level_clear(&g->cefr);
    free(g->level_name);
    for (size_t i = 0; i < g->n_members; i++)
        free(g->member_keys[i]);
    free(g->member_keys);
    free(g->raw_json);
    memset(g, 0, sizeof *g);
}

void candidate_clear(struct ss_candidate *c)
{
    free(c->vendor_key);
    free(c->email);
    free(c->given_name);
    free(c->family_name);
    free(c->username);
    free(c->student_id);
    free(c->unique_identifier);
    free(c->raw_json);
    memset(c, 0, sizeof *c);
}

void batch_reset(struct ss_batch *b)
{
    for (size_t i = 0; i < b->n_cand; i++)
        candidate_clear(&b->cand[i]);
    for (size_t i = 0; i < b->n_res; i++)
        result_clear(&b->res[i]);
    for (size_t i = 0; i < b->n_quar; i++)
        quarantine_clear(&b->quar[i]);
    for (size_t i = 0; i < b->n_assess; i++)
        assessment_clear(&b->assess[i]);
    for (size_t i = 0; i < b->n_groups; i++)
        group_clear(&b->groups[i]);
    b->n_cand = b->n_res = b->n_quar = b->n_assess = b->n_groups = 0;
}

void batch_free(struct ss_batch *b)
{
    batch_reset(b);
    free(b->cand);
    free(b->res);
    free(b->quar);
    free(b->assess);
    free(b->groups);
    memset(b, 0, sizeof *b);
}
