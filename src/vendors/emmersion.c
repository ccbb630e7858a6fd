/* Emmersion Enterprise API 2020q3 (seeds/003). Two streams:
 *   scores       POST /scores in windows of completedOnOrAfter/Before, so an
 *                assessment started before the checkpoint and finished after
 *                it is still read; only finished reports come back.
 *   assignments  POST /assignments in windows of assignedOnOrAfter/Before:
 *                assigned, not yet finished attempts (status tracking).
 * /scores has no paging: one response holds every matching user, hence the
 * adaptive date windows (window.c). */
#include "emmersion.h"

#include <json-c/json.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/clock.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "jsonx.h"
#include "vendor.h"
#include "window.h"

/* Malformed or truncated 200 bodies are retried this many times per window. */
#define EMM_PARSE_ATTEMPTS 4

static const char *const emm_streams[] = {"scores", "assignments", NULL};

static int user_fields(json_object *u, struct ss_candidate *c, const char *given_key,
                       const char *surname_key, const char *email_key, struct jx_fail *f)
{
    if (jx_str(u, "userId", 1, &c->vendor_key, f) || jx_str(u, email_key, 0, &c->email, f) ||
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

/* One score report (the same shape in /score, /scores and webhooks). */
static int parse_report(json_object *rep, struct ss_result *r, struct jx_fail *f)
{
    int has_score;
    if (!json_object_is_type(rep, json_type_object)) {
        snprintf(f->field, sizeof f->field, "scoreReports[]");
        snprintf(f->reason, sizeof f->reason, "expected an object");
        return -1;
    }
    if (jx_str(rep, "userAssessmentId", 1, &r->vendor_key, f) ||
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
    r->raw_json = jx_dump(rep);
    return 0;
}

/* The record's own id, or for a record without one a locator that stays the
 * same across runs and window boundaries: its parent and a digest of its
 * content, so a re-read updates the same quarantine row. */
static void record_key(json_object *rep, const char *parent, char *out, size_t n)
{
    json_object *id;
    if (json_object_is_type(rep, json_type_object) &&
        json_object_object_get_ex(rep, "userAssessmentId", &id) &&
        json_object_is_type(id, json_type_string) && json_object_get_string_len(id) > 0) {
        snprintf(out, n, "%s", json_object_get_string(id));
        return;
    }
    const char *text = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, strlen(text), md);
    snprintf(out, n, "%s/sha256:%02x%02x%02x%02x%02x%02x%02x%02x", parent, md[0], md[1], md[2],
             md[3], md[4], md[5], md[6], md[7]);
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

int emmersion_parse_scores(const char *body, size_t len, struct ss_batch *b, long *reports,
                           struct ss_err *err)
{
    json_object *root = NULL, *users = NULL;
    struct jx_fail f = {{0}, {0}};
    int rc = 0;
    *reports = 0;
    if (jx_parse(body, len, &root, err) != 0)
        return -1;
    if (jx_typed(root, "userScores", json_type_array, &users, &f) || !users) {
        rc = err_set(err, SS_EINVAL, "response has no userScores array%s%s",
                     f.reason[0] ? ": " : "", f.reason);
        goto out;
    }
    size_t nu = json_object_array_length(users);
    for (size_t i = 0; i < nu; i++) {
        json_object *u = json_object_array_get_idx(users, i);
        char loc[200];
        memset(&f, 0, sizeof f);
        struct ss_candidate *c = batch_add_candidate(b);
        if (!c) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        json_object *reps = NULL;
        if (!json_object_is_type(u, json_type_object) ||
            user_fields(u, c, "givenName", "surname", "email", &f) ||
            jx_typed(u, "scoreReports", json_type_array, &reps, &f)) {
            /* Without a readable user, none of its reports can be keyed. */
            record_key(u, "userScores", loc, sizeof loc);
            if (!f.reason[0])
                snprintf(f.reason, sizeof f.reason, "expected a user object");
            batch_drop_last_candidate(b);
            if (quarantine(b, loc, &f, u, err) != 0) {
                rc = -1;
                goto out;
            }
            continue;
        }
        c->raw_json = user_raw(u);
        size_t nr = reps ? json_object_array_length(reps) : 0;
        for (size_t j = 0; j < nr; j++) {
            json_object *rep = json_object_array_get_idx(reps, j);
            (*reports)++;
            struct ss_result *r = batch_add_result(b);
            if (!r) {
                rc = err_set(err, SS_ENOMEM, "out of memory");
                goto out;
            }
            memset(&f, 0, sizeof f);
            if (parse_report(rep, r, &f) != 0) {
                char key[200];
                record_key(rep, c->vendor_key, key, sizeof key);
                batch_drop_last_result(b);
                if (quarantine(b, key, &f, rep, err) != 0) {
                    rc = -1;
                    goto out;
                }
                continue;
            }
            r->candidate_key = strdup(c->vendor_key);
            r->stream = strdup("scores");
        }
    }
out:
    json_object_put(root);
    return rc;
}

static int parse_assignment(json_object *a, struct ss_candidate *c, struct ss_result *r,
                            struct jx_fail *f)
{
    if (user_fields(a, c, "givenName", "surName", "email", f) ||
        jx_str(a, "userAssessmentId", 1, &r->vendor_key, f) ||
        jx_str(a, "assessmentName", 0, &r->assessment_name, f) ||
        jx_str(a, "userAssessmentStatus", 1, &r->status_label, f) ||
        jx_time(a, "assignedAt", 0, &r->assigned_at, f) ||
        jx_time(a, "expiresAt", 0, &r->expires_at, f) ||
        jx_time(a, "startedAt", 0, &r->started_at, f) ||
        jx_time(a, "completedAt", 0, &r->completed_at, f))
        return -1;
    r->raw_json = jx_dump(a);
    r->candidate_key = strdup(c->vendor_key);
    r->stream = strdup("assignments");
    return 0;
}

int emmersion_parse_assignments(const char *body, size_t len, struct ss_batch *b, long *records,
                                struct ss_err *err)
{
    json_object *root = NULL, *arr = NULL;
    struct jx_fail f = {{0}, {0}};
    int rc = 0;
    *records = 0;
    if (jx_parse(body, len, &root, err) != 0)
        return -1;
    if (jx_typed(root, "assignments", json_type_array, &arr, &f) || !arr) {
        rc = err_set(err, SS_EINVAL, "response has no assignments array");
        goto out;
    }
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(arr, i);
        (*records)++;
        memset(&f, 0, sizeof f);
        struct ss_candidate *c = batch_add_candidate(b);
        struct ss_result *r = c ? batch_add_result(b) : NULL;
        if (!r) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        if (!json_object_is_type(a, json_type_object) || parse_assignment(a, c, r, &f) != 0) {
            char key[200];
            if (!f.reason[0])
                snprintf(f.reason, sizeof f.reason, "expected an assignment object");
            record_key(a, "assignments", key, sizeof key);
            batch_drop_last_result(b);
            batch_drop_last_candidate(b);
            if (quarantine(b, key, &f, a, err) != 0) {
                rc = -1;
                goto out;
            }
            continue;
        }
        c->raw_json = jx_dump(a);
    }
out:
    json_object_put(root);
    return rc;
}

/* ---- extraction ---------------------------------------------------------- */

struct emm_fetch {
    struct vendor_ctx *ctx;
    const char *path;      /* "/scores" or "/assignments" */
    const char *after_key; /* filter names of the stream's date */
    const char *before_key;
    int (*parse)(const char *, size_t, struct ss_batch *, long *, struct ss_err *);
    int supplementary; /* see struct ss_batch */
    char auth[1024];
};

static int emm_fetch_window(void *arg, int64_t a, int64_t b, struct ss_batch *out, long *records,
                            struct ss_err *err)
{
    struct emm_fetch *ef = arg;
    const struct cfg_account *acct = ef->ctx->acct;
    char from[40], to[40], url[1024];
    ts_format(a, from, sizeof from);
    ts_format(b, to, sizeof to);
    snprintf(url, sizeof url, "%s%s", acct->base_url, ef->path);

    json_object *req = json_object_new_object();
    json_object_object_add(req, ef->after_key, json_object_new_string(from));
    json_object_object_add(req, ef->before_key, json_object_new_string(to));
    if (acct->group_ids && acct->group_ids[0] && strcmp(ef->path, "/scores") == 0) {
        json_object *g = json_object_new_array();
        for (char **p = acct->group_ids; *p; p++)
            json_object_array_add(g, json_object_new_string(*p));
        json_object_object_add(req, "groupIds", g);
    }
    const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
    const char *headers[] = {ef->auth, "Content-Type: application/json", "Accept: application/json",
                             NULL};
    struct http_request hr = {"POST", url, headers, body, strlen(body)};
    struct http_response resp;
    memset(&resp, 0, sizeof resp);
    int rc = -1;

    for (int attempt = 1; attempt <= EMM_PARSE_ATTEMPTS; attempt++) {
        int64_t t0 = clock_system()->now_us(NULL);
        if (http_do(ef->ctx->http, &hr, &resp, err) != 0)
            goto out;
        int64_t t1 = clock_system()->now_us(NULL);
        if (resp.status == 204) {
            *records = 0;
            rc = 0;
            goto out;
        }
        if (resp.status == 401 || resp.status == 403) {
            err_set(err, SS_EAUTH, "POST %s: HTTP %ld: the API key was refused; check %s", url,
                    resp.status, acct->api_key_source ? acct->api_key_source : "api_key");
            goto out;
        }
        if (resp.status != 200) {
            err_set(err, SS_EHTTP, "POST %s: HTTP %ld: %.200s", url, resp.status,
                    resp.body.data ? resp.body.data : "");
            goto out;
        }
        batch_reset(out);
        out->supplementary = ef->supplementary;
        if (ef->parse(resp.body.data ? resp.body.data : "", resp.body.len, out, records, err) ==
            0) {
            log_debug("%s/%s: POST %s: %zu bytes in %.0f ms, parsed in %.0f ms", acct->vendor,
                      acct->name, ef->path, resp.body.len, (double)(t1 - t0) / 1000.0,
                      (double)(clock_system()->now_us(NULL) - t1) / 1000.0);
            rc = 0;
            goto out;
        }
        /* A 200 with a broken body is a transport fault: ask again. */
        log_warn("%s/%s: POST %s [%s .. %s]: %s (attempt %d of %d)", acct->vendor, acct->name,
                 ef->path, from, to, err->msg, attempt, EMM_PARSE_ATTEMPTS);
    }
    err_prefix(err, "POST %s [%s .. %s]", ef->path, from, to);
out:
    http_response_free(&resp);
    json_object_put(req);
    return rc;
}

static int emm_extract(struct vendor_ctx *ctx, const char *stream, struct ss_err *err)
{
    struct emm_fetch ef;
    memset(&ef, 0, sizeof ef);
    ef.ctx = ctx;
    if (strcmp(stream, "scores") == 0) {
        ef.path = "/scores";
        ef.after_key = "completedOnOrAfter";
        ef.before_key = "completedOnOrBefore";
        ef.parse = emmersion_parse_scores;
    } else if (strcmp(stream, "assignments") == 0) {
        ef.path = "/assignments";
        ef.after_key = "assignedOnOrAfter";
        ef.before_key = "assignedOnOrBefore";
        ef.parse = emmersion_parse_assignments;
        ef.supplementary = 1;
    } else {
        return err_set(err, SS_ECONFIG, "emmersion has no stream \"%s\"", stream);
    }
    snprintf(ef.auth, sizeof ef.auth, "Authorization: Bearer %s",
             ctx->acct->api_key ? ctx->acct->api_key : "");
    struct window_plan plan;
    if (window_plan_init(ctx, &plan, err) != 0)
        return -1;
    int rc = window_run(ctx, &plan, emm_fetch_window, &ef, err);
    if (rc == 0 && !ef.supplementary)
        rc = window_recheck(ctx, &plan, emm_fetch_window, &ef, err);
    /* Wipe the key copy from the stack. */
    memset(ef.auth, 0, sizeof ef.auth);
    return rc;
}

static int emm_reparse(const char *stream, const char *raw_json, struct ss_result *r,
                       struct ss_err *err)
{
    json_object *o = NULL;
    struct jx_fail f = {{0}, {0}};
    if (jx_parse(raw_json, strlen(raw_json), &o, err) != 0)
        return -1;
    struct ss_candidate c;
    memset(&c, 0, sizeof c);
    int rc;
    if (strcmp(stream, "assignments") == 0)
        rc = parse_assignment(o, &c, r, &f);
    else
        rc = parse_report(o, r, &f);
    candidate_clear(&c);
    json_object_put(o);
    if (rc != 0)
        return err_set(err, SS_EINVAL, "field %s: %s", f.field, f.reason);
    return 0;
}

const struct vendor_ops emmersion_vendor = {
    .name = "emmersion",
    .title = "Emmersion Enterprise API 2020q3",
    .streams = emm_streams,
    .extract = emm_extract,
    .reparse = emm_reparse,
};
