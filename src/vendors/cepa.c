/* CEPA Test API v2 (seeds/000_dd16aad8545af886.txt, Turkish; base
 * https://cepatest.org/api/v2). One stream, candidates: GetTests first (the
 * account's test catalogue, into assessments: one request), then
 * GetCandidates (limit, offset, sort, reports): every candidate with the
 * tests (results) assigned to them, keyed by e-mail and token;
 * GetCandidateByEmail re-reads candidates whose tests may still change;
 * GetOverallResultByEmail adds the overall groups of candidates whose tests
 * changed; with `pdfs` on, GetSingleResultByPDF / GetOverallResultByPDF the
 * reports of completed tests and groups not stored yet or rendered from an
 * older record (vendor_ctx.document_current / document).
 *
 * The list shifts while we page it (new candidates arrive). It is read in
 * the vendor's default order, DESC (newest first): an arrival pushes every
 * later candidate down, so the next page starts `overlap` records early and
 * re-reads rather than skips; arrivals above the current offset are picked
 * up by a last pass from offset 0 that stops at the first page that changed
 * nothing. A departure pulls candidates up: `overlap` covers that many per
 * page. Upserts make every re-read harmless: nobody is stored twice.
 *
 * Incremental sync: pages from offset 0 stop at the first page in which
 * nothing was new or changed (vendor_ctx.changed). Candidates deeper in the
 * list whose tests are unfinished (assigned, started), or completed within
 * recheck_days (a re-score), are re-read one by one with GetCandidateByEmail
 * (vendor_ctx.stored_keys), at most recheck_max_requests a run; every
 * full_every_days the whole list is read again.
 *
 * Checkpoint: "full:<next offset>:<last full pass, unix s>" while a full pass
 * runs (a killed one resumes there), "done:<unix s>" once it completed.
 *
 * Where the seed is silent (key placement, URL form, time zone, the limit's
 * maximum, rate limits) the choice is an option with a documented default:
 * docs/vendors/cepa.md. */
#include "cepa.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/redact.h"
#include "../core/timeparse.h"
#include "../http/sign.h"
#include "fetch.h"
#include "jsonx.h"
#include "jstream.h"

void cepa_opts_default(struct cepa_opts *o)
{
    o->utc_offset_min = 180;
    o->lower_email = 1;
}

/* ---- parsing: one record, no I/O -------------------------------------- */

int cepa_score(const char *text, double *out)
{
    if (!text)
        return -1;
    while (isspace((unsigned char)*text))
        text++;
    if (!*text)
        return -1;
    char *end = NULL;
    double v = strtod(text, &end);
    while (end && isspace((unsigned char)*end))
        end++;
    if (!end || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int fail(struct jx_fail *f, const char *field, const char *reason)
{
    snprintf(f->field, sizeof f->field, "%.63s", field);
    snprintf(f->reason, sizeof f->reason, "%.255s", reason);
    return -1;
}

/* A string member; "" is absent. Numbers are accepted as their text (a
 * token or an overall id may be sent either way: int64 in the parameters,
 * a string in the examples). */
static int str_field(json_object *o, const char *key, int required, char **out, struct jx_fail *f)
{
    json_object *v = NULL;
    *out = NULL;
    if (json_object_object_get_ex(o, key, &v) && v) {
        if (json_object_is_type(v, json_type_string)) {
            if (json_object_get_string_len(v) > 0 && !(*out = strdup(json_object_get_string(v))))
                return fail(f, key, "out of memory");
        } else if (json_object_is_type(v, json_type_int)) {
            char t[32];
            snprintf(t, sizeof t, "%lld", (long long)json_object_get_int64(v));
            if (!(*out = strdup(t)))
                return fail(f, key, "out of memory");
        } else {
            return fail(f, key, "expected a string");
        }
    }
    if (required && !*out)
        return fail(f, key, "missing");
    return 0;
}

/* A score sent as a number (GetCandidates) or a numeric string
 * (GetOverallResultByEmail): the value, and its text when it was text. */
static int score_field(json_object *o, const char *key, int *has, double *out, char **label,
                       struct jx_fail *f)
{
    json_object *v = NULL;
    *has = 0;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *out = json_object_get_double(v);
        *has = 1;
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return fail(f, key, "expected a number or a numeric string");
    const char *s = json_object_get_string(v);
    if (!*s)
        return 0;
    if (cepa_score(s, out) != 0)
        return fail(f, key, "not a number");
    *has = 1;
    if (label && !(*label = strdup(s)))
        return fail(f, key, "out of memory");
    return 0;
}

/* "2022-02-02 02:00:00" in the vendor's zone (utc_offset_min). */
static int time_field(json_object *o, const char *key, const struct cepa_opts *co, int64_t *out,
                      struct jx_fail *f)
{
    char *s = NULL;
    *out = TS_NULL;
    if (str_field(o, key, 0, &s, f) != 0)
        return -1;
    if (!s || strncmp(s, "0000-00-00", 10) == 0) { /* a MySQL "no date" */
        free(s);
        return 0;
    }
    struct ss_err e = {0};
    int rc = ts_parse(s, co->utc_offset_min, out, &e);
    free(s);
    if (rc != 0)
        return fail(f, key, e.msg);
    return 0;
}

/* The skill a test rates, from its name; NULL for the combined reading &
 * listening test and anything else (an overall). */
static char *skill_of(const char *name)
{
    if (!name)
        return NULL;
    char low[128];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[i] = '\0';
    if (strstr(low, "listening") || strstr(low, "reading"))
        return NULL;
    if (strstr(low, "oral") || strstr(low, "speaking"))
        return strdup("speaking");
    if (strstr(low, "writing"))
        return strdup("writing");
    return NULL;
}

static char *email_key(const struct cepa_opts *co, const char *email)
{
    char *k = strdup(email);
    if (k && co->lower_email)
        for (char *p = k; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return k;
}

/* One test of GetCandidates / GetCandidateByEmail / GetTestByToken, or of a
 * group of GetOverallResultByEmail (test_name, test_cefr_level, no status:
 * a member with a completion date is completed). Also renormalize's path. */
static int parse_test(json_object *t, const struct cepa_opts *co, struct ss_result *r,
                      struct jx_fail *f)
{
    if (!json_object_is_type(t, json_type_object))
        return fail(f, "tests[]", "expected an object");
    json_object *probe;
    int member = json_object_object_get_ex(t, "test_name", &probe) &&
                 !json_object_object_get_ex(t, "test", &probe);
    if (str_field(t, "token", 1, &r->vendor_key, f) ||
        str_field(t, member ? "test_name" : "test", 0, &r->assessment_name, f) ||
        str_field(t, "test_category", 0, &r->assessment_type, f) ||
        time_field(t, "assign_date", co, &r->assigned_at, f) ||
        time_field(t, "login_date", co, &r->started_at, f) ||
        time_field(t, "complete_date", co, &r->completed_at, f) ||
        score_field(t, "test_score", &r->has_score, &r->score, &r->score_label, f) ||
        str_field(t, "test_cefr", 0, &r->cefr.label, f) ||
        str_field(t, member ? "test_cefr_level" : "test_level", 0, &r->placement, f))
        return -1;
    if (member) {
        r->status_label = strdup(r->completed_at != TS_NULL ? "completed" : "assigned");
    } else if (str_field(t, "status", 1, &r->status_label, f) != 0) {
        return -1;
    }
    if (!r->cefr.label && str_field(t, "global_cefr", 0, &r->cefr.label, f) != 0)
        return -1;
    json_object *rep = NULL;
    if (json_object_object_get_ex(t, "reports", &rep) && rep &&
        !json_object_is_type(rep, json_type_object) && !json_object_is_type(rep, json_type_array))
        return fail(f, "reports", "expected an object");
    r->skill = skill_of(r->assessment_name);
    r->raw_json = jx_dump(t);
    if (!r->status_label || !r->raw_json)
        return fail(f, "tests[]", "out of memory");
    return 0;
}

static int quarantine_obj(struct ss_batch *b, const char *parent, json_object *o,
                          const struct jx_fail *f, struct ss_err *err)
{
    const char *text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "";
    char key[300];
    json_object *tok;
    if (o && json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, "token", &tok) &&
        (json_object_is_type(tok, json_type_string) || json_object_is_type(tok, json_type_int)) &&
        json_object_get_string(tok)[0])
        snprintf(key, sizeof key, "%s", json_object_get_string(tok));
    else
        fetch_raw_locator(parent, text, strlen(text), key, sizeof key);
    return batch_add_quarantine(b, key, f->field[0] ? f->field : NULL,
                                f->reason[0] ? f->reason : "unreadable record", text, err);
}

/* The tests array of a candidate (or of a GetTestByToken response) into
 * results of candidate `ckey`; bad tests are quarantined alone. */
static int add_tests(json_object *tests, const struct cepa_opts *co, const char *ckey,
                     const char *stream, struct ss_batch *b, long *n, struct ss_err *err)
{
    if (!tests)
        return 0;
    size_t nt = json_object_array_length(tests);
    for (size_t i = 0; i < nt; i++) {
        json_object *t = json_object_array_get_idx(tests, i);
        struct jx_fail f = {{0}, {0}};
        struct ss_result *r = batch_add_result(b);
        if (!r)
            return err_set(err, SS_ENOMEM, "out of memory");
        (*n)++;
        if (parse_test(t, co, r, &f) != 0 || !ckey) {
            if (!ckey && !f.reason[0])
                fail(&f, "email", "no candidate e-mail for this test");
            batch_drop_last_result(b);
            if (quarantine_obj(b, ckey ? ckey : "tests", t, &f, err) != 0)
                return -1;
            continue;
        }
        if (!(r->candidate_key = strdup(ckey)) || !(r->stream = strdup(stream)))
            return err_set(err, SS_ENOMEM, "out of memory");
    }
    return 0;
}

/* A candidate object (its tests detached for its raw JSON) keyed by email. */
static int add_candidate(json_object *c, const struct cepa_opts *co, const char *email,
                         struct ss_batch *b, char **ckey, struct jx_fail *f)
{
    struct ss_candidate *cand = batch_add_candidate(b);
    if (!cand)
        return fail(f, "email", "out of memory");
    json_object *tests = NULL;
    if (json_object_object_get_ex(c, "tests", &tests) && tests) {
        json_object_get(tests);
        json_object_object_del(c, "tests");
    }
    cand->raw_json = jx_dump(c);
    if (tests)
        json_object_object_add(c, "tests", tests);
    cand->vendor_key = email_key(co, email);
    cand->email = strdup(email);
    if (!cand->raw_json || !cand->vendor_key || !cand->email ||
        str_field(c, "name", 0, &cand->given_name, f) ||
        str_field(c, "lastname", 0, &cand->family_name, f)) {
        if (!f->reason[0])
            fail(f, "email", "out of memory");
        batch_drop_last_candidate(b);
        return -1;
    }
    *ckey = cand->vendor_key;
    return 0;
}

/* GetOverallResultByEmail groups: a group per element, and the member tests
 * as results (the seed's example carries them only there). The extractor
 * drops those: the same tests come, richer, from GetCandidates. */
static int add_groups(json_object *groups, const struct cepa_opts *co, const char *ckey,
                      struct ss_batch *b, long *n, struct ss_err *err)
{
    size_t ng = json_object_array_length(groups);
    for (size_t i = 0; i < ng; i++) {
        json_object *g = json_object_array_get_idx(groups, i);
        struct jx_fail f = {{0}, {0}};
        (*n)++;
        struct ss_group *grp = batch_add_group(b);
        if (!grp)
            return err_set(err, SS_ENOMEM, "out of memory");
        json_object *tests = NULL;
        int bad = !json_object_is_type(g, json_type_object) ||
                  str_field(g, "id", 1, &grp->vendor_key, &f) ||
                  score_field(g, "score", &grp->has_score, &grp->score, &grp->score_label, &f) ||
                  str_field(g, "cefr", 0, &grp->cefr.label, &f) ||
                  str_field(g, "cefr_level", 0, &grp->level_name, &f) ||
                  time_field(g, "assign_date", co, &grp->assigned_at, &f) ||
                  jx_typed(g, "tests", json_type_array, &tests, &f);
        if (!bad && !(grp->candidate_key = strdup(ckey)))
            return err_set(err, SS_ENOMEM, "out of memory");
        size_t nt = tests ? json_object_array_length(tests) : 0;
        size_t first = b->n_res;
        for (size_t k = 0; !bad && k < nt; k++) {
            json_object *t = json_object_array_get_idx(tests, k);
            struct ss_result *r = batch_add_result(b);
            if (!r)
                return err_set(err, SS_ENOMEM, "out of memory");
            if (parse_test(t, co, r, &f) != 0) {
                bad = 1;
                break;
            }
            if (group_add_member(grp, r->vendor_key) != 0 || !(r->candidate_key = strdup(ckey)) ||
                !(r->stream = strdup("candidates")))
                return err_set(err, SS_ENOMEM, "out of memory");
            if (r->completed_at != TS_NULL &&
                (grp->completed_at == TS_NULL || r->completed_at > grp->completed_at))
                grp->completed_at = r->completed_at;
        }
        if (bad) {
            /* One bad member makes the group unreliable: quarantine it whole. */
            while (b->n_res > first)
                batch_drop_last_result(b);
            group_clear(grp);
            b->n_groups--;
            char parent[300];
            snprintf(parent, sizeof parent, "%s/overall", ckey);
            struct jx_fail gf = f;
            if (!gf.reason[0])
                fail(&gf, "groups[]", "expected an object");
            if (quarantine_obj(b, parent, g, &gf, err) != 0)
                return -1;
            continue;
        }
        grp->raw_json = jx_dump(g);
        if (!grp->raw_json)
            return err_set(err, SS_ENOMEM, "out of memory");
    }
    return 0;
}

/* One GetTests entry: {"<test name>": {"id": 1, "available_token": ...}}. */
static int add_catalogue_entry(const char *name, json_object *v, struct ss_batch *b,
                               struct ss_err *err)
{
    struct ss_assessment *a = batch_add_assessment(b);
    if (!a)
        return err_set(err, SS_ENOMEM, "out of memory");
    /* Results name their test by name, not id: the name is the key, so a
     * test seen in results and in the catalogue is one row. */
    a->vendor_key = strdup(name);
    a->name = strdup(name);
    a->raw_json = jx_dump(v);
    if (!a->vendor_key || !a->name || !a->raw_json)
        return err_set(err, SS_ENOMEM, "out of memory");
    return 0;
}

/* ---- PDF reports ---------------------------------------------------------- */

/* The decoded size against the response's size field. */
static int pdf_check_size(size_t got, long long size, struct ss_err *err)
{
    if (size < 0 || (unsigned long long)got != (unsigned long long)size)
        return err_set(err, SS_EINVAL, "decoded to %zu bytes, but the response's size says %lld",
                       got, size);
    return 0;
}

/* cepa_pdf_decode without the size check (the size may come after it). */
static int pdf_decode(const char *json, size_t len, struct buf *out, struct ss_err *err)
{
    if (len < 2 || json[0] != '"' || json[len - 1] != '"')
        return err_set(err, SS_EINVAL, "the content is not a JSON string");
    struct buf t;
    buf_init(&t, 0);
    size_t start = out->len;
    int rc = -1;
    /* The base64 alphabet needs no escapes but "\/" (PHP's json_encode);
     * a line-wrapped encoding brings "\r\n": skipped. */
    const char *p = json + 1, *end = json + len - 1;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\\')
            q++;
        if (q > p && buf_append(&t, p, (size_t)(q - p), err) != 0)
            goto out;
        if (q == end)
            break;
        if (q + 1 >= end) {
            err_set(err, SS_EINVAL, "the content ends in a lone backslash");
            goto out;
        }
        if (q[1] == '/') {
            if (buf_append(&t, "/", 1, err) != 0)
                goto out;
        } else if (q[1] != 'n' && q[1] != 'r') {
            err_set(err, SS_EINVAL, "the content has a \\%c escape at byte %zu: not base64", q[1],
                    (size_t)(q - json));
            goto out;
        }
        p = q + 2;
    }
    if (sign_base64_decode(out, t.data ? t.data : "", t.len, err) != 0) {
        err_prefix(err, "the content is not base64");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        out->len = start;
    buf_free(&t);
    return rc;
}

int cepa_pdf_decode(const char *json, size_t len, long long size, struct buf *out,
                    struct ss_err *err)
{
    size_t start = out->len;
    if (pdf_decode(json, len, out, err) != 0)
        return -1;
    if (pdf_check_size(out->len - start, size, err) != 0) {
        out->len = start;
        return -1;
    }
    return 0;
}

/* A document to have: a completed test's report (kind "result", owner the
 * token) or an overall group's (kind "group", owner "<e-mail>/<id>"), with
 * the digest of the record as loaded (results/result_groups.raw_sha256). */
struct doc_want {
    char *owner;
    char *email, *group_id; /* groups: the request's parameters */
    int group;
    unsigned char src[SIGN_SHA256_LEN];
};

struct doc_list {
    struct doc_want *w;
    size_t n, cap;
};

static void docs_clear(struct doc_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->w[i].owner);
        free(l->w[i].email);
        free(l->w[i].group_id);
    }
    l->n = 0;
}

static void docs_free(struct doc_list *l)
{
    docs_clear(l);
    free(l->w);
    l->w = NULL;
    l->cap = 0;
}

/* Adds the report of a test (email NULL: owner = token) or of a group. */
static int docs_add(struct doc_list *l, const char *key, const char *email, const char *raw,
                    struct ss_err *err)
{
    if (!raw)
        return 0;
    if (arr_grow((void **)&l->w, l->n, &l->cap, sizeof *l->w) != 0)
        return err_set(err, SS_ENOMEM, "out of memory");
    struct doc_want *w = &l->w[l->n];
    memset(w, 0, sizeof *w);
    if (sign_sha256(raw, strlen(raw), w->src, err) != 0)
        return -1;
    w->group = email != NULL;
    if (w->group) {
        size_t n = strlen(email) + strlen(key) + 2;
        w->owner = malloc(n);
        if (w->owner)
            snprintf(w->owner, n, "%s/%s", email, key);
        w->email = strdup(email);
        w->group_id = strdup(key);
    } else {
        w->owner = strdup(key);
    }
    l->n++;
    if (!w->owner || (w->group && (!w->email || !w->group_id)))
        return err_set(err, SS_ENOMEM, "out of memory");
    return 0;
}

/* Adds a copy of w (its owner and kind; enough for cepa_run.refused). */
static int docs_add_copy(struct doc_list *l, const struct doc_want *w, struct ss_err *err)
{
    if (arr_grow((void **)&l->w, l->n, &l->cap, sizeof *l->w) != 0)
        return err_set(err, SS_ENOMEM, "out of memory");
    struct doc_want *c = &l->w[l->n];
    memset(c, 0, sizeof *c);
    c->group = w->group;
    memcpy(c->src, w->src, sizeof c->src);
    if (!(c->owner = strdup(w->owner)))
        return err_set(err, SS_ENOMEM, "out of memory");
    l->n++;
    return 0;
}

/* The completed tests of b->res[from..] (their raw as it is loaded). */
static int docs_add_results(struct doc_list *l, const struct ss_batch *b, size_t from,
                            struct ss_err *err)
{
    for (size_t i = from; i < b->n_res; i++) {
        const struct ss_result *r = &b->res[i];
        if (r->vendor_key && r->status_label && strcmp(r->status_label, "completed") == 0 &&
            docs_add(l, r->vendor_key, NULL, r->raw_json, err) != 0)
            return -1;
    }
    return 0;
}

/* One member of GetCandidates' "candidates" object: the e-mail and its value,
 * an array of candidate objects (as the seed's example shows) or one. */
struct cepa_page {
    const struct cepa_opts *co;
    long candidates;
    long count; /* the response's "count", -1 if none */
    /* the page's candidate keys with a completed test, for overall look-ups */
    char **completed;
    size_t n_completed, cap_completed;
    struct doc_list *docs; /* completed tests' reports to have (pdfs), or NULL */
};

static void page_restart(void *arg)
{
    struct cepa_page *pg = arg;
    pg->candidates = 0;
    pg->count = -1;
    for (size_t i = 0; i < pg->n_completed; i++)
        free(pg->completed[i]);
    pg->n_completed = 0;
    if (pg->docs)
        docs_clear(pg->docs);
}

static void page_free(struct cepa_page *pg)
{
    page_restart(pg);
    free(pg->completed);
    pg->completed = NULL;
    pg->cap_completed = 0;
}

static int note_completed(struct cepa_page *pg, const char *key)
{
    for (size_t i = 0; i < pg->n_completed; i++)
        if (strcmp(pg->completed[i], key) == 0)
            return 0;
    if (pg->n_completed == pg->cap_completed) {
        size_t cap = pg->cap_completed ? pg->cap_completed * 2 : 64;
        char **p = realloc(pg->completed, cap * sizeof *p);
        if (!p)
            return -1;
        pg->completed = p;
        pg->cap_completed = cap;
    }
    return (pg->completed[pg->n_completed] = strdup(key)) ? (int)(pg->n_completed++, 0) : -1;
}

static int candidate_value(struct cepa_page *pg, const char *email, json_object *c,
                           struct ss_batch *b, struct ss_err *err)
{
    struct jx_fail f = {{0}, {0}};
    char *ckey = NULL;
    json_object *tests = NULL;
    if (!json_object_is_type(c, json_type_object)) {
        fail(&f, "candidates", "expected a candidate object");
        return quarantine_obj(b, email, c, &f, err);
    }
    if (jx_typed(c, "tests", json_type_array, &tests, &f) != 0 ||
        add_candidate(c, pg->co, email, b, &ckey, &f) != 0)
        return quarantine_obj(b, email, c, &f, err);
    size_t before = b->n_res;
    long n = 0;
    if (add_tests(tests, pg->co, ckey, "candidates", b, &n, err) != 0)
        return -1;
    for (size_t i = before; i < b->n_res; i++)
        if (b->res[i].status_label && strcmp(b->res[i].status_label, "completed") == 0 &&
            note_completed(pg, ckey) != 0)
            return err_set(err, SS_ENOMEM, "out of memory");
    if (pg->docs && docs_add_results(pg->docs, b, before, err) != 0)
        return -1;
    return 0;
}

static int parse_candidate_elem(void *arg, const char *key, size_t index, const char *json,
                                size_t len, struct ss_batch *b, struct ss_err *err)
{
    struct cepa_page *pg = arg;
    (void)index;
    pg->candidates++;
    json_object *v = NULL;
    struct ss_err perr = {0};
    if (!key || !*key) {
        return fetch_quarantine_raw(b, "candidates", json, len, "candidates",
                                    "a candidate without an e-mail", err);
    }
    if (jx_parse(json, len, &v, &perr) != 0)
        return fetch_quarantine_text(b, key, json, len, NULL, perr.msg, err);
    int rc = 0;
    if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = candidate_value(pg, key, json_object_array_get_idx(v, i), b, err);
    } else {
        rc = candidate_value(pg, key, v, b, err);
    }
    json_object_put(v);
    return rc;
}

static int page_member(void *arg, const char *key, const char *json, size_t len,
                       struct page_res *res, struct ss_err *err)
{
    struct cepa_page *pg = arg;
    (void)res;
    (void)err;
    if (strcmp(key, "count") == 0) {
        char t[32];
        snprintf(t, sizeof t, "%.*s", (int)(len < 31 ? len : 31), json);
        char *end;
        long v = strtol(t[0] == '"' ? t + 1 : t, &end, 10);
        if (end != t)
            pg->count = v;
    }
    return 0;
}

/* Small responses (one candidate, one test, one candidate's groups, the
 * catalogue): every root member arrives as an element of the root object
 * and is collected here, then read whole. */
struct cepa_root {
    json_object *o;
};

static int root_member(void *arg, const char *key, size_t index, const char *json, size_t len,
                       struct ss_batch *b, struct ss_err *err)
{
    struct cepa_root *rt = arg;
    (void)index;
    (void)b;
    json_object *v = NULL;
    /* A bare scalar (true, 12) needs a delimiter after it for json-c. */
    char *t = malloc(len + 2);
    if (!t)
        return err_set(err, SS_ENOMEM, "out of memory");
    memcpy(t, json, len);
    t[len] = ' ';
    t[len + 1] = '\0';
    int rc = jx_parse(t, len + 1, &v, err);
    free(t);
    if (rc != 0)
        return -1;
    json_object_object_add(rt->o, key ? key : "", v);
    return 0;
}

static void root_restart(void *arg)
{
    struct cepa_root *rt = arg;
    json_object_put(rt->o);
    rt->o = json_object_new_object();
}

/* What a whole small response holds, by its "method" (or the method we
 * asked, when it says none). */
static int parse_root(const struct cepa_opts *co, json_object *o, const char *asked,
                      const char *candidate_key, struct ss_batch *b, long *records,
                      struct ss_err *err)
{
    const char *method = asked;
    json_object *m, *x = NULL;
    if (json_object_object_get_ex(o, "method", &m) && json_object_is_type(m, json_type_string))
        method = json_object_get_string(m);
    *records = 0;
    struct jx_fail f = {{0}, {0}};
    if (!method)
        return err_set(err, SS_EINVAL, "response names no method");
    if (strcmp(method, "GetTests") == 0) {
        if (jx_typed(o, "tests", json_type_object, &x, &f) != 0)
            return err_set(err, SS_EINVAL, "GetTests: %s %s", f.field, f.reason);
        json_object_object_foreach(x, name, v)
        {
            (*records)++;
            if (add_catalogue_entry(name, v, b, err) != 0)
                return -1;
        }
        return 0;
    }
    if (strcmp(method, "GetTestByToken") == 0) {
        char *email = NULL;
        if (jx_typed(o, "tests", json_type_array, &x, &f) != 0 ||
            str_field(o, "email", 0, &email, &f) != 0)
            return err_set(err, SS_EINVAL, "GetTestByToken: %s %s", f.field, f.reason);
        char *ckey = email ? email_key(co, email) : ss_strdup(candidate_key);
        free(email);
        int rc = add_tests(x, co, ckey, "candidates", b, records, err);
        free(ckey);
        return rc;
    }
    if (strcmp(method, "GetCandidates") == 0) {
        struct cepa_page pg = {co, 0, -1, NULL, 0, 0, NULL};
        if (jx_typed(o, "candidates", json_type_object, &x, &f) != 0) {
            json_object *arr = NULL;
            struct jx_fail f2 = {{0}, {0}};
            if (jx_typed(o, "candidates", json_type_array, &arr, &f2) != 0 || !arr ||
                json_object_array_length(arr) > 0)
                return err_set(err, SS_EINVAL, "GetCandidates: %s %s", f.field, f.reason);
        }
        int rc = 0;
        if (x) {
            json_object_object_foreach(x, email, v)
            {
                const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
                if ((rc = parse_candidate_elem(&pg, email, 0, t, strlen(t), b, err)) != 0)
                    break;
            }
        }
        *records = pg.candidates;
        page_free(&pg);
        return rc;
    }
    /* GetCandidateByEmail and GetOverallResultByEmail: one candidate. */
    int overall = strcmp(method, "GetOverallResultByEmail") == 0;
    if (!overall && strcmp(method, "GetCandidateByEmail") != 0)
        return err_set(err, SS_EINVAL, "unknown method \"%.64s\"", method);
    char *email = NULL, *ckey = NULL;
    if (str_field(o, "email", 0, &email, &f) != 0 || (!email && !candidate_key))
        return err_set(err, SS_EINVAL, "%s: no candidate e-mail", method);
    int rc = -1;
    json_object *groups = NULL;
    if (jx_typed(o, overall ? "groups" : "tests", json_type_array, &x, &f) != 0) {
        rc = err_set(err, SS_EINVAL, "%s: %s %s", method, f.field, f.reason);
        goto out;
    }
    groups = overall ? x : NULL;
    if (overall) {
        /* The person without the groups, as the candidate's raw JSON. */
        json_object *copy = NULL;
        if (json_object_deep_copy(o, &copy, NULL) != 0) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        json_object_object_del(copy, "groups");
        json_object_object_del(copy, "request");
        json_object_object_del(copy, "method");
        json_object_object_del(copy, "login");
        if (add_candidate(copy, co, email ? email : candidate_key, b, &ckey, &f) != 0) {
            json_object_put(copy);
            rc = err_set(err, SS_EINVAL, "%s: %s %s", method, f.field, f.reason);
            goto out;
        }
        json_object_put(copy);
        rc = groups ? add_groups(groups, co, ckey, b, records, err) : 0;
    } else {
        json_object *copy = NULL;
        if (json_object_deep_copy(o, &copy, NULL) != 0) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        json_object_object_del(copy, "request");
        json_object_object_del(copy, "method");
        json_object_object_del(copy, "login");
        json_object_object_del(copy, "issuer");
        /* The same person as GetCandidates sends it (keyed by e-mail, not
         * carrying it), so a re-read of an unchanged candidate rewrites nothing. */
        json_object_object_del(copy, "email");
        if (add_candidate(copy, co, email ? email : candidate_key, b, &ckey, &f) != 0) {
            json_object_put(copy);
            rc = err_set(err, SS_EINVAL, "%s: %s %s", method, f.field, f.reason);
            goto out;
        }
        json_object_put(copy);
        rc = add_tests(x, co, ckey, "candidates", b, records, err);
    }
out:
    free(email);
    return rc;
}

int cepa_parse(const struct cepa_opts *o, const char *body, size_t len, const char *candidate_key,
               struct ss_batch *b, long *records, struct ss_err *err)
{
    json_object *root = NULL;
    *records = 0;
    if (jx_parse(body, len, &root, err) != 0)
        return -1;
    int rc = -1;
    if (!json_object_is_type(root, json_type_object))
        rc = err_set(err, SS_EINVAL, "expected a JSON object");
    else
        rc = parse_root(o, root, NULL, candidate_key, b, records, err);
    json_object_put(root);
    return rc;
}

/* ---- options ----------------------------------------------------------- */

struct cepa_cfg {
    struct cepa_opts co;
    int desc;       /* sort=DESC */
    long limit;     /* page_size */
    long overlap;   /* records re-read at each page boundary */
    int query_form; /* url_form=query: ?method=Name */
    const char *method_param;
    int reports;            /* reports=true */
    int short_ends;         /* end_on_short_page */
    int full_every;         /* days */
    int overall;            /* overall_results */
    int pdfs;               /* pdfs: the reports of new or changed completed tests and groups */
    const char *pdf_member; /* pdf_content_member */
    long pdf_max;           /* pdf_max_requests: PDF requests one run may spend */
};

static void read_cfg(const struct cfg_account *a, struct cepa_cfg *c)
{
    memset(c, 0, sizeof *c);
    cepa_opts_default(&c->co);
    c->co.utc_offset_min = (int)cfg_opt_int(a, "utc_offset_minutes", 180);
    const char *id = cfg_opt(a, "email_identity");
    c->co.lower_email = !(id && strcmp(id, "exact") == 0);
    const char *sort = cfg_opt(a, "sort");
    c->desc = !(sort && strcmp(sort, "ASC") == 0);
    c->limit = a->page_size > 0 ? a->page_size : 100;
    c->overlap = cfg_opt_int(a, "overlap", 10);
    if (c->overlap < 0)
        c->overlap = 0;
    if (c->overlap >= c->limit)
        c->overlap = c->limit - 1;
    const char *form = cfg_opt(a, "url_form");
    c->query_form = form && strcmp(form, "query") == 0;
    c->method_param = cfg_opt(a, "method_param");
    if (!c->method_param)
        c->method_param = "method";
    c->reports = cfg_opt_bool(a, "reports", 1);
    c->short_ends = cfg_opt_bool(a, "end_on_short_page", 0);
    c->full_every = (int)cfg_opt_int(a, "full_every_days", 7);
    c->overall = cfg_opt_bool(a, "overall_results", 1);
    c->pdfs = cfg_opt_bool(a, "pdfs", 0);
    c->pdf_max = cfg_opt_int(a, "pdf_max_requests", 500);
    c->pdf_member = cfg_opt(a, "pdf_content_member");
    if (!c->pdf_member || !*c->pdf_member)
        c->pdf_member = "content";
}

static int cepa_auth_setup(const struct cfg_account *a, struct http_auth *out, struct ss_err *err)
{
    const char *in = cfg_opt(a, "api_key_in");
    const char *name = cfg_opt(a, "api_key_name");
    out->name = name && *name ? name : "api_key";
    out->value = a->api_key ? a->api_key : "";
    out->prefix = NULL;
    if (in && strcmp(in, "header") == 0) {
        out->place = HTTP_AUTH_HEADER;
    } else if (!in || strcmp(in, "query") == 0) {
        out->place = HTTP_AUTH_QUERY;
        /* The key travels in the URL: mask that parameter in every message. */
        redact_add_param(out->name);
    } else {
        return err_set(err, SS_ECONFIG, "cepa: api_key_in must be query or header, not \"%s\"", in);
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------ */

static int urlenc(struct buf *b, const char *s, struct ss_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        char t[4] = {(char)*p, 0, 0, 0};
        if (!plain) {
            t[0] = '%';
            t[1] = hex[*p >> 4];
            t[2] = hex[*p & 15];
        }
        if (buf_appendf(b, err, "%s", t) != 0)
            return -1;
    }
    return 0;
}

/* path and query of a method call; params "a=b&c=d" already encoded. */
static int method_url(const struct cepa_cfg *c, const char *method, const char *params, char *path,
                      size_t np, struct buf *q, struct ss_err *err)
{
    buf_reset(q);
    if (c->query_form) {
        snprintf(path, np, "/");
        if (buf_appendf(q, err, "%s=%s", c->method_param, method) != 0 ||
            (params && *params && buf_appendf(q, err, "&%s", params) != 0))
            return -1;
    } else {
        snprintf(path, np, "/%s", method);
        if (buf_appendf(q, err, "%s", params ? params : "") != 0)
            return -1;
    }
    return 0;
}

/* Hands the part filled so far to the loader without a cursor. */
static int flush_part(void *arg, struct ss_batch **b, struct ss_err *err)
{
    struct vendor_ctx *ctx = arg;
    return ctx->emit(ctx->sink, *b, NULL, err);
}

/* Reads one small response (every root member collected) into b. */
static int fetch_small(struct vendor_ctx *ctx, const struct cepa_cfg *c, const char *method,
                       const char *params, const char *candidate_key, struct ss_batch *b,
                       long *records, struct ss_err *err)
{
    char path[64];
    struct buf q;
    buf_init(&q, 0);
    struct cepa_root rt = {json_object_new_object()};
    int rc = -1;
    if (!rt.o || method_url(c, method, params, path, sizeof path, &q, err) != 0)
        goto out;
    char what[160];
    snprintf(what, sizeof what, "GET %s", method);
    struct fetch_req fr;
    memset(&fr, 0, sizeof fr);
    fr.method = "GET";
    fr.path = path;
    fr.query = q.len ? q.data : NULL;
    fr.container = NULL;
    fr.container_kind = JSTREAM_OBJECT;
    fr.parse = root_member;
    fr.restart = root_restart;
    fr.arg = &rt;
    fr.what = what;
    struct ss_batch scratch;
    batch_init(&scratch);
    /* Records are collected whole (root_member): never flushed. */
    struct page_out out = {&scratch, SIZE_MAX, NULL, NULL, NULL};
    struct page_res res;
    memset(&res, 0, sizeof res);
    rc = vendor_fetch(ctx, &fr, &out, &res, err);
    batch_free(&scratch);
    if (rc == 0)
        rc = parse_root(&c->co, rt.o, method, candidate_key, b, records, err);
out:
    json_object_put(rt.o);
    buf_free(&q);
    return rc;
}

/* ---- extraction ---------------------------------------------------------- */

struct cepa_run {
    struct vendor_ctx *ctx;
    struct cepa_cfg c;
    long requests; /* per-candidate requests spent (re-checks, overall) */
    long max_requests;
    /* PDF reports this run: requested, stored, refused (bad size, ...) */
    long pdf_requests, pdf_stored, pdf_failed, pdf_deferred;
    /* reports that failed this run: not asked again when a page is re-read */
    struct doc_list refused;
};

static long changed_now(const struct vendor_ctx *ctx)
{
    return ctx->changed ? ctx->changed(ctx->sink) : -1;
}

/* Largest PDF kept: the decoded bytes of one document (the base64 text is
 * capped by jstream's element limit, 16 MiB, and max_response_bytes). */
#define CEPA_PDF_MAX ((size_t)16 << 20)

/* A PDF response: every root member but the content collected (small), the
 * content decoded as it arrives: memory is one document. */
struct pdf_resp {
    const char *member;
    json_object *o;
    struct buf data;
    int have;
    struct ss_err derr; /* the content could not be decoded */
};

static int pdf_elem(void *arg, const char *key, size_t index, const char *json, size_t len,
                    struct ss_batch *b, struct ss_err *err)
{
    struct pdf_resp *pr = arg;
    if (key && strcmp(key, pr->member) == 0) {
        pr->have = 1;
        buf_reset(&pr->data);
        struct ss_err e = {0};
        if (pdf_decode(json, len, &pr->data, &e) != 0) {
            if (e.code == SS_ENOMEM) {
                *err = e;
                return -1;
            }
            pr->derr = e;
        }
        return 0;
    }
    struct cepa_root rt = {pr->o};
    return root_member(&rt, key, index, json, len, b, err);
}

static void pdf_restart(void *arg)
{
    struct pdf_resp *pr = arg;
    json_object_put(pr->o);
    pr->o = json_object_new_object();
    buf_reset(&pr->data);
    pr->have = 0;
    memset(&pr->derr, 0, sizeof pr->derr);
}

/* A member as text ("" when absent or not a scalar). */
static const char *pdf_str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !v || json_object_is_type(v, json_type_object) ||
        json_object_is_type(v, json_type_array))
        return "";
    return json_object_get_string(v);
}

/* Fetches one report of w and stores it. Returns -1 only when the stream
 * must stop (refused key, out of memory, database): a report that fails is
 * logged with its test or group and counted; the result stays loaded. */
static int fetch_pdf(struct cepa_run *cr, const struct doc_want *w, struct ss_err *err)
{
    struct vendor_ctx *ctx = cr->ctx;
    const char *kind = w->group ? "group" : "result";
    int cur = ctx->document_current(ctx->docs, kind, w->owner, w->src, err);
    if (cur < 0)
        return -1;
    if (cur > 0)
        return 0;
    const char *method = w->group ? "GetOverallResultByPDF" : "GetSingleResultByPDF";
    struct buf p, q;
    buf_init(&p, 0);
    buf_init(&q, 0);
    struct pdf_resp pr;
    memset(&pr, 0, sizeof pr);
    pr.member = cr->c.pdf_member;
    pr.o = json_object_new_object();
    buf_init(&pr.data, CEPA_PDF_MAX);
    struct ss_batch scratch;
    batch_init(&scratch);
    struct ss_err ferr = {0};
    char path[64], what[200];
    int rc = -1;
    if (!pr.o) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    if (w->group ? (buf_appendf(&p, err, "email=") != 0 || urlenc(&p, w->email, err) != 0 ||
                    buf_appendf(&p, err, "&overall_id=") != 0 || urlenc(&p, w->group_id, err) != 0)
                 : (buf_appendf(&p, err, "token=") != 0 || urlenc(&p, w->owner, err) != 0))
        goto out;
    if (method_url(&cr->c, method, p.data, path, sizeof path, &q, err) != 0)
        goto out;
    snprintf(what, sizeof what, "GET %s %s", method, w->owner);
    struct fetch_req fr;
    memset(&fr, 0, sizeof fr);
    fr.method = "GET";
    fr.path = path;
    fr.query = q.data;
    fr.container = NULL;
    fr.container_kind = JSTREAM_OBJECT;
    fr.parse = pdf_elem;
    fr.restart = pdf_restart;
    fr.arg = &pr;
    fr.what = what;
    struct page_out po = {&scratch, SIZE_MAX, NULL, NULL, NULL};
    struct page_res res;
    memset(&res, 0, sizeof res);
    cr->pdf_requests++;
    cr->requests++;
    if (vendor_fetch(ctx, &fr, &po, &res, &ferr) != 0) {
        if (ferr.code == SS_EAUTH || ferr.code == SS_ENOMEM) {
            *err = ferr;
            goto out;
        }
    } else if (!pr.have) {
        /* The seed's scrape lost the member's name: say what came instead. */
        struct buf names;
        buf_init(&names, 512);
        json_object_object_foreach(pr.o, k, v)
        {
            (void)v;
            if (buf_appendf(&names, &ferr, "%s%s", names.len ? ", " : "", k) != 0)
                break;
        }
        err_set(&ferr, SS_EINVAL,
                "no \"%s\" member%s (the response has %s; set pdf_content_member)", pr.member,
                scratch.n_quar ? " of at most 16 MiB" : "", names.len ? names.data : "none");
        buf_free(&names);
    } else if (pr.derr.code) {
        ferr = pr.derr;
    } else {
        double sz = 0;
        const char *st = pdf_str(pr.o, "size");
        if (cepa_score(st, &sz) != 0 || sz < 0 || sz != (double)(long long)sz) {
            err_set(&ferr, SS_EINVAL, "no usable size field (\"%.32s\") to check the %zu bytes", st,
                    pr.data.len);
        } else if (pdf_check_size(pr.data.len, (long long)sz, &ferr) == 0) {
            struct vendor_document d;
            memset(&d, 0, sizeof d);
            d.kind = kind;
            d.owner_key = w->owner;
            d.file_name = pdf_str(pr.o, "file")[0] ? pdf_str(pr.o, "file") : NULL;
            d.mime = pdf_str(pr.o, "mime")[0] ? pdf_str(pr.o, "mime") : NULL;
            d.content = (const unsigned char *)(pr.data.data ? pr.data.data : "");
            d.size = pr.data.len;
            memcpy(d.source_sha256, w->src, sizeof d.source_sha256);
            if (sign_sha256(d.content, d.size, d.sha256, err) != 0 ||
                ctx->document(ctx->docs, &d, err) != 0)
                goto out;
            cr->pdf_stored++;
            rc = 0;
            goto out;
        }
    }
    cr->pdf_failed++;
    if (docs_add_copy(&cr->refused, w, err) != 0)
        goto out;
    slog_error(&ctx->log, "PDF report of %s %s not stored: %s",
               w->group ? "overall result" : "test", w->owner, ferr.msg);
    rc = 0;
out:
    batch_free(&scratch);
    json_object_put(pr.o);
    buf_free(&pr.data);
    buf_free(&p);
    buf_free(&q);
    return rc;
}

/* The reports of l not stored yet, or rendered from an older record. */
static int fetch_pdfs(struct cepa_run *cr, const struct doc_list *l, struct ss_err *err)
{
    struct vendor_ctx *ctx = cr->ctx;
    if (!cr->c.pdfs || !ctx->document || !ctx->document_current)
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        if (ctx->stop && *ctx->stop)
            return 0;
        /* A report over the run's budget waits: a later run that reads its
         * page finds it missing and asks then. */
        if (cr->pdf_requests >= cr->c.pdf_max) {
            cr->pdf_deferred++;
            continue;
        }
        int refused = 0;
        for (size_t k = 0; k < cr->refused.n && !refused; k++)
            refused = strcmp(cr->refused.w[k].owner, l->w[i].owner) == 0 &&
                      cr->refused.w[k].group == l->w[i].group;
        if (!refused && fetch_pdf(cr, &l->w[i], err) != 0)
            return -1;
    }
    return 0;
}

/* GetOverallResultByEmail of one candidate into b: its groups, and the
 * candidate (b is supplementary: inserted if new, never overwritten from
 * here). The member tests are dropped: they are GetCandidates' (a poorer
 * copy, without status or reports, must not overwrite them). */
static int fetch_overall(struct cepa_run *cr, const char *ckey, struct ss_batch *b,
                         struct ss_err *err)
{
    struct vendor_ctx *ctx = cr->ctx;
    struct buf p;
    buf_init(&p, 0);
    size_t first = b->n_res;
    long n = 0;
    int rc = -1;
    if (buf_appendf(&p, err, "email=") != 0 || urlenc(&p, ckey, err) != 0)
        goto out;
    struct ss_err ferr = {0};
    if (fetch_small(ctx, &cr->c, "GetOverallResultByEmail", p.data, ckey, b, &n, &ferr) != 0) {
        if (ferr.code == SS_EAUTH || ferr.code == SS_ENOMEM) {
            *err = ferr;
            goto out;
        }
        /* One candidate's overall report failing is not the stream failing. */
        slog_warn(&ctx->log, "overall results of %s: %s", ckey, ferr.msg);
    }
    while (b->n_res > first)
        batch_drop_last_result(b);
    rc = 0;
out:
    buf_free(&p);
    cr->requests++;
    return rc;
}

/* The overall groups of candidates keys[0..n), loaded in one batch. */
static int load_overall(struct cepa_run *cr, char *const *keys, size_t n, struct ss_err *err)
{
    struct ss_batch b;
    batch_init(&b);
    b.supplementary = 1;
    int rc = 0;
    struct doc_list docs = {NULL, 0, 0};
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fetch_overall(cr, keys[i], &b, err);
    for (size_t i = 0; cr->c.pdfs && i < b.n_groups && rc == 0; i++)
        if (b.groups[i].vendor_key && b.groups[i].candidate_key)
            rc = docs_add(&docs, b.groups[i].vendor_key, b.groups[i].candidate_key,
                          b.groups[i].raw_json, err);
    if (rc == 0 && (b.n_groups > 0 || b.n_cand > 0 || b.n_quar > 0))
        rc = cr->ctx->emit(cr->ctx->sink, &b, NULL, err);
    /* After the groups are loaded: a report's source digest is what is stored. */
    if (rc == 0)
        rc = fetch_pdfs(cr, &docs, err);
    docs_free(&docs);
    batch_free(&b);
    return rc;
}

/* One page of GetCandidates into ctx->emit; *records candidates read;
 * *changed whether the page changed anything stored (1 when unknown). */
static int read_page(struct cepa_run *cr, long offset, const char *cursor, long *records,
                     long *count, int *changed, struct ss_err *err)
{
    struct vendor_ctx *ctx = cr->ctx;
    const struct cepa_cfg *c = &cr->c;
    char params[160], path[64], what[160];
    snprintf(params, sizeof params, "limit=%ld&offset=%ld&sort=%s&reports=%s", c->limit, offset,
             c->desc ? "DESC" : "ASC", c->reports ? "true" : "false");
    struct buf q;
    buf_init(&q, 0);
    struct ss_batch *b = calloc(1, sizeof *b);
    struct doc_list docs = {NULL, 0, 0};
    struct cepa_page pg = {&c->co, 0, -1, NULL, 0, 0, c->pdfs ? &docs : NULL};
    int rc = -1;
    if (!b) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    if (method_url(c, "GetCandidates", params, path, sizeof path, &q, err) != 0)
        goto out;
    snprintf(what, sizeof what, "GET GetCandidates offset %ld", offset);
    struct fetch_req fr;
    memset(&fr, 0, sizeof fr);
    fr.method = "GET";
    fr.path = path;
    fr.query = q.data;
    fr.container = "candidates";
    fr.container_kind = JSTREAM_ANY; /* an empty list may come as [] */
    fr.missing_ok = 1;
    fr.parse = parse_candidate_elem;
    fr.member = page_member;
    fr.restart = page_restart;
    fr.arg = &pg;
    fr.what = what;
    struct page_out out = {b, ctx->part_records ? ctx->part_records : 1000, flush_part, ctx, NULL};
    struct page_res res;
    memset(&res, 0, sizeof res);
    long before = changed_now(ctx);
    if (vendor_fetch(ctx, &fr, &out, &res, err) != 0)
        goto out;
    b = out.b;
    if (ctx->emit(ctx->sink, b, cursor, err) != 0)
        goto out;
    ctx->pages++;
    *records = pg.candidates;
    *count = pg.count;
    long after = changed_now(ctx);
    *changed = before < 0 || after != before;
    if (ctx->progress)
        ctx->progress(ctx->sink, what, pg.candidates, -1);
    /* Overall groups only where something changed: a page that changed
     * nothing costs no per-candidate request. */
    if (c->overall && *changed && load_overall(cr, pg.completed, pg.n_completed, err) != 0)
        goto out;
    /* Reports of the page's completed tests, now loaded: only those not
     * stored yet or whose test changed cost a request. */
    if (fetch_pdfs(cr, &docs, err) != 0)
        goto out;
    rc = 0;
out:
    page_free(&pg);
    docs_free(&docs);
    if (b) {
        batch_free(b);
        free(b);
    }
    buf_free(&q);
    return rc;
}

/* Pages from `offset` to the end of the list (full) or to the first page
 * that changed nothing (!full). cursor_fmt: the checkpoint after each page
 * ("" = none): full passes store "full:<next>:<since>". */
static int pass(struct cepa_run *cr, long offset, int full, long since_full, long *pages,
                struct ss_err *err)
{
    struct vendor_ctx *ctx = cr->ctx;
    const struct cepa_cfg *c = &cr->c;
    *pages = 0;
    long longest = 0;
    for (;;) {
        if (ctx->stop && *ctx->stop)
            return 0;
        long records = 0, count = -1;
        int changed = 1;
        char cursor[96];
        /* The checkpoint this page completes is known only after reading it;
         * a full pass stores where the next page starts. */
        snprintf(cursor, sizeof cursor, "full:%ld:%ld", offset, since_full);
        long page_offset = offset;
        if (read_page(cr, page_offset, NULL, &records, &count, &changed, err) != 0)
            return -1;
        (*pages)++;
        long next = page_offset + records - c->overlap;
        if (next <= page_offset)
            next = page_offset + records;
        /* A page shorter than the longest one served is the end of the list
         * as it was when read (arrivals only push the tail further down, and
         * it was read). The API may cap limit below page_size silently, so
         * page_size itself is not the measure unless end_on_short_page. */
        int end = records == 0 || (c->short_ends && records < c->limit) || records < longest;
        if (records > longest)
            longest = records;
        if (full && !end) {
            struct ss_batch empty;
            batch_init(&empty);
            snprintf(cursor, sizeof cursor, "full:%ld:%ld", next, since_full);
            int rc = ctx->emit(ctx->sink, &empty, cursor, err);
            batch_free(&empty);
            if (rc != 0)
                return -1;
        }
        if (end || (!full && !changed))
            return 0;
        offset = next;
    }
}

/* Re-reads, one GetCandidateByEmail each, candidates whose stored tests may
 * still change: unfinished ones, and completed ones within recheck_days (a
 * re-score); at most recheck_max_requests requests a run. */
static int recheck(struct cepa_run *cr, struct ss_err *err)
{
    struct vendor_ctx *ctx = cr->ctx;
    if (!ctx->stored_keys || ctx->acct->recheck_days <= 0)
        return 0;
    static const char *const statuses[] = {"not_started",  "in_progress", "score_pending",
                                           "needs_review", "completed",   NULL};
    char **keys = NULL, **cands = NULL;
    size_t n = 0;
    long budget = cr->max_requests;
    /* Several tests share a candidate: ask for more tests than requests. */
    if (ctx->stored_keys(ctx->sink, statuses, ctx->acct->recheck_days, budget * 4, &keys, &cands,
                         &n, err) != 0)
        return -1;
    int rc = 0;
    long asked = 0;
    struct buf p;
    buf_init(&p, 0);
    for (size_t i = 0; i < n && rc == 0 && asked < budget; i++) {
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(cands[k], cands[i]) == 0;
        if (seen)
            continue;
        if (ctx->stop && *ctx->stop)
            break;
        struct ss_batch b;
        batch_init(&b);
        long recs = 0;
        struct ss_err ferr = {0};
        buf_reset(&p);
        asked++;
        ctx->recheck_requests++;
        if (buf_appendf(&p, err, "email=") != 0 || urlenc(&p, cands[i], err) != 0 ||
            (cr->c.reports && buf_appendf(&p, err, "&reports=true") != 0)) {
            rc = -1;
        } else if (fetch_small(ctx, &cr->c, "GetCandidateByEmail", p.data, cands[i], &b, &recs,
                               &ferr) != 0) {
            if (ferr.code == SS_EAUTH || ferr.code == SS_ENOMEM) {
                *err = ferr;
                rc = -1;
            } else {
                /* A candidate the vendor no longer knows: the others go on. */
                slog_warn(&ctx->log, "re-reading %s: %s", cands[i], ferr.msg);
            }
        } else {
            int completed = 0;
            for (size_t r = 0; r < b.n_res; r++)
                completed |=
                    b.res[r].status_label && strcmp(b.res[r].status_label, "completed") == 0;
            struct doc_list docs = {NULL, 0, 0};
            long before = changed_now(ctx);
            if (cr->c.pdfs)
                rc = docs_add_results(&docs, &b, 0, err);
            if (rc == 0)
                rc = ctx->emit(ctx->sink, &b, NULL, err);
            if (rc == 0 && cr->c.overall && completed && changed_now(ctx) != before)
                rc = load_overall(cr, &cands[i], 1, err);
            if (rc == 0)
                rc = fetch_pdfs(cr, &docs, err);
            docs_free(&docs);
        }
        batch_free(&b);
    }
    buf_free(&p);
    if (rc == 0 && asked > 0)
        slog_info(&ctx->log, "re-read %ld candidate(s) with tests that may still change", asked);
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
        free(cands[i]);
    }
    free(keys);
    free(cands);
    return rc;
}

static int extract_tests(struct vendor_ctx *ctx, const struct cepa_cfg *c, struct ss_err *err)
{
    struct ss_batch b;
    batch_init(&b);
    long n = 0;
    int rc = fetch_small(ctx, c, "GetTests", NULL, NULL, &b, &n, err);
    if (rc == 0)
        rc = ctx->emit(ctx->sink, &b, NULL, err);
    ctx->pages++;
    batch_free(&b);
    return rc;
}

static int cepa_extract_run(struct cepa_run *run, struct vendor_ctx *ctx, struct ss_err *err);

static int cepa_extract(struct vendor_ctx *ctx, struct ss_err *err)
{
    struct cepa_run cr;
    memset(&cr, 0, sizeof cr);
    int rc = cepa_extract_run(&cr, ctx, err);
    docs_free(&cr.refused);
    return rc;
}

static int cepa_extract_run(struct cepa_run *run, struct vendor_ctx *ctx, struct ss_err *err)
{
    run->ctx = ctx;
    read_cfg(ctx->acct, &run->c);
    run->max_requests = ctx->recheck_max > 0 ? ctx->recheck_max : 100;
    if (strcmp(ctx->stream->name, "candidates") != 0)
        return err_set(err, SS_ECONFIG, "cepa has no stream \"%s\"", ctx->stream->name);
    if (extract_tests(ctx, &run->c, err) != 0)
        return -1;

    long now_s = (long)(ctx->now / 1000000);
    long resume = 0, last_full = 0;
    int full = 1;
    const char *cur = ctx->cursor;
    if (!ctx->backfill && cur && strncmp(cur, "done:", 5) == 0) {
        last_full = strtol(cur + 5, NULL, 10);
        full = run->c.full_every <= 0 || now_s - last_full >= (long)run->c.full_every * 86400;
    } else if (!ctx->backfill && cur && strncmp(cur, "full:", 5) == 0) {
        char *end;
        resume = strtol(cur + 5, &end, 10);
        last_full = *end == ':' ? strtol(end + 1, NULL, 10) : 0;
        if (resume < 0)
            resume = 0;
    }
    long pages = 0;
    if (full) {
        slog_info(&ctx->log, "reading the whole candidate list from offset %ld (%s)", resume,
                  ctx->cursor ? "a full pass" : "first sync");
        if (pass(run, resume, 1, last_full, &pages, err) != 0)
            return -1;
        if (ctx->stop && *ctx->stop)
            return 0;
    } else {
        if (pass(run, 0, 0, last_full, &pages, err) != 0)
            return -1;
        slog_info(&ctx->log, "caught up after %ld page(s)", pages);
    }
    /* Arrivals during the pass sit above where it started (DESC): read from
     * the top until a page changes nothing. */
    if (!(ctx->stop && *ctx->stop) && (full || pages > 1)) {
        if (pass(run, 0, 0, last_full, &pages, err) != 0)
            return -1;
    }
    if (!ctx->backfill && !(ctx->stop && *ctx->stop) && recheck(run, err) != 0)
        return -1;
    if (run->c.pdfs)
        slog_info(&ctx->log,
                  "PDF reports: %ld requested, %ld stored, %ld not stored, %ld left for a "
                  "later run (pdf_max_requests %ld)",
                  run->pdf_requests, run->pdf_stored, run->pdf_failed, run->pdf_deferred,
                  run->c.pdf_max);
    if (ctx->stop && *ctx->stop)
        return 0;
    char cursor[64];
    snprintf(cursor, sizeof cursor, "done:%ld", full ? now_s : last_full);
    struct ss_batch empty;
    batch_init(&empty);
    int rc = ctx->emit(ctx->sink, &empty, cursor, err);
    batch_free(&empty);
    return rc;
}

static int cepa_parse_body(const struct vendor_ops *v, const char *stream, const char *body,
                           size_t len, struct ss_batch *b, long *records, struct ss_err *err)
{
    (void)v;
    if (strcmp(stream, "candidates") != 0)
        return err_set(err, SS_EINVAL, "cepa has no stream \"%s\"", stream);
    struct cepa_opts o;
    cepa_opts_default(&o);
    return cepa_parse(&o, body, len, NULL, b, records, err);
}

static int cepa_reparse(const struct vendor_ops *v, const char *stream, const char *raw, size_t len,
                        struct ss_result *r, struct ss_err *err)
{
    (void)v;
    (void)stream;
    json_object *o = NULL;
    if (jx_parse(raw, len, &o, err) != 0)
        return -1;
    struct cepa_opts co;
    cepa_opts_default(&co);
    struct jx_fail f = {{0}, {0}};
    int rc = parse_test(o, &co, r, &f);
    json_object_put(o);
    if (rc != 0)
        return err_set(err, SS_EINVAL, "field %s: %s", f.field, f.reason);
    return 0;
}

/* Tests that may still change in place: unfinished, or re-scored. */
static const char *const cepa_recheck[] = {"not_started",  "in_progress", "score_pending",
                                           "needs_review", "completed",   NULL};

static const struct vendor_stream cepa_streams[] = {
    {"candidates", 0, cepa_recheck, "completed_at"},
    {NULL, 0, NULL, NULL},
};

static const char *const cepa_stream_names[] = {"candidates", NULL};
static const char *const cepa_secrets[] = {"api_key", NULL};

static const struct cfg_opt_def cepa_opt_defs[] = {
    {"api_key_in", CFG_OPT_ENUM, "query", "query|header",
     "where the API key goes (the seed does not say): a query parameter or a request header, "
     "named api_key_name; a query parameter is masked in every log line and error"},
    {"api_key_name", CFG_OPT_STRING, "api_key", NULL,
     "name of the query parameter or header carrying the API key"},
    {"url_form", CFG_OPT_ENUM, "path", "path|query",
     "how a method is called (the seed does not say): path = base_url/GetCandidates?..., query = "
     "base_url/?<method_param>=GetCandidates&..."},
    {"method_param", CFG_OPT_STRING, "method", NULL,
     "query parameter naming the method (url_form "
     "query)"},
    {"utc_offset_minutes", CFG_OPT_INT, "180", NULL,
     "zone of the API's dates, which carry none, in minutes east of UTC: 180 = Turkey (UTC+3 all "
     "year since 2016), where CEPA Test runs"},
    {"sort", CFG_OPT_ENUM, "DESC", "DESC|ASC",
     "GetCandidates order: DESC (the API's default, newest first) lets an incremental sync stop at "
     "the first page that changed nothing"},
    {"overlap", CFG_OPT_INT, "10", NULL,
     "candidates re-read at each page boundary, so candidates removed while we page are not "
     "skipped (arrivals need none: they push the list down)"},
    {"end_on_short_page", CFG_OPT_BOOL, "false", NULL,
     "treat a page shorter than page_size as the end of the list; off because the API may cap "
     "limit below page_size without saying so: only an empty page ends the list"},
    {"reports", CFG_OPT_BOOL, "true", NULL,
     "ask for the report texts (rationale, global_description, statements) with each test"},
    {"email_identity", CFG_OPT_ENUM, "lower", "lower|exact",
     "candidate key: the e-mail lower-cased (one person whatever the case the API sends) or "
     "exactly as sent"},
    {"full_every_days", CFG_OPT_INT, "7", NULL,
     "read the whole candidate list again after this many days (0 = every sync); in between a "
     "sync stops at the first page that changed nothing and re-reads candidates whose tests may "
     "still change"},
    {"overall_results", CFG_OPT_BOOL, "true", NULL,
     "read GetOverallResultByEmail for candidates with a new or changed completed test (one "
     "request each) into result_groups"},
    {"pdfs", CFG_OPT_BOOL, "false", NULL,
     "read the PDF report of each new or changed completed test (GetSingleResultByPDF) and "
     "overall group (GetOverallResultByPDF) into result_documents: one request each under the "
     "rate limits; a stored report is fetched again only when its result changed"},
    {"pdf_max_requests", CFG_OPT_INT, "500", NULL,
     "at most this many PDF requests a run (the rest wait for a later run that reads their "
     "page, at the latest the next full pass): a first sync with pdfs on would otherwise spend "
     "one request per completed test, under 1,000 requests an hour"},
    {"pdf_content_member", CFG_OPT_STRING, "content", NULL,
     "member of the PDF responses holding the base64 file (the seed's scrape lost it); a "
     "response without it is reported with the members it has"},
    {NULL, CFG_OPT_STRING, NULL, NULL, NULL},
};

/* `scoresync plan`: a backfill reads the same shifting list as a sync. */
static void cepa_plan(const struct vendor_ops *v, const struct cfg_account *a, const char *stream,
                      struct vendor_plan *out)
{
    (void)v, (void)a, (void)stream;
    memset(out, 0, sizeof *out);
    out->why = "it reads the test catalogue, then an offset-paged list of candidates, newest "
               "first, whole (the list has no date filter)";
}

const struct vendor_ops cepa_vendor = {
    .name = "cepa",
    .title = "CEPA Test API v2",
    .streams = cepa_streams,
    .config =
        {
            .name = "cepa",
            .base_url = "https://cepatest.org/api/v2",
            .streams = cepa_stream_names,
            .default_streams = NULL,
            /* Undocumented: conservative, with 429 and Retry-After honoured. */
            .rate_limits = "2/1,1000/3600",
            .secrets = cepa_secrets,
            .opts = cepa_opt_defs,
        },
    .statuses = NULL,
    .auth = VA_API_KEY,
    .auth_setup = cepa_auth_setup,
    .extract = cepa_extract,
    .parse_body = cepa_parse_body,
    .reparse = cepa_reparse,
    .plan = cepa_plan,
};
