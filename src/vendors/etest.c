/* DynEd eTest API (seeds/001, a changelog with no wire format): see etest.h
 * for the streams and docs/vendors/etest.md for the contract. What is ours
 * and not the changelog's is an option of the schema below, read from the
 * account's config; nothing about the wire is fixed in this file. */
#include "etest.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/buf.h"
#include "../core/redact.h"
#include "../core/timeparse.h"
#include "fetch.h"
#include "jsonx.h"
#include "jstream.h"
#include "pager.h"
#include "prefetch.h"
#include "vendor.h"

/* ---- response field names (options field_<name>) -------------------------- */

enum ef {
    EF_ID,
    EF_EMAIL,
    EF_FIRST_NAME,
    EF_LAST_NAME,
    EF_USERNAME,
    EF_UIC,
    EF_HIDE,
    EF_PT_TOKEN,
    EF_PT_LEVEL,
    EF_PT_DATE,
    EF_PT_STATUS,
    EF_CT_TOKEN,
    EF_CT_CANDIDATE,
    EF_CT_LEVEL,
    EF_CT_SCORE,
    EF_CT_STATUS,
    EF_CT_DATE,
    EF_CT_CORRECT,
    EF_CT_INCORRECT,
    EF_CT_ANSWERED,
    EF_COUNT
};

/* Option key and default field name of each field, in enum order. */
static const struct {
    const char *opt, *def;
} ef_names[EF_COUNT] = {
    [EF_ID] = {"field_id", "id"},
    [EF_EMAIL] = {"field_email", "email"},
    [EF_FIRST_NAME] = {"field_first_name", "first_name"},
    [EF_LAST_NAME] = {"field_last_name", "last_name"},
    [EF_USERNAME] = {"field_username", "username"},
    [EF_UIC] = {"field_uic", "uic"},
    [EF_HIDE] = {"field_hide", "hide"},
    [EF_PT_TOKEN] = {"field_pt_token", "pt_token"},
    [EF_PT_LEVEL] = {"field_pt_level", "pt_level"},
    [EF_PT_DATE] = {"field_pt_date", "pt_date"},
    [EF_PT_STATUS] = {"field_pt_status", "pt_status"},
    [EF_CT_TOKEN] = {"field_ct_token", "token"},
    [EF_CT_CANDIDATE] = {"field_ct_candidate_id", "candidate_id"},
    [EF_CT_LEVEL] = {"field_ct_level", "level"},
    [EF_CT_SCORE] = {"field_ct_score", "score"},
    [EF_CT_STATUS] = {"field_ct_status", "status"},
    [EF_CT_DATE] = {"field_ct_date", "test_date"},
    [EF_CT_CORRECT] = {"field_total_correct", "total_correct"},
    [EF_CT_INCORRECT] = {"field_total_incorrect", "total_in_correct"},
    [EF_CT_ANSWERED] = {"field_total_answered", "total_answers"},
};

/* Where a stored raw record says which names it was read with: added to a
 * result's raw JSON only when some name differs from the default, so that
 * `renormalize` (which has no account config) reads it the same way. */
#define FIELDS_MEMBER "$fields"

/* The names one page is read with (borrowed from the config or defaults). */
struct et_map {
    const char *f[EF_COUNT];
    int remapped;
    int offset_min; /* zone of timestamps without one, minutes east of UTC */
};

static void map_defaults(struct et_map *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < EF_COUNT; i++)
        m->f[i] = ef_names[i].def;
}

static void map_from_account(struct et_map *m, const struct cfg_account *a)
{
    map_defaults(m);
    if (!a)
        return;
    for (int i = 0; i < EF_COUNT; i++) {
        const char *v = cfg_opt(a, ef_names[i].opt);
        if (v && *v && strcmp(v, m->f[i]) != 0) {
            m->f[i] = v;
            m->remapped = 1;
        }
    }
    m->offset_min = (int)cfg_opt_int(a, "time_offset_min", 0);
}

/* ---- typed readers, lenient where the changelog says types changed --------- */

static int fail(struct jx_fail *f, const char *field, const char *why)
{
    snprintf(f->field, sizeof f->field, "%s", field);
    snprintf(f->reason, sizeof f->reason, "%s", why);
    return -1;
}

static json_object *member(json_object *o, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, name, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    return v;
}

/* Text of a string or number member (ids arrive as either); "" and absent
 * are NULL. Objects and arrays are a type error. */
static int get_text(json_object *o, const char *name, int required, char **out, struct jx_fail *f)
{
    json_object *v = member(o, name);
    char num[64];
    *out = NULL;
    if (v) {
        switch (json_object_get_type(v)) {
        case json_type_string:
            if (json_object_get_string_len(v) > 0 && !(*out = strdup(json_object_get_string(v))))
                return fail(f, name, "out of memory");
            break;
        case json_type_int:
            snprintf(num, sizeof num, "%lld", (long long)json_object_get_int64(v));
            *out = strdup(num);
            break;
        case json_type_double:
            snprintf(num, sizeof num, "%.15g", json_object_get_double(v));
            *out = strdup(num);
            break;
        case json_type_boolean:
            *out = strdup(json_object_get_boolean(v) ? "true" : "false");
            break;
        default:
            return fail(f, name, "expected a string or a number");
        }
    }
    if (required && !*out)
        return fail(f, name, "missing");
    return 0;
}

/* A number, or a string holding one ("75", "75.5"; v1.4.6 turned values into
 * strings); "" and absent are no value. */
static int get_num(json_object *o, const char *name, double *out, int *present, struct jx_fail *f)
{
    json_object *v = member(o, name);
    *present = 0;
    *out = NAN;
    if (!v)
        return 0;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *out = json_object_get_double(v);
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *end;
        while (*s == ' ')
            s++;
        if (!*s)
            return 0;
        *out = strtod(s, &end);
        while (*end == ' ')
            end++;
        if (end == s || *end || !isfinite(*out))
            return fail(f, name, "expected a number");
    } else {
        return fail(f, name, "expected a number");
    }
    if (!isfinite(*out))
        return fail(f, name, "expected a finite number");
    *present = 1;
    return 0;
}

static int get_time(json_object *o, const char *name, int offset_min, int64_t *out,
                    struct jx_fail *f)
{
    char *s = NULL;
    *out = TS_NULL;
    if (get_text(o, name, 0, &s, f) != 0)
        return -1;
    if (!s)
        return 0;
    struct ss_err e = {0};
    int rc = ts_parse(s, offset_min, out, &e);
    free(s);
    if (rc != 0)
        return fail(f, name, "expected a date or timestamp");
    return 0;
}

/* ---- records -------------------------------------------------------------- */

/* The record's compact JSON, with the names it was read with when they are
 * not the defaults (see FIELDS_MEMBER). */
static char *result_raw(json_object *o, const struct et_map *m, const int *used, size_t n_used)
{
    if (!m->remapped)
        return jx_dump(o);
    json_object *names = json_object_new_object();
    for (size_t i = 0; i < n_used; i++)
        if (strcmp(m->f[used[i]], ef_names[used[i]].def) != 0)
            json_object_object_add(names, ef_names[used[i]].def,
                                   json_object_new_string(m->f[used[i]]));
    json_object_object_add(o, FIELDS_MEMBER, names);
    char *s = jx_dump(o);
    json_object_object_del(o, FIELDS_MEMBER);
    return s;
}

/* A stored raw record's names: the defaults, overridden by its FIELDS_MEMBER. */
static void map_from_raw(struct et_map *m, json_object *o)
{
    map_defaults(m);
    json_object *names = member(o, FIELDS_MEMBER);
    if (!names || !json_object_is_type(names, json_type_object))
        return;
    for (int i = 0; i < EF_COUNT; i++) {
        json_object *v = member(names, ef_names[i].def);
        if (v && json_object_is_type(v, json_type_string))
            m->f[i] = json_object_get_string(v);
    }
}

static int candidate_fields(json_object *o, const struct et_map *m, enum ef id_field,
                            struct ss_candidate *c, struct jx_fail *f)
{
    return get_text(o, m->f[id_field], 1, &c->vendor_key, f) ||
           get_text(o, m->f[EF_EMAIL], 0, &c->email, f) ||
           get_text(o, m->f[EF_FIRST_NAME], 0, &c->given_name, f) ||
           get_text(o, m->f[EF_LAST_NAME], 0, &c->family_name, f) ||
           get_text(o, m->f[EF_USERNAME], 0, &c->username, f);
}

static const int pt_used[] = {EF_ID,       EF_EMAIL,   EF_FIRST_NAME, EF_LAST_NAME,
                              EF_USERNAME, EF_UIC,     EF_HIDE,       EF_PT_TOKEN,
                              EF_PT_LEVEL, EF_PT_DATE, EF_PT_STATUS};
static const int ct_used[] = {EF_CT_TOKEN,     EF_CT_CANDIDATE, EF_EMAIL,   EF_FIRST_NAME,
                              EF_LAST_NAME,    EF_USERNAME,     EF_UIC,     EF_CT_LEVEL,
                              EF_CT_SCORE,     EF_CT_STATUS,    EF_CT_DATE, EF_CT_CORRECT,
                              EF_CT_INCORRECT, EF_CT_ANSWERED};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* The PT stored on a candidate record (v1.6.6), into r. Returns 0 with
 * *has = 0 when the candidate has not taken one. */
static int parse_pt(json_object *o, const struct et_map *m, const char *cand_id,
                    struct ss_result *r, int *has, struct jx_fail *f)
{
    char *token = NULL;
    *has = 0;
    if (get_text(o, m->f[EF_PT_TOKEN], 0, &token, f) ||
        get_text(o, m->f[EF_PT_LEVEL], 0, &r->cefr.label, f) ||
        get_time(o, m->f[EF_PT_DATE], m->offset_min, &r->completed_at, f) ||
        get_text(o, m->f[EF_PT_STATUS], 0, &r->status_label, f)) {
        free(token);
        return -1;
    }
    if (!token && !r->cefr.label && r->completed_at == TS_NULL && !r->status_label)
        return 0;
    *has = 1;
    /* Tokens are unique per test type (v1.6.7, ETAPI-124), hence the prefix;
     * without a token, a candidate has one PT (v1.6.0, ETAPI-111). */
    size_t n = strlen(token ? token : cand_id) + 16;
    r->vendor_key = malloc(n);
    if (r->vendor_key)
        snprintf(r->vendor_key, n, token ? "pt/%s" : "pt/candidate/%s", token ? token : cand_id);
    free(token);
    /* A stored level means the assessment was taken (v1.6.6, ETAPI-121). */
    if (!r->status_label && r->cefr.label)
        r->status_label = strdup("complete");
    r->assessment_type = strdup("PT");
    /* "Placement Test" is "Assessment Test" since v1.6.1 (ETAPI-116). */
    r->assessment_name = strdup("Assessment Test");
    return r->vendor_key ? 0 : fail(f, "", "out of memory");
}

static int parse_ct(json_object *o, const struct et_map *m, struct ss_result *r, struct jx_fail *f)
{
    char *token = NULL;
    if (get_text(o, m->f[EF_CT_TOKEN], 1, &token, f))
        return -1;
    size_t n = strlen(token) + 4;
    r->vendor_key = malloc(n);
    if (r->vendor_key)
        snprintf(r->vendor_key, n, "ct/%s", token);
    free(token);
    if (!r->vendor_key)
        return fail(f, "", "out of memory");
    int has_score;
    if (get_text(o, m->f[EF_CT_LEVEL], 0, &r->cefr.label, f) ||
        get_num(o, m->f[EF_CT_SCORE], &r->score, &has_score, f) ||
        get_text(o, m->f[EF_CT_STATUS], 0, &r->status_label, f) ||
        get_time(o, m->f[EF_CT_DATE], m->offset_min, &r->completed_at, f))
        return -1;
    r->has_score = has_score;
    r->assessment_type = strdup("CT");
    size_t an = (r->cefr.label ? strlen(r->cefr.label) : 0) + 32;
    if ((r->assessment_name = malloc(an)))
        snprintf(r->assessment_name, an, "Certification Test%s%s", r->cefr.label ? " " : "",
                 r->cefr.label ? r->cefr.label : "");
    /* Totals of correct, incorrect and answered items (v1.3.4, v1.5.3):
     * correct and incorrect out of the items answered. */
    static const struct {
        enum ef field;
        const char *name;
    } subs[] = {
        {EF_CT_CORRECT, "correct"}, {EF_CT_INCORRECT, "incorrect"}, {EF_CT_ANSWERED, "answered"}};
    double v[3];
    int has[3];
    for (size_t i = 0; i < 3; i++)
        if (get_num(o, m->f[subs[i].field], &v[i], &has[i], f))
            return -1;
    for (size_t i = 0; i < 3; i++) {
        if (!has[i])
            continue;
        struct ss_subscore *s = result_add_subscore(r);
        if (!s || !(s->name = strdup(subs[i].name)))
            return fail(f, "", "out of memory");
        s->value = v[i];
        s->max = i < 2 && has[2] ? v[2] : NAN;
    }
    return 0;
}

/* ---- element parsers ------------------------------------------------------ */

struct et_page {
    const struct et_map *map;
    const char *stream; /* "candidates", "pt", "ct" */
    long records;       /* list elements seen */
    long results;       /* results among them (the window pager's count) */
    double total;       /* the envelope's total, NAN if none */
    const char *total_member;
};

static void et_restart(void *arg)
{
    struct et_page *pg = arg;
    pg->records = pg->results = 0;
    pg->total = NAN;
}

/* One candidate of the list, with the PT stored on it. */
static int parse_candidate_elem(void *arg, const char *key, size_t index, const char *json,
                                size_t len, struct ss_batch *b, struct ss_err *err)
{
    struct et_page *pg = arg;
    const struct et_map *m = pg->map;
    (void)key;
    (void)index;
    pg->records++;
    json_object *o = NULL;
    struct ss_candidate *c = NULL;
    int rc = fetch_open_element(b, pg->stream, json, len, &o, &c, NULL, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    struct jx_fail f = {{0}, {0}};
    int has_pt = 0;
    if (!json_object_is_type(o, json_type_object) || candidate_fields(o, m, EF_ID, c, &f) != 0) {
        if (!f.reason[0])
            snprintf(f.reason, sizeof f.reason, "expected a candidate object");
        batch_drop_last_candidate(b);
        rc = fetch_quarantine_raw(b, pg->stream, json, len, f.field, f.reason, err);
        goto out;
    }
    /* uic and the hide flag stay in the record as received (no columns). */
    c->raw_json = jx_dump(o);
    struct ss_result *r = batch_add_result(b);
    if (!r) {
        rc = err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    if (parse_pt(o, m, c->vendor_key, r, &has_pt, &f) != 0) {
        char loc[300];
        snprintf(loc, sizeof loc, "pt/candidate/%s", c->vendor_key);
        batch_drop_last_result(b);
        rc = batch_add_quarantine(b, loc, f.field[0] ? f.field : NULL, f.reason, c->raw_json, err);
        goto out;
    }
    if (!has_pt) {
        batch_drop_last_result(b);
        goto out;
    }
    pg->results++;
    r->candidate_key = strdup(c->vendor_key);
    r->stream = strdup(pg->stream);
    r->raw_json = result_raw(o, m, pt_used, N_OF(pt_used));
out:
    json_object_put(o);
    return rc;
}

/* A CT's copy of its candidate: the person fields only, so every CT of one
 * candidate gives the same row (the CT's uic is where it was taken, v1.4.15,
 * and stays in the result's raw record). */
static char *person_raw(json_object *o, const struct et_map *m)
{
    static const enum ef person[] = {EF_CT_CANDIDATE, EF_EMAIL, EF_FIRST_NAME, EF_LAST_NAME,
                                     EF_USERNAME};
    json_object *p = json_object_new_object();
    for (size_t i = 0; p && i < sizeof person / sizeof person[0]; i++) {
        json_object *v = member(o, m->f[person[i]]);
        if (v)
            json_object_object_add(p, m->f[person[i]], json_object_get(v));
    }
    char *s = p ? jx_dump(p) : NULL;
    json_object_put(p);
    return s;
}

/* One CT result, with the candidate it belongs to. */
static int parse_ct_elem(void *arg, const char *key, size_t index, const char *json, size_t len,
                         struct ss_batch *b, struct ss_err *err)
{
    struct et_page *pg = arg;
    const struct et_map *m = pg->map;
    (void)key;
    (void)index;
    pg->records++;
    json_object *o = NULL;
    struct ss_candidate *c = NULL;
    struct ss_result *r = NULL;
    int rc = fetch_open_element(b, "ct", json, len, &o, &c, &r, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    struct jx_fail f = {{0}, {0}};
    if (!json_object_is_type(o, json_type_object) ||
        candidate_fields(o, m, EF_CT_CANDIDATE, c, &f) != 0 || parse_ct(o, m, r, &f) != 0) {
        if (!f.reason[0])
            snprintf(f.reason, sizeof f.reason, "expected a CT result object");
        /* Keyed by the result's own id when it has one, else by its bytes. */
        char *rkey = r->vendor_key ? strdup(r->vendor_key) : NULL;
        batch_drop_last_result(b);
        batch_drop_last_candidate(b);
        if (rkey) {
            rc = fetch_quarantine_text(b, rkey, json, len, f.field, f.reason, err);
        } else {
            rc = fetch_quarantine_raw(b, "ct", json, len, f.field, f.reason, err);
        }
        free(rkey);
        goto out;
    }
    pg->results++;
    r->candidate_key = strdup(c->vendor_key);
    r->stream = strdup("ct");
    /* A candidate's CTs share one row: keep the first copy in this batch. */
    for (size_t i = 0; i + 1 < b->n_cand; i++)
        if (strcmp(b->cand[i].vendor_key, c->vendor_key) == 0) {
            batch_drop_last_candidate(b);
            c = NULL;
            break;
        }
    if (c)
        c->raw_json = person_raw(o, m);
    r->raw_json = result_raw(o, m, ct_used, N_OF(ct_used));
out:
    json_object_put(o);
    return rc;
}

/* The envelope's record count ("total"), when it has one. */
static int et_member(void *arg, const char *key, const char *json, size_t len, struct page_res *res,
                     struct ss_err *err)
{
    struct et_page *pg = arg;
    (void)res;
    (void)err;
    if (!pg->total_member || strcmp(key, pg->total_member) != 0)
        return 0;
    char tmp[64];
    if (len == 0 || len >= sizeof tmp)
        return 0;
    memcpy(tmp, json, len);
    tmp[len] = '\0';
    char *s = tmp[0] == '"' ? tmp + 1 : tmp, *end;
    double v = strtod(s, &end);
    if (end != s && v >= 0)
        pg->total = v;
    return 0;
}

static void page_req(struct fetch_req *fr, struct et_page *pg, const char *container)
{
    memset(fr, 0, sizeof *fr);
    fr->method = "GET";
    fr->container = container && *container ? container : NULL;
    fr->container_kind = JSTREAM_ARRAY;
    fr->missing_ok = 1; /* an empty list may come without its member */
    fr->parse = strcmp(pg->stream, "ct") == 0 ? parse_ct_elem : parse_candidate_elem;
    fr->member = et_member;
    fr->restart = et_restart;
    fr->arg = pg;
}

int etest_parse(const char *stream, const struct cfg_account *acct, const char *body, size_t len,
                struct ss_batch *b, long *records, struct ss_err *err)
{
    struct et_map m;
    map_from_account(&m, acct);
    if (strcmp(stream, "candidates") != 0 && strcmp(stream, "pt") != 0 && strcmp(stream, "ct") != 0)
        return err_set(err, SS_EINVAL, "etest has no stream \"%s\"", stream);
    struct et_page pg = {.map = &m, .stream = stream, .total = NAN};
    const char *container = acct ? cfg_opt(acct, "records_member") : "data";
    pg.total_member = acct ? cfg_opt(acct, "total_member") : "total";
    struct fetch_req fr;
    long n = 0;
    page_req(&fr, &pg, container);
    int rc = vendor_parse_body(&fr, body, len, b, &n, err);
    *records = pg.records;
    return rc;
}

long etest_page_number(long offset, long limit, long first)
{
    return (limit > 0 ? offset / limit : 0) + first;
}

/* ---- requests ------------------------------------------------------------- */

/* Appends "&name=value" (the first without '&'), both percent-encoded. */
static int q_add(struct buf *q, const char *name, const char *value, struct ss_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!name || !*name)
        return 0;
    const char *parts[2] = {name, value ? value : ""};
    if (q->len && buf_append(q, "&", 1, err) != 0)
        return -1;
    for (int k = 0; k < 2; k++) {
        if (k && buf_append(q, "=", 1, err) != 0)
            return -1;
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                        (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
                        *p == '~';
            if (buf_append(q, plain ? (const char *)p : enc, plain ? 1 : 3, err) != 0)
                return -1;
        }
    }
    return 0;
}

static int q_addl(struct buf *q, const char *name, long v, struct ss_err *err)
{
    char s[32];
    snprintf(s, sizeof s, "%ld", v);
    return q_add(q, name, s, err);
}

/* What a stream's requests need, read once from the account's options. */
struct et_stream {
    struct et_map map;
    const char *stream, *path, *container, *total_member;
    const char *uic, *uic_param, *inherit_param, *hidden_param;
    const char *page_param, *limit_param, *offset_param;
    int by_offset; /* paging: offset */
    long first_page, limit;
    const char *from_param, *to_param;
    int dates_only; /* date_format: date */
};

static void stream_setup(struct et_stream *s, const struct vendor_ctx *ctx)
{
    const struct cfg_account *a = ctx->acct;
    memset(s, 0, sizeof *s);
    map_from_account(&s->map, a);
    s->stream = ctx->stream->name;
    int ct = strcmp(s->stream, "ct") == 0;
    s->path = cfg_opt(a, ct ? "ct_path" : "candidates_path");
    s->container = cfg_opt(a, "records_member");
    s->total_member = cfg_opt(a, "total_member");
    s->uic = cfg_opt(a, "uic");
    s->uic_param = cfg_opt(a, "uic_param");
    s->inherit_param = cfg_opt(a, "inherit_param");
    s->hidden_param = cfg_opt(a, "hidden_param");
    s->page_param = cfg_opt(a, "page_param");
    s->limit_param = cfg_opt(a, "limit_param");
    s->offset_param = cfg_opt(a, "offset_param");
    const char *paging = cfg_opt(a, "paging");
    s->by_offset = paging && strcmp(paging, "offset") == 0;
    s->first_page = cfg_opt_int(a, "first_page", 1);
    long max = cfg_opt_int(a, "max_page_size", 100);
    s->limit = a->page_size > 0 ? a->page_size : 100;
    if (max > 0 && s->limit > max)
        s->limit = max;
    s->from_param = cfg_opt(a, "pt_from_param");
    s->to_param = cfg_opt(a, "pt_to_param");
    const char *df = cfg_opt(a, "date_format");
    s->dates_only = !df || strcmp(df, "date") == 0;
}

/* A date filter value: "2021-09-29" or "2021-09-29T10:00:00.000000Z". */
static void filter_time(const struct et_stream *s, int64_t t, char *out, size_t n)
{
    if (s->dates_only) {
        struct ts_parts p;
        ts_split(t, &p);
        snprintf(out, n, "%04lld-%02d-%02d", (long long)p.year, p.month, p.day);
    } else {
        ts_format(t, out, n);
    }
}

/* Reads one page of the list: offset/limit as page numbers or offsets, and
 * the date filter when from/to are given (TS_NULL: none). */
static int read_page(struct et_stream *s, struct vendor_ctx *ctx, long offset, int64_t from,
                     int64_t to, struct page_out *out, struct page_res *res, long *results,
                     struct ss_err *err)
{
    struct buf q;
    buf_init(&q, 8192);
    char what[512], fs[40] = "", ts[40] = "";
    int rc = -1;
    if (s->uic && *s->uic && q_add(&q, s->uic_param, s->uic, err) != 0)
        goto out;
    if (s->inherit_param && *s->inherit_param && q_add(&q, s->inherit_param, "1", err) != 0)
        goto out;
    if (s->hidden_param && *s->hidden_param && q_add(&q, s->hidden_param, "1", err) != 0)
        goto out;
    if (from != TS_NULL) {
        filter_time(s, from, fs, sizeof fs);
        filter_time(s, to, ts, sizeof ts);
        if (q_add(&q, s->from_param, fs, err) != 0 || q_add(&q, s->to_param, ts, err) != 0)
            goto out;
    }
    long page = etest_page_number(offset, s->limit, s->first_page);
    if ((s->by_offset ? q_addl(&q, s->offset_param, offset, err)
                      : q_addl(&q, s->page_param, page, err)) != 0 ||
        q_addl(&q, s->limit_param, s->limit, err) != 0)
        goto out;
    snprintf(what, sizeof what, "GET %s %s %ld%s%s%s%s%s", s->path,
             s->by_offset ? "offset" : "page", s->by_offset ? offset : page,
             s->uic && *s->uic ? " uic " : "", s->uic && *s->uic ? s->uic : "", fs[0] ? " [" : "",
             fs, fs[0] ? " ..]" : "");
    struct et_page pg = {
        .map = &s->map, .stream = s->stream, .total = NAN, .total_member = s->total_member};
    struct fetch_req fr;
    page_req(&fr, &pg, s->container);
    fr.path = s->path;
    fr.query = q.data;
    fr.what = what;
    rc = vendor_fetch(ctx, &fr, out, res, err);
    res->records = pg.records;
    *results = pg.results;
    /* A short page, or the envelope's total reached, ends the list. */
    if (rc == 0 && (pg.records < s->limit || (!isnan(pg.total) && offset + pg.records >= pg.total)))
        res->last = 1;
out:
    buf_free(&q);
    return rc;
}

/* candidates and ct: the whole list, page by page (offset pager). */
static int list_page(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                     struct page_out *out, struct page_res *res, struct ss_err *err)
{
    long results;
    return read_page(arg, ctx, req->offset, TS_NULL, TS_NULL, out, res, &results, err);
}

/* pt: one date window, all its pages; the window is sized by PT results. */
static int window_page(void *arg, struct vendor_ctx *ctx, const struct page_req *req,
                       struct page_out *out, struct page_res *res, struct ss_err *err)
{
    struct et_stream *s = arg;
    long results = 0, offset = 0;
    for (;;) {
        struct page_res one;
        long n = 0;
        memset(&one, 0, sizeof one);
        if (read_page(s, ctx, offset, req->from, req->to, out, &one, &n, err) != 0) {
            res->too_big = one.too_big;
            return -1;
        }
        results += n;
        if (one.last || one.records == 0 || (ctx->stop && *ctx->stop))
            break;
        offset += one.records;
    }
    res->records = results;
    return 0;
}

static int et_extract(struct vendor_ctx *ctx, struct ss_err *err)
{
    struct et_stream s;
    stream_setup(&s, ctx);
    if (!s.path || !*s.path)
        return err_set(err, SS_ECONFIG, "etest/%s: no path for stream %s", ctx->acct->name,
                       s.stream);
    struct pager p;
    if (strcmp(s.stream, "pt") == 0) {
        if (!s.from_param || !*s.from_param || !s.to_param || !*s.to_param)
            return err_set(err, SS_ECONFIG,
                           "etest/%s: stream pt needs pt_from_param and pt_to_param",
                           ctx->acct->name);
        if (pager_window_init(&p, ctx, err) != 0)
            return -1;
        /* Date-only filters cannot tell parts of a day apart. */
        const int64_t day = 86400LL * 1000000LL;
        if (s.dates_only) {
            if (p.min_us < day)
                p.min_us = day;
            if (p.initial_us < day)
                p.initial_us = day;
            if (p.span < day)
                p.span = day;
            if (p.max_us < day)
                p.max_us = day;
        }
        return prefetch_run(ctx, &p, window_page, &s, err);
    }
    /* The lists have no "changed since" filter, and a move or a hide flag
     * changes no date: each sync reads the whole list from its first page. */
    pager_offset_init(&p, 0, s.limit, 0);
    return prefetch_run(ctx, &p, list_page, &s, err);
}

static int et_parse_body(const struct vendor_ops *v, const char *stream, const char *body,
                         size_t len, struct ss_batch *b, long *records, struct ss_err *err)
{
    (void)v;
    return etest_parse(stream, NULL, body, len, b, records, err);
}

static int et_reparse(const struct vendor_ops *v, const char *stream, const char *raw, size_t len,
                      struct ss_result *r, struct ss_err *err)
{
    (void)v;
    json_object *o = NULL;
    if (jx_parse(raw, len, &o, err) != 0)
        return -1;
    struct et_map m;
    map_from_raw(&m, o);
    struct jx_fail f = {{0}, {0}};
    int rc = 0, has = 0;
    if (!json_object_is_type(o, json_type_object)) {
        rc = fail(&f, "", "expected an object");
    } else if (strcmp(stream, "ct") == 0) {
        rc = parse_ct(o, &m, r, &f);
    } else {
        char *id = NULL;
        rc = get_text(o, m.f[EF_ID], 1, &id, &f);
        if (rc == 0 && (rc = parse_pt(o, &m, id, r, &has, &f)) == 0 && !has)
            rc = fail(&f, "", "no PT in the record");
        free(id);
    }
    json_object_put(o);
    if (rc != 0)
        return err_set(err, SS_EINVAL, "field %s: %s", f.field, f.reason);
    return 0;
}

/* ---- auth ----------------------------------------------------------------- */

static int et_auth_setup(const struct cfg_account *a, struct http_auth *out, struct ss_err *err)
{
    const char *in = cfg_opt(a, "auth_in");
    memset(out, 0, sizeof *out);
    out->value = a->api_key ? a->api_key : "";
    if (in && strcmp(in, "query") == 0) {
        out->place = HTTP_AUTH_QUERY;
        out->name = cfg_opt(a, "auth_param");
        if (!out->name || !*out->name)
            return err_set(err, SS_ECONFIG, "etest/%s: auth_in query needs auth_param", a->name);
        redact_add_param(out->name); /* the key travels in the URL */
        return 0;
    }
    const char *scheme = cfg_opt(a, "auth_scheme");
    out->place = HTTP_AUTH_HEADER;
    out->name = cfg_opt(a, "auth_header");
    if (!out->name || !*out->name)
        return err_set(err, SS_ECONFIG, "etest/%s: auth_header is empty", a->name);
    out->prefix = scheme && strcmp(scheme, "bearer") == 0 ? "Bearer " : NULL;
    return 0;
}

/* ---- vendor_ops ----------------------------------------------------------- */

static const struct vendor_stream et_streams[] = {
    {"candidates", 0, NULL, NULL},
    {"pt", 1, NULL, NULL},
    {"ct", 1, NULL, NULL},
    {NULL, 0, NULL, NULL},
};

static const char *const et_stream_names[] = {"candidates", "pt", "ct", NULL};
/* pt re-reads by date what candidates already lists whole: opt in. */
static const char *const et_default_streams[] = {"candidates", "ct", NULL};
static const char *const et_secrets[] = {"api_key", NULL};

#define FIELD_OPT(key, def, what)                                                                  \
    {                                                                                              \
        key, CFG_OPT_STRING, def, NULL, "response field name: " what                               \
    }

/* Every choice the changelog does not make (docs/vendors/etest.md cites the
 * line each default rests on). */
static const struct cfg_opt_def et_opts[] = {
    {"candidates_path", CFG_OPT_STRING, "/candidates", NULL,
     "path of GET candidates list under base_url (v1.3.3, v1.4.4, v1.4.21)"},
    {"ct_path", CFG_OPT_STRING, "/ct/results", NULL,
     "path of GET certification test results under base_url (v1.3.4, v1.5.3)"},
    {"records_member", CFG_OPT_STRING, "data", NULL,
     "member of the response object holding the list; empty: the response is the list"},
    {"total_member", CFG_OPT_STRING, "total", NULL,
     "member holding the number of records of the whole list, if the API sends it"},
    {"paging", CFG_OPT_ENUM, "page", "page|offset",
     "page: page numbers (page_param, from first_page); offset: offsets (offset_param)"},
    {"page_param", CFG_OPT_STRING, "page", NULL, "query parameter of the page number"},
    {"offset_param", CFG_OPT_STRING, "offset", NULL, "query parameter of the offset"},
    {"limit_param", CFG_OPT_STRING, "limit", NULL, "query parameter of the page size"},
    {"first_page", CFG_OPT_INT, "1", NULL, "number of the first page"},
    {"max_page_size", CFG_OPT_INT, "100", NULL,
     "largest page size the API accepts (v1.3.3 \"limit paginations\"); page_size is capped "
     "to it"},
    {"uic", CFG_OPT_STRING, NULL, NULL,
     "organisation code whose candidates and results are read, sub-organisations included; "
     "unset: no filter (all the key may see)"},
    {"uic_param", CFG_OPT_STRING, "uic", NULL, "query parameter of the organisation code"},
    {"inherit_param", CFG_OPT_STRING, NULL, NULL,
     "sent as NAME=1 if the API needs it to include sub-organisations; unset: not sent "
     "(v1.4.4: the search inherits)"},
    {"hidden_param", CFG_OPT_STRING, NULL, NULL,
     "sent as NAME=1 if the API leaves hidden candidates out unless asked; unset: not sent"},
    {"pt_from_param", CFG_OPT_STRING, "pt_date_from", NULL,
     "query parameter: PT taken on or after (v1.4.21), stream pt"},
    {"pt_to_param", CFG_OPT_STRING, "pt_date_to", NULL,
     "query parameter: PT taken on or before (v1.4.21), stream pt"},
    {"date_format", CFG_OPT_ENUM, "date", "date|datetime",
     "date filter values: date YYYY-MM-DD (both ends inclusive) or an RFC 3339 timestamp"},
    {"time_offset_min", CFG_OPT_INT, "0", NULL,
     "minutes east of UTC of response timestamps written without a zone"},
    {"auth_in", CFG_OPT_ENUM, "header", "header|query", "where the API key goes"},
    {"auth_header", CFG_OPT_STRING, "Authorization", NULL, "header carrying the API key"},
    {"auth_scheme", CFG_OPT_ENUM, "bearer", "bearer|key",
     "bearer: \"Bearer <key>\"; key: the key alone"},
    {"auth_param", CFG_OPT_STRING, "api_key", NULL,
     "query parameter carrying the API key when auth_in is query (masked in logs)"},
    FIELD_OPT("field_id", "id", "candidate id"),
    FIELD_OPT("field_email", "email", "candidate e-mail"),
    FIELD_OPT("field_first_name", "first_name", "candidate given name"),
    FIELD_OPT("field_last_name", "last_name", "candidate family name"),
    FIELD_OPT("field_username", "username", "candidate username (v1.4.4)"),
    FIELD_OPT("field_uic", "uic", "candidate organisation code (v1.5.5.1)"),
    FIELD_OPT("field_hide", "hide", "hide flag, \"0\" / \"1\" (v1.4.6, v1.4.7)"),
    FIELD_OPT("field_pt_token", "pt_token", "PT test token (v1.6.7)"),
    FIELD_OPT("field_pt_level", "pt_level", "PT level stored on the candidate (v1.6.6)"),
    FIELD_OPT("field_pt_date", "pt_date", "date the PT was taken (v1.4.21)"),
    FIELD_OPT("field_pt_status", "pt_status", "PT status, \"complete\" (v1.3.6)"),
    FIELD_OPT("field_ct_token", "token", "CT test token (v1.6.7)"),
    FIELD_OPT("field_ct_candidate_id", "candidate_id", "CT result's candidate id"),
    FIELD_OPT("field_ct_level", "level", "CT level, e.g. Pre A1, A1+ (v1.3.7, v1.3.9)"),
    FIELD_OPT("field_ct_score", "score", "CT score 0-100 (v1.5.4)"),
    FIELD_OPT("field_ct_status", "status", "CT status, pass / fail (v1.3.9, v1.4.1)"),
    FIELD_OPT("field_ct_date", "test_date", "date the CT was taken"),
    FIELD_OPT("field_total_correct", "total_correct", "CT total correct items (v1.3.4)"),
    FIELD_OPT("field_total_incorrect", "total_in_correct", "CT total incorrect items (v1.5.3)"),
    FIELD_OPT("field_total_answered", "total_answers", "CT total answered items (v1.3.4)"),
    {NULL, CFG_OPT_STRING, NULL, NULL, NULL},
};

/* `scoresync plan`: pt has date windows, but each is paged by offset. */
static void et_plan(const struct vendor_ops *v, const struct cfg_account *a, const char *stream,
                    struct vendor_plan *out)
{
    (void)v, (void)a;
    memset(out, 0, sizeof *out);
    if (strcmp(stream, "pt") == 0)
        out->why = "its date windows are each read in pages of page_size (and in whole days "
                   "with date_format: date), which plan does not simulate";
    else
        out->why = "it reads a page-numbered (or offset) list whole on every run: the list has "
                   "no date filter";
}

const struct vendor_ops etest_vendor = {
    .name = "etest",
    .title = "DynEd eTest API (neo), contract from its changelog",
    .streams = et_streams,
    .config =
        {
            .name = "etest",
            .base_url = NULL, /* not published: the customer's eTest URL */
            .streams = et_stream_names,
            .default_streams = et_default_streams,
            /* Not published either; the other vendors' documented limits. */
            .rate_limits = "5/1,2000/1200",
            .secrets = et_secrets,
            .opts = et_opts,
        },
    .statuses = NULL,
    .auth = VA_API_KEY,
    .auth_setup = et_auth_setup,
    .extract = et_extract,
    .parse_body = et_parse_body,
    .reparse = et_reparse,
    .plan = et_plan,
};
