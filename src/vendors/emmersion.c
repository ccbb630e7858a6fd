/* The Emmersion/TrueNorth API family (seeds/003 Emmersion 2020q3, seeds/002
 * TrueNorth 2020q1), and Emmersion 2020q3's vendor_ops. Streams:
 *   scores       POST /scores/ in date windows (completedOnOrAfter/Before in
 *                2020q3, so an attempt started before the checkpoint and
 *                finished after it is still read; startedOnOrAfter/Before in
 *                2020q1, with includeIncompleteAssessments and re-reads of
 *                unfinished attempts by their start window).
 *   assignments  POST /assignments/ in windows of assignedOnOrAfter/Before
 *                (2020q3 only): assigned, not yet finished attempts.
 * /scores has no paging: one response holds every matching user, hence the
 * window pager; the body is streamed, one user at a time. */
#include "emmersion.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/timeparse.h"
#include "fetch.h"
#include "jsonx.h"
#include "jstream.h"
#include "pager.h"
#include "prefetch.h"

static int user_fields(json_object *u, struct ss_candidate *c, const char *given_key,
                       const char *surname_key, const char *email_key, struct jx_fail *f)
{
    if (jx_id(u, "userId", 1, &c->vendor_key, f) || jx_str(u, email_key, 0, &c->email, f) ||
        jx_str(u, given_key, 0, &c->given_name, f) ||
        jx_str(u, surname_key, 0, &c->family_name, f) ||
        jx_str(u, "username", 0, &c->username, f) || jx_str(u, "studentId", 0, &c->student_id, f) ||
        jx_str(u, "uniqueIdentifier", 0, &c->unique_identifier, f))
        return -1;
    return 0;
}

static int level_label(json_object *rep, const char *key, char **out, struct jx_fail *f)
{
    if (jx_str(rep, key, 0, out, f))
        return -1;
    if (*out && (*out)[0] == '\0') { /* "" is no level */
        free(*out);
        *out = NULL;
    }
    return 0;
}

static int parse_subscores(json_object *rep, struct ss_result *r, struct jx_fail *f)
{
    json_object *subs;
    if (jx_typed(rep, "subScores", json_type_object, &subs, f))
        return -1;
    if (!subs)
        return 0;
    json_object_object_foreach(subs, name, v)
    {
        char field[64];
        snprintf(field, sizeof field, "subScores.%s", name);
        if (!json_object_is_type(v, json_type_object)) {
            snprintf(f->field, sizeof f->field, "%s", field);
            snprintf(f->reason, sizeof f->reason, "expected an object of correct/total");
            return -1;
        }
        struct ss_subscore *s = result_add_subscore(r);
        int has_c, has_t;
        if (!s || jx_num(v, "correct", 0, &s->value, &has_c, f) ||
            jx_num(v, "total", 0, &s->max, &has_t, f)) {
            if (s)
                snprintf(f->field, sizeof f->field, "%s", field);
            return -1;
        }
        s->name = strdup(name);
    }
    return 0;
}

/* One score report (the same shape in /score, /scores and webhooks). raw:
 * the report's own bytes as received (kept as its raw JSON), or NULL to
 * write them from the tree. */
static int parse_report(json_object *rep, const char *raw, size_t raw_len, struct ss_result *r,
                        struct jx_fail *f)
{
    int has_score;
    if (!json_object_is_type(rep, json_type_object)) {
        snprintf(f->field, sizeof f->field, "scoreReports[]");
        snprintf(f->reason, sizeof f->reason, "expected an object");
        return -1;
    }
    if (jx_id(rep, "userAssessmentId", 1, &r->vendor_key, f) ||
        jx_str(rep, "assessmentType", 0, &r->assessment_type, f) ||
        jx_str(rep, "assessmentName", 0, &r->assessment_name, f) ||
        jx_str(rep, "assessmentVersion", 0, &r->assessment_version, f) ||
        jx_str(rep, "status", 1, &r->status_label, f) ||
        jx_time(rep, "started", 0, &r->started_at, f) ||
        jx_time(rep, "completed", 0, &r->completed_at, f) ||
        jx_duration(rep, "duration", &r->duration_us, f) ||
        jx_num(rep, "score", 0, &r->score, &has_score, f) ||
        jx_str(rep, "placement", 0, &r->placement, f) ||
        level_label(rep, "cefrSpeakingLevel", &r->cefr.label, f) ||
        level_label(rep, "actflSpeakingLevel", &r->actfl.label, f) ||
        level_label(rep, "toeflSpeakingLevel", &r->toefl.label, f) ||
        level_label(rep, "ieltsSpeakingLevel", &r->ielts.label, f) ||
        level_label(rep, "toeicSpeakingLevel", &r->toeic.label, f) ||
        jx_str(rep, "certificateUrl", 0, &r->certificate_url, f) || parse_subscores(rep, r, f))
        return -1;
    r->has_score = has_score;
    /* The API names every level field *SpeakingLevel: they rate speaking. */
    if (r->cefr.label || r->actfl.label || r->toefl.label || r->ielts.label || r->toeic.label)
        r->skill = strdup("speaking");
    r->raw_json = raw ? strndup(raw, raw_len) : jx_dump(rep);
    return 0;
}

/* The record's own id, or for a record without one a locator that stays the
 * same across runs and window boundaries: its parent and a digest of its
 * content, so a re-read updates the same quarantine row. */
static int record_key(json_object *rep, const char *parent, char *out, size_t n)
{
    json_object *id;
    char why[200];
    /* An id that is not exact (jx_id) would give two records one key. */
    if (json_object_is_type(rep, json_type_object) &&
        json_object_object_get_ex(rep, "userAssessmentId", &id) &&
        json_object_is_type(id, json_type_string) && json_object_get_string_len(id) > 0 &&
        (size_t)json_object_get_string_len(id) < n && jx_id_problem(id, why, sizeof why) == 0) {
        snprintf(out, n, "%s", json_object_get_string(id));
        return 1;
    }
    const char *text = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN);
    fetch_raw_locator(parent, text, strlen(text), out, n);
    return 0;
}

static int quarantine(struct ss_batch *b, const char *key, const struct jx_fail *f,
                      json_object *raw, struct ss_err *err)
{
    const char *text = raw ? json_object_to_json_string_ext(raw, JSON_C_TO_STRING_PLAIN) : NULL;
    return batch_add_quarantine(b, key, f->field[0] ? f->field : NULL, f->reason, text, err);
}

/* The user object without its nested reports, as the candidate's raw JSON:
 * the reports are detached for the dump and put back (no deep copy). */
static char *user_raw(json_object *u)
{
    json_object *reps = NULL;
    if (json_object_object_get_ex(u, "scoreReports", &reps) && reps) {
        json_object_get(reps);
        json_object_object_del(u, "scoreReports");
    }
    char *s = jx_dump(u);
    if (reps)
        json_object_object_add(u, "scoreReports", reps);
    return s;
}

/* What the element parsers share for one page. */
struct emm_page {
    long reports; /* score reports seen (the window pager's record count) */
};

static void emm_restart(void *arg)
{
    ((struct emm_page *)arg)->reports = 0;
}

/* The bytes of each element of a user's scoreReports, as received: a
 * second jstream over the user's own text (records are kept as the vendor
 * sent them: numbers beyond 2^64, escapes, key order). */
struct rep_bytes {
    const char **at;
    size_t *len;
    size_t n, cap;
};

static int rep_bytes_el(void *arg, const char *key, size_t index, const char *json, size_t len,
                        struct ss_err *err)
{
    struct rep_bytes *rb = arg;
    (void)key;
    (void)index;
    if (rb->n == rb->cap) {
        size_t cap = rb->cap ? 2 * rb->cap : 8;
        const char **at = realloc(rb->at, cap * sizeof *at);
        if (at)
            rb->at = at;
        size_t *l = at ? realloc(rb->len, cap * sizeof *l) : NULL;
        if (!l)
            return err_set(err, SS_ENOMEM, "out of memory");
        rb->len = l;
        rb->cap = cap;
    }
    /* The whole user is fed as one chunk: elements are passed in place. */
    rb->at[rb->n] = json;
    rb->len[rb->n++] = len;
    return 0;
}

/* Fills rb with the reports' bytes inside json; 0 when they could be read
 * (then rb->n equals the reports json-c saw, which the caller checks). */
static int report_bytes(const char *json, size_t len, struct rep_bytes *rb)
{
    struct jstream_opts o;
    memset(&o, 0, sizeof o);
    o.container = "scoreReports";
    o.kind = JSTREAM_ARRAY;
    o.on_element = rep_bytes_el;
    o.arg = rb;
    struct jstream *js = jstream_new(&o);
    struct ss_err e = {0};
    int rc = js && jstream_feed(js, json, len, &e) == 0 && jstream_finish(js, 1, &e) == 0 ? 0 : -1;
    jstream_free(js);
    return rc;
}

/* One user of /scores with its nested reports. */
static int parse_user(void *arg, const char *key, size_t index, const char *json, size_t len,
                      struct ss_batch *b, struct ss_err *err)
{
    struct emm_page *pg = arg;
    (void)key;
    (void)index;
    json_object *u = NULL;
    struct ss_candidate *c = NULL;
    struct rep_bytes rb = {NULL, NULL, 0, 0};
    int rc = fetch_open_element(b, "userScores", json, len, &u, &c, NULL, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    struct jx_fail f = {{0}, {0}};
    json_object *reps = NULL;
    if (!json_object_is_type(u, json_type_object) ||
        user_fields(u, c, "givenName", "surname", "email", &f) ||
        jx_typed(u, "scoreReports", json_type_array, &reps, &f)) {
        /* Without a readable user, none of its reports can be keyed. */
        if (!f.reason[0])
            snprintf(f.reason, sizeof f.reason, "expected a user object");
        batch_drop_last_candidate(b);
        rc = fetch_quarantine_raw(b, "userScores", json, len, f.field[0] ? f.field : NULL, f.reason,
                                  err);
        goto out;
    }
    c->raw_json = user_raw(u);
    size_t nr = reps ? json_object_array_length(reps) : 0;
    /* Each report's raw is its own bytes; should the two readers ever
     * disagree on the reports, it is written from the tree instead. */
    int exact = nr > 0 && report_bytes(json, len, &rb) == 0 && rb.n == nr;
    for (size_t j = 0; j < nr; j++) {
        json_object *rep = json_object_array_get_idx(reps, j);
        pg->reports++;
        struct ss_result *r = batch_add_result(b);
        if (!r) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        memset(&f, 0, sizeof f);
        if (parse_report(rep, exact ? rb.at[j] : NULL, exact ? rb.len[j] : 0, r, &f) != 0) {
            char rkey[200];
            /* Without an exact id, the digest is of the bytes received: two
             * reports that json-c reads alike still get a row each. */
            if (!record_key(rep, c->vendor_key, rkey, sizeof rkey) && exact)
                fetch_raw_locator(c->vendor_key, rb.at[j], rb.len[j], rkey, sizeof rkey);
            batch_drop_last_result(b);
            char *text = exact ? strndup(rb.at[j], rb.len[j]) : NULL;
            int qrc = text ? batch_add_quarantine(b, rkey, f.field[0] ? f.field : NULL, f.reason,
                                                  text, err)
                           : quarantine(b, rkey, &f, rep, err);
            free(text);
            if (qrc != 0) {
                rc = -1;
                goto out;
            }
            continue;
        }
        r->candidate_key = strdup(c->vendor_key);
        r->stream = strdup("scores");
    }
out:
    free(rb.at);
    free(rb.len);
    json_object_put(u);
    return rc;
}

/* raw: the record's bytes as received (its raw JSON), or NULL to write
 * them from the tree. */
static int parse_assignment(json_object *a, const char *raw, size_t raw_len, struct ss_candidate *c,
                            struct ss_result *r, struct jx_fail *f)
{
    if (user_fields(a, c, "givenName", "surName", "email", f) ||
        jx_id(a, "userAssessmentId", 1, &r->vendor_key, f) ||
        jx_str(a, "assessmentName", 0, &r->assessment_name, f) ||
        jx_str(a, "userAssessmentStatus", 1, &r->status_label, f) ||
        jx_time(a, "assignedAt", 0, &r->assigned_at, f) ||
        jx_time(a, "expiresAt", 0, &r->expires_at, f) ||
        jx_time(a, "startedAt", 0, &r->started_at, f) ||
        jx_time(a, "completedAt", 0, &r->completed_at, f))
        return -1;
    r->raw_json = raw ? strndup(raw, raw_len) : jx_dump(a);
    r->candidate_key = strdup(c->vendor_key);
    r->stream = strdup("assignments");
    return 0;
}

/* One record of /assignments: a user and one attempt. */
static int parse_assignment_elem(void *arg, const char *key, size_t index, const char *json,
                                 size_t len, struct ss_batch *b, struct ss_err *err)
{
    struct emm_page *pg = arg;
    (void)key;
    (void)index;
    pg->reports++;
    json_object *a = NULL;
    struct ss_candidate *c = NULL;
    struct ss_result *r = NULL;
    int rc = fetch_open_element(b, "assignments", json, len, &a, &c, &r, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    struct jx_fail f = {{0}, {0}};
    if (!json_object_is_type(a, json_type_object) ||
        parse_assignment(a, json, len, c, r, &f) != 0) {
        if (!f.reason[0])
            snprintf(f.reason, sizeof f.reason, "expected an assignment object");
        char rkey[200];
        record_key(a, "assignments", rkey, sizeof rkey);
        batch_drop_last_result(b);
        batch_drop_last_candidate(b);
        rc = quarantine(b, rkey, &f, a, err);
        goto out;
    }
    c->raw_json = jx_dump(a);
out:
    json_object_put(a);
    return rc;
}

static void scores_req(struct fetch_req *fr, struct emm_page *pg)
{
    memset(fr, 0, sizeof *fr);
    fr->container = "userScores";
    fr->container_kind = JSTREAM_ARRAY;
    fr->parse = parse_user;
    fr->restart = emm_restart;
    fr->arg = pg;
}

static void assignments_req(struct fetch_req *fr, struct emm_page *pg)
{
    memset(fr, 0, sizeof *fr);
    fr->container = "assignments";
    fr->container_kind = JSTREAM_ARRAY;
    fr->parse = parse_assignment_elem;
    fr->restart = emm_restart;
    fr->arg = pg;
}

int emmersion_parse_scores(const char *body, size_t len, struct ss_batch *b, long *reports,
                           struct ss_err *err)
{
    struct emm_page pg = {0};
    struct fetch_req fr;
    long users;
    scores_req(&fr, &pg);
    int rc = vendor_parse_body(&fr, body, len, b, &users, err);
    *reports = pg.reports;
    return rc;
}

int emmersion_parse_assignments(const char *body, size_t len, struct ss_batch *b, long *records,
                                struct ss_err *err)
{
    struct emm_page pg = {0};
    struct fetch_req fr;
    long n;
    assignments_req(&fr, &pg);
    int rc = vendor_parse_body(&fr, body, len, b, &n, err);
    *records = pg.reports;
    return rc;
}

/* ---- extraction ---------------------------------------------------------- */

struct emm_stream {
    const struct emm_version *ver;
    int assignments;
    const char *path;
    const char *after_key, *before_key;
    int include_incomplete;
};

static int emm_fetch_page(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                          struct page_out *out, struct page_res *res, struct ss_err *err)
{
    struct emm_stream *es = arg;
    const struct cfg_account *acct = ctx->acct;
    char from[40], to[40], what[200];
    ts_format(req->from, from, sizeof from);
    ts_format(req->to, to, sizeof to);

    json_object *body = json_object_new_object();
    json_object_object_add(body, es->after_key, json_object_new_string(from));
    json_object_object_add(body, es->before_key, json_object_new_string(to));
    if (!es->assignments) {
        if (es->ver->incomplete_filter)
            json_object_object_add(body, "includeIncompleteAssessments",
                                   json_object_new_boolean(es->include_incomplete));
        if (acct->group_ids && acct->group_ids[0]) {
            json_object *g = json_object_new_array();
            for (char **p = acct->group_ids; *p; p++)
                json_object_array_add(g, json_object_new_string(*p));
            json_object_object_add(body, "groupIds", g);
        }
    }
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    snprintf(what, sizeof what, "POST %s [%s .. %s]", es->path, from, to);

    struct emm_page pg = {0};
    struct fetch_req fr;
    if (es->assignments)
        assignments_req(&fr, &pg);
    else
        scores_req(&fr, &pg);
    fr.method = "POST";
    fr.path = es->path;
    fr.body = text;
    fr.body_len = strlen(text);
    fr.what = what;
    int rc = vendor_fetch(ctx, &fr, out, res, err);
    /* Windows are sized by score reports, not users. */
    res->records = pg.reports;
    json_object_put(body);
    return rc;
}

int emm_family_extract(struct vendor_ctx *ctx, struct ss_err *err)
{
    struct emm_stream es;
    memset(&es, 0, sizeof es);
    es.ver = ctx->vendor->variant;
    if (strcmp(ctx->stream->name, "assignments") == 0 && es.ver->has_assignments) {
        es.assignments = 1;
        es.path = cfg_opt(ctx->acct, "assignments_path");
        es.after_key = "assignedOnOrAfter";
        es.before_key = "assignedOnOrBefore";
    } else if (strcmp(ctx->stream->name, "scores") == 0) {
        es.path = cfg_opt(ctx->acct, "scores_path");
        es.after_key = es.ver->after_key;
        es.before_key = es.ver->before_key;
        es.include_incomplete = cfg_opt_bool(ctx->acct, "include_incomplete", 1);
    } else {
        return err_set(err, SS_ECONFIG, "%s has no stream \"%s\"", ctx->vendor->name,
                       ctx->stream->name);
    }
    if (!es.path)
        es.path = es.assignments ? "/assignments/" : "/scores/";
    struct pager p;
    if (pager_window_init(&p, ctx, err) != 0)
        return -1;
    if (es.assignments)
        p.n_recheck = 0;
    return prefetch_run(ctx, &p, emm_fetch_page, &es, err);
}

int emm_family_parse_body(const struct vendor_ops *v, const char *stream, const char *body,
                          size_t len, struct ss_batch *b, long *records, struct ss_err *err)
{
    const struct emm_version *ver = v->variant;
    if (strcmp(stream, "scores") == 0)
        return emmersion_parse_scores(body, len, b, records, err);
    if (strcmp(stream, "assignments") == 0 && ver->has_assignments)
        return emmersion_parse_assignments(body, len, b, records, err);
    return err_set(err, SS_EINVAL, "%s has no stream \"%s\"", v->name, stream);
}

int emm_family_reparse(const struct vendor_ops *v, const char *stream, const char *raw, size_t len,
                       struct ss_result *r, struct ss_err *err)
{
    (void)v;
    json_object *o = NULL;
    struct jx_fail f = {{0}, {0}};
    if (jx_parse(raw, len, &o, err) != 0)
        return -1;
    struct ss_candidate c;
    memset(&c, 0, sizeof c);
    int rc;
    /* The stored raw is the record's raw again, byte for byte. */
    if (strcmp(stream, "assignments") == 0)
        rc = parse_assignment(o, raw, len, &c, r, &f);
    else
        rc = parse_report(o, raw, len, r, &f);
    candidate_clear(&c);
    json_object_put(o);
    if (rc != 0)
        return err_set(err, SS_EINVAL, "field %s: %s", f.field, f.reason);
    return 0;
}

/* ---- check: the cheapest authenticated call ------------------------------ */

static int check_elem(void *arg, const char *key, size_t index, const char *json, size_t len,
                      struct ss_batch *out, struct ss_err *err)
{
    (void)arg, (void)key, (void)index, (void)json, (void)len, (void)out, (void)err;
    return 0;
}

/* GET /assessments: a short catalogue list behind the same Bearer auth as
 * /scores, with no date range for the vendor to search. */
int emm_family_check(struct vendor_ctx *ctx, struct ss_err *err)
{
    struct fetch_req fr;
    memset(&fr, 0, sizeof fr);
    fr.method = "GET";
    fr.path = "/assessments";
    fr.container = "assessments";
    fr.container_kind = JSTREAM_ARRAY;
    fr.missing_ok = 1;
    fr.parse = check_elem;
    fr.what = "GET /assessments";
    struct ss_batch b;
    batch_init(&b);
    struct page_out out = {&b, (size_t)-1, NULL, NULL, NULL};
    struct page_res res;
    memset(&res, 0, sizeof res);
    int rc = vendor_fetch(ctx, &fr, &out, &res, err);
    batch_free(&b);
    return rc;
}

/* ---- plan: what a backfill of each stream sends -------------------------- */

void emm_family_plan(const struct vendor_ops *v, const struct cfg_account *a, const char *stream,
                     struct vendor_plan *out)
{
    (void)a;
    const struct emm_version *ver = v->variant;
    memset(out, 0, sizeof *out);
    if (strcmp(stream, "scores") == 0) {
        /* One POST per window, sized by score reports, each stored as a
         * result of this stream under the date the window filters on. */
        const struct vendor_stream *vs = vendor_stream(v, "scores");
        out->windowed = 1;
        out->column = vs ? vs->recheck_column : NULL;
        out->stored = out->column != NULL;
    } else if (strcmp(stream, "assignments") == 0 && ver->has_assignments) {
        /* Windowed too, but an assignment whose report the scores stream
         * stored first is not stored again: stored rows undercount. */
        out->windowed = 1;
        out->column = "assigned_at";
    } else {
        out->why = "no such stream";
    }
}

/* ---- Emmersion Enterprise API 2020q3 ------------------------------------- */

static const struct emm_version emm_2020q3 = {
    .after_key = "completedOnOrAfter",
    .before_key = "completedOnOrBefore",
    .incomplete_filter = 0, /* ignored by the API when completed* filters are given */
    .has_assignments = 1,
};

/* Reports the vendor may still score: their completion date does not move. */
static const char *const emm_recheck[] = {"score_pending", "needs_review", NULL};

static const struct vendor_stream emm_streams[] = {
    {"scores", 0, emm_recheck, "completed_at"},
    {"assignments", 1, NULL, NULL},
    {NULL, 0, NULL, NULL},
};

static const char *const emm_stream_names[] = {"scores", "assignments", NULL};
/* assignments only adds not-started/in-progress rows: opt in. */
static const char *const emm_default_streams[] = {"scores", NULL};
static const char *const emm_secrets[] = {"api_key", NULL};

/* Paths as the document writes them (with the trailing slash). */
static const struct cfg_opt_def emm_opts[] = {
    {"scores_path", CFG_OPT_STRING, "/scores/", NULL, "path of POST scores under base_url"},
    {"assignments_path", CFG_OPT_STRING, "/assignments/", NULL,
     "path of POST assignments under base_url"},
    {NULL, CFG_OPT_STRING, NULL, NULL, NULL},
};

const struct vendor_ops emmersion_vendor = {
    .name = "emmersion",
    .title = "Emmersion Enterprise API 2020q3",
    .streams = emm_streams,
    .config =
        {
            .name = "emmersion",
            .base_url = "https://api.emmersion.ai/2020q3",
            .streams = emm_stream_names,
            .default_streams = emm_default_streams,
            .rate_limits = "5/1,2000/1200",
            .secrets = emm_secrets,
            .opts = emm_opts,
        },
    .statuses = NULL,
    .auth = VA_BEARER,
    .variant = &emm_2020q3,
    .extract = emm_family_extract,
    .parse_body = emm_family_parse_body,
    .reparse = emm_family_reparse,
    .check = emm_family_check,
    .plan = emm_family_plan,
};
