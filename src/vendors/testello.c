/* Testello API v1 (seeds/004, base http://testello.com/api/v1). One stream,
 * `sessions`, read each sync in three steps:
 *   GET tests          the catalogue: assessments, and each test's
 *                      pass_percentage for the pass flag of its results;
 *   GET sessions       the *active* sessions (the only ones the API lists);
 *   GET sessions/:id   each active session with its taken tests, each loaded
 *                      as a result keyed by its id.
 * A session vanishes from the API when it expires. The stream's cursor is the
 * set of sessions seen with taken tests not done (kept small: nothing else
 * needs remembering, an active session is read again anyway). A followed
 * session that is no longer listed has expired: its unfinished taken tests
 * are stored with status `expired`, logged, and never asked for again.
 *
 * Every call carries signed_request = base64(signature) "." base64(payload),
 * computed per attempt; how exactly is an account option (the seed's
 * appendix is missing): see docs/vendors/testello.md.
 *
 * A taken test names no person, so each session is a candidate of its own
 * ("session:<id>"), with the name and e-mail of schema_params when the API
 * sends them (sql/006_testello.sql says why). */
#include "testello.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/buf.h"
#include "../core/jsonw.h"
#include "../core/timeparse.h"
#include "../http/sign.h"
#include "fetch.h"
#include "jsonx.h"
#include "jstream.h"

#define TL_PART_RECORDS 1000
#define TL_CAND_PREFIX  "session:"
/* pass_rule of a pass decided by the test's own pass_percentage. */
static const char tl_pass_rule[] = "testello: the test's pass_percentage (GET tests)";

/* ---- small helpers ------------------------------------------------------- */

static int all_digits(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

/* An id member: a JSON integer (as the seed sends) or a non-empty string,
 * as text. Absent/null -> "" unless required. */
static int id_text(json_object *o, const char *key, int required, char out[TL_ID_MAX],
                   struct jx_fail *f)
{
    json_object *v = NULL;
    out[0] = '\0';
    if (!json_object_object_get_ex(o, key, &v) || !v) {
        if (!required)
            return 0;
        snprintf(f->field, sizeof f->field, "%s", key);
        snprintf(f->reason, sizeof f->reason, "missing");
        return -1;
    }
    if (json_object_is_type(v, json_type_int)) {
        snprintf(out, TL_ID_MAX, "%lld", (long long)json_object_get_int64(v));
        return 0;
    }
    if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
        json_object_get_string_len(v) < TL_ID_MAX) {
        snprintf(out, TL_ID_MAX, "%s", json_object_get_string(v));
        return 0;
    }
    snprintf(f->field, sizeof f->field, "%s", key);
    snprintf(f->reason, sizeof f->reason, "expected an integer id");
    return -1;
}

/* Writes an id as the vendor does: a number when it is all digits. */
static void jw_id(struct jsonw *w, const char *key, const char *id)
{
    if (all_digits(id) && strlen(id) < 19)
        jw_krawf(w, key, "%s", id);
    else
        jw_kstr(w, key, id);
}

/* The same as a json-c value (owned by the caller). */
static json_object *id_json(const char *id)
{
    if (all_digits(id) && strlen(id) < 19)
        return json_object_new_int64(strtoll(id, NULL, 10));
    return json_object_new_string(id);
}

/* A number, or a string holding one ("78.0", "49"); 0 when neither. */
static int num_of(json_object *v, double *out)
{
    if (!v)
        return 0;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        *out = json_object_get_double(v);
        return isfinite(*out);
    }
    if (!json_object_is_type(v, json_type_string))
        return 0;
    const char *s = json_object_get_string(v);
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    char *end;
    double d = strtod(s, &end);
    while (isspace((unsigned char)*end))
        end++;
    if (*end || end == s || !isfinite(d))
        return 0;
    *out = d;
    return 1;
}

static const char *member_str(json_object *o, const char *key)
{
    json_object *v;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

/* The test's display name: English, else Arabic. */
static const char *test_name(json_object *test)
{
    json_object *name;
    if (!test || !json_object_object_get_ex(test, "name", &name) || !name)
        return NULL;
    if (json_object_is_type(name, json_type_string))
        return json_object_get_string(name);
    const char *en = member_str(name, "en");
    return en && *en ? en : member_str(name, "ar");
}

/* pass_percentage: an integer, or an empty value ("" or null) when the test
 * has none. */
static int test_pass(json_object *test, double *pass)
{
    json_object *v;
    return test && json_object_object_get_ex(test, "pass_percentage", &v) && num_of(v, pass);
}

/* ---- signing -------------------------------------------------------------- */

int testello_signing_of(const struct cfg_account *a, struct testello_signing *out,
                        struct ss_err *err)
{
    (void)err;
    memset(out, 0, sizeof *out);
    const char *over = cfg_opt(a, "sign_over");
    const char *dig = cfg_opt(a, "signature_digest");
    const char *alpha = cfg_opt(a, "base64_alphabet");
    out->over_json = over && strcmp(over, "payload_json") == 0;
    out->raw_digest = dig && strcmp(dig, "raw") == 0;
    out->b64_flags = alpha && strcmp(alpha, "std") == 0 ? SIGN_B64_STD : SIGN_B64_URL;
    if (!cfg_opt_bool(a, "base64_padding", 1))
        out->b64_flags |= SIGN_B64_NOPAD;
    return 0;
}

int testello_sign(const char *secret, const struct testello_signing *s, const char *payload_json,
                  struct buf *out, struct ss_err *err)
{
    struct buf p64, hex;
    buf_init(&p64, 0);
    buf_init(&hex, 0);
    unsigned char mac[SIGN_SHA256_LEN];
    int rc = -1;
    size_t start = out->len;
    if (!secret || !*secret) {
        err_set(err, SS_ECONFIG, "no signing secret");
        goto out;
    }
    if (sign_base64_encode(&p64, payload_json, strlen(payload_json), s->b64_flags, err) != 0)
        goto out;
    const char *msg = s->over_json ? payload_json : p64.data;
    size_t mlen = s->over_json ? strlen(payload_json) : p64.len;
    if (sign_hmac_sha256(secret, strlen(secret), msg, mlen, mac, err) != 0)
        goto out;
    if (s->raw_digest) {
        if (sign_base64_encode(out, mac, sizeof mac, s->b64_flags, err) != 0)
            goto out;
    } else if (sign_hex(&hex, mac, sizeof mac, err) != 0 ||
               sign_base64_encode(out, hex.data, hex.len, s->b64_flags, err) != 0) {
        goto out;
    }
    if (buf_append(out, ".", 1, err) != 0 || buf_append(out, p64.data, p64.len, err) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0 && out->len > start) {
        memset(out->data + start, 0, out->len - start);
        out->len = start;
        out->data[start] = '\0';
    }
    memset(mac, 0, sizeof mac);
    buf_free(&p64);
    buf_free(&hex);
    return rc;
}

int testello_payload(const struct cfg_account *a, const char *session_id, struct buf *out,
                     struct ss_err *err)
{
    const char *cid = cfg_opt(a, "company_id");
    if (!cid || !*cid)
        return err_set(err, SS_ECONFIG,
                       "%s/%s: company_id is not set (the id Testello gave with the secret)",
                       a->vendor, a->name);
    struct jsonw w;
    jw_init(&w, out);
    jw_open(&w, '{');
    jw_id(&w, "company_id", cid);
    if (session_id)
        jw_id(&w, "id", session_id);
    jw_close(&w, '}');
    if (w.failed)
        return err_set(err, SS_ENOMEM, "out of memory");
    return 0;
}

int testello_decode(const char *sr, struct buf *sig, struct buf *payload, struct ss_err *err)
{
    const char *dot = sr ? strchr(sr, '.') : NULL;
    if (!dot)
        return err_set(err, SS_EINVAL, "signed_request has no '.' between signature and payload");
    if (sign_base64_decode(sig, sr, (size_t)(dot - sr), err) != 0) {
        err_prefix(err, "signature");
        return -1;
    }
    if (sign_base64_decode(payload, dot + 1, strlen(dot + 1), err) != 0) {
        err_prefix(err, "payload");
        return -1;
    }
    return 0;
}

/* One request's credential (http_auth.sign, per attempt). */
struct tl_signer {
    const struct cfg_account *a;
    const struct testello_signing *sg;
    const char *payload;
};

static int tl_sign_cb(void *arg, int64_t now_wall_us, struct buf *out, struct ss_err *err)
{
    const struct tl_signer *s = arg;
    (void)now_wall_us; /* the seed's payload holds no time */
    return testello_sign(s->a->secret, s->sg, s->payload, out, err);
}

/* vendor_ops.sign: the payload every action takes, {"company_id": N}. */
static int tl_vendor_sign(void *acct, int64_t now_wall_us, struct buf *out, struct ss_err *err)
{
    const struct cfg_account *a = acct;
    struct testello_signing sg;
    struct buf p;
    buf_init(&p, 0);
    int rc = -1;
    if (testello_signing_of(a, &sg, err) == 0 && testello_payload(a, NULL, &p, err) == 0) {
        struct tl_signer s = {a, &sg, p.data};
        rc = tl_sign_cb(&s, now_wall_us, out, err);
    }
    buf_free(&p);
    return rc;
}

static int tl_auth_setup(const struct cfg_account *a, struct http_auth *out, struct ss_err *err)
{
    if (!cfg_opt(a, "company_id") || !*cfg_opt(a, "company_id"))
        return err_set(err, SS_ECONFIG,
                       "%s/%s: company_id is not set (the id Testello gave with the secret)",
                       a->vendor, a->name);
    if (!a->secret || !*a->secret)
        return err_set(err, SS_ECONFIG, "%s/%s: no signing secret", a->vendor, a->name);
    /* Every call this file makes is a GET: a query parameter (a POST would
     * carry it as a form field, HTTP_AUTH_FORM). */
    out->place = HTTP_AUTH_QUERY;
    out->name = "signed_request";
    return 0;
}

/* ---- the follow-set cursor ------------------------------------------------ */

void tl_follows_free(struct tl_follows *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        free(fs->f[i].p);
    free(fs->f);
    memset(fs, 0, sizeof *fs);
}

static struct tl_follow *follow_add(struct tl_follows *fs, const char *id, const char *expires)
{
    if (arr_grow((void **)&fs->f, fs->n, &fs->cap, sizeof *fs->f) != 0)
        return NULL;
    struct tl_follow *f = &fs->f[fs->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->id, sizeof f->id, "%s", id);
    snprintf(f->expires_at, sizeof f->expires_at, "%s", expires ? expires : "");
    return f;
}

static int pending_add(struct tl_follow *f, const char *id, const char *test_id)
{
    struct tl_pending *p = realloc(f->p, (f->n + 1) * sizeof *p);
    if (!p)
        return -1;
    f->p = p;
    snprintf(p[f->n].id, sizeof p[f->n].id, "%s", id);
    snprintf(p[f->n].test_id, sizeof p[f->n].test_id, "%s", test_id ? test_id : "");
    f->n++;
    return 0;
}

/* {"follow":[{"session":"9236","expires_at":"...","not_done":[["3189","14"]]}]} */
int tl_follows_format(const struct tl_follows *fs, struct buf *out, struct ss_err *err)
{
    struct jsonw w;
    jw_init(&w, out);
    jw_open(&w, '{');
    jw_key(&w, "follow");
    jw_open(&w, '[');
    for (size_t i = 0; i < fs->n; i++) {
        const struct tl_follow *f = &fs->f[i];
        if (f->n == 0)
            continue;
        jw_open(&w, '{');
        jw_kstr(&w, "session", f->id);
        jw_kstr(&w, "expires_at", f->expires_at);
        jw_key(&w, "not_done");
        jw_open(&w, '[');
        for (size_t j = 0; j < f->n; j++) {
            jw_open(&w, '[');
            jw_str(&w, f->p[j].id);
            jw_str(&w, f->p[j].test_id);
            jw_close(&w, ']');
        }
        jw_close(&w, ']');
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    return w.failed ? err_set(err, SS_ENOMEM, "out of memory") : 0;
}

int tl_follows_parse(const char *cursor, struct tl_follows *out, struct ss_err *err)
{
    memset(out, 0, sizeof *out);
    if (!cursor || !*cursor)
        return 0;
    json_object *o = NULL, *arr;
    if (jx_parse(cursor, strlen(cursor), &o, err) != 0)
        return -1;
    int rc = -1;
    if (!json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, "follow", &arr) ||
        !json_object_is_type(arr, json_type_array)) {
        err_set(err, SS_EINVAL, "expected {\"follow\": [...]}");
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *e = json_object_array_get_idx(arr, i), *nd;
        const char *id = member_str(e, "session");
        if (!id || !*id || strlen(id) >= TL_ID_MAX ||
            !json_object_object_get_ex(e, "not_done", &nd) ||
            !json_object_is_type(nd, json_type_array)) {
            err_set(err, SS_EINVAL, "follow[%zu]: expected session and not_done", i);
            goto out;
        }
        struct tl_follow *f = follow_add(out, id, member_str(e, "expires_at"));
        if (!f) {
            err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t j = 0; j < json_object_array_length(nd); j++) {
            json_object *p = json_object_array_get_idx(nd, j);
            json_object *pid = json_object_array_get_idx(p, 0);
            json_object *tid = json_object_array_get_idx(p, 1);
            if (!json_object_is_type(p, json_type_array) ||
                !json_object_is_type(pid, json_type_string) ||
                json_object_get_string_len(pid) >= TL_ID_MAX) {
                err_set(err, SS_EINVAL, "follow[%zu].not_done[%zu]: expected [id, test_id]", i, j);
                goto out;
            }
            const char *t =
                json_object_is_type(tid, json_type_string) ? json_object_get_string(tid) : "";
            if (pending_add(f, json_object_get_string(pid), t) != 0) {
                err_set(err, SS_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
    rc = 0;
out:
    json_object_put(o);
    if (rc != 0)
        tl_follows_free(out);
    return rc;
}

/* ---- one taken test -> one result ---------------------------------------- */

/* Fills r from a stored record: {"session_id", "session_expires_at",
 * "session_expired"?, "test"? (the catalogue entry), "taken_test"} — the
 * vendor's taken test with what it needs from around it, so renormalize gets
 * the same result (pass flag included) without calling the vendor. */
static int result_fill(json_object *rec, struct ss_result *r, struct jx_fail *f)
{
    json_object *t = NULL, *test = NULL, *v;
    char id[TL_ID_MAX], test_id[TL_ID_MAX];
    if (!json_object_is_type(rec, json_type_object) ||
        jx_typed(rec, "taken_test", json_type_object, &t, f) ||
        jx_typed(rec, "test", json_type_object, &test, f))
        return -1;
    if (!t) {
        snprintf(f->field, sizeof f->field, "taken_test");
        snprintf(f->reason, sizeof f->reason, "missing");
        return -1;
    }
    if (id_text(t, "id", 1, id, f) || id_text(t, "test_id", 0, test_id, f) ||
        jx_time(rec, "session_expires_at", 0, &r->expires_at, f))
        return -1;
    int done;
    if (!json_object_object_get_ex(t, "done", &v) || !json_object_is_type(v, json_type_boolean)) {
        snprintf(f->field, sizeof f->field, "done");
        snprintf(f->reason, sizeof f->reason, "expected a boolean");
        return -1;
    }
    done = json_object_get_boolean(v);
    int expired = json_object_object_get_ex(rec, "session_expired", &v) &&
                  json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);

    r->vendor_key = strdup(id);
    r->status_label = strdup(expired ? "expired" : done ? "true" : "false");
    if (test_id[0])
        r->assessment_type = strdup(test_id);
    r->assessment_name = ss_strdup(test_name(test));

    /* score: "78.0" a percentage, "ESTJ" a category, "" while not done. */
    json_object *sv = NULL;
    json_object_object_get_ex(t, "score", &sv);
    if (sv && !json_object_is_type(sv, json_type_null)) {
        double d;
        if (num_of(sv, &d)) {
            r->has_score = 1;
            r->score = d;
        } else if (json_object_is_type(sv, json_type_string)) {
            const char *s = json_object_get_string(sv);
            while (isspace((unsigned char)*s))
                s++;
            if (*s)
                r->score_label = strdup(s);
        } else {
            snprintf(f->field, sizeof f->field, "score");
            snprintf(f->reason, sizeof f->reason, "expected a string");
            return -1;
        }
    }
    double pass;
    if (done && !expired && r->has_score && test_pass(test, &pass)) {
        r->passed = r->score >= pass;
        r->pass_rule = tl_pass_rule;
    }
    r->raw_json = jx_dump(rec);
    return 0;
}

/* ---- what one response's parser shares ------------------------------------ */

struct tl_test {
    char id[TL_ID_MAX];
    json_object *obj; /* the catalogue entry (owned) */
};

struct tl_active {
    char id[TL_ID_MAX];
    char expires_at[48];
    int read; /* its GET sessions/:id was read this run */
    int kept; /* read, but quarantined: what was followed stays followed */
};

struct tl_run {
    struct vendor_ctx *ctx;
    struct testello_signing sg;
    struct tl_test *tests;
    size_t n_tests, cap_tests;
    struct tl_active *act;
    size_t n_act, cap_act;
    struct tl_follows old, next;
    struct ss_batch *b;
};

struct tl_page {
    struct tl_run *run; /* NULL in parse_body: no catalogue, no follow set */
    char errors[600];   /* the vendor's "errors" messages, "; "-joined */
    int has_errors;
    long records;
    long sessions; /* show: sessions parsed */
    long elements; /* show: elements of data[], quarantined ones too */
};

static json_object *catalogue_find(const struct tl_run *run, const char *test_id)
{
    for (size_t i = 0; run && test_id[0] && i < run->n_tests; i++)
        if (strcmp(run->tests[i].id, test_id) == 0)
            return run->tests[i].obj;
    return NULL;
}

static void tl_restart(void *arg)
{
    struct tl_page *pg = arg;
    pg->errors[0] = '\0';
    pg->has_errors = 0;
    pg->records = 0;
    pg->sessions = 0;
    pg->elements = 0;
}

/* The root's "errors": [..] (a failure whatever the status). */
static int tl_member(void *arg, const char *key, const char *json, size_t len, struct page_res *res,
                     struct ss_err *err)
{
    struct tl_page *pg = arg;
    (void)res;
    (void)err;
    if (strcmp(key, "errors") != 0)
        return 0;
    json_object *o = NULL;
    struct ss_err perr = {0};
    pg->has_errors = 1;
    if (jx_parse(json, len, &o, &perr) != 0) {
        snprintf(pg->errors, sizeof pg->errors, "%.*s", (int)(len < 300 ? len : 300), json);
        return 0;
    }
    size_t used = strlen(pg->errors);
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            json_object *m = json_object_array_get_idx(o, i);
            const char *s = json_object_is_type(m, json_type_string)
                                ? json_object_get_string(m)
                                : json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
            if (used < sizeof pg->errors - 1) {
                int w = snprintf(pg->errors + used, sizeof pg->errors - used, "%s%s",
                                 used ? "; " : "", s);
                used += w > 0 ? (size_t)w : 0;
            }
        }
    } else {
        snprintf(pg->errors, sizeof pg->errors, "%s",
                 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    }
    json_object_put(o);
    return 0;
}

/* Opens one record of a list whose records are keyed by "id": *o and id are
 * set and 0 returned when it is usable. A record that is not JSON, not an
 * object or has no id is quarantined (1 returned, *o NULL); -1 when even
 * that failed. */
static int open_listed(const char *list, const char *what, size_t index, const char *json,
                       size_t len, struct ss_batch *b, json_object **o, char id[TL_ID_MAX],
                       struct ss_err *err)
{
    struct ss_err perr = {0};
    *o = NULL;
    if (jx_parse(json, len, o, &perr) != 0)
        return fetch_quarantine_raw(b, list, json, len, NULL, perr.msg, err) != 0 ? -1 : 1;
    struct jx_fail f = {{0}, {0}};
    if (json_object_is_type(*o, json_type_object) && id_text(*o, "id", 1, id, &f) == 0)
        return 0;
    char loc[200], why[64];
    snprintf(loc, sizeof loc, "%s[%zu]", list, index);
    snprintf(why, sizeof why, "expected a %s object", what);
    int rc = fetch_quarantine_text(b, loc, json, len, f.field[0] ? f.field : NULL,
                                   f.reason[0] ? f.reason : why, err);
    json_object_put(*o);
    *o = NULL;
    return rc != 0 ? -1 : 1;
}

/* One test of GET tests. */
static int parse_test_elem(void *arg, const char *key, size_t index, const char *json, size_t len,
                           struct ss_batch *b, struct ss_err *err)
{
    struct tl_page *pg = arg;
    (void)key;
    pg->records++;
    json_object *o;
    char id[TL_ID_MAX];
    int opened = open_listed("tests", "test", index, json, len, b, &o, id, err);
    if (opened != 0)
        return opened < 0 ? -1 : 0;
    int rc = 0;
    struct ss_assessment *a = batch_add_assessment(b);
    if (!a) {
        rc = err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    char fallback[64];
    snprintf(fallback, sizeof fallback, "test %s", id);
    const char *name = test_name(o);
    /* Keyed by name, as the loader keys the tests it finds in results
     * (assessment_name), so a test is one row; the id is its type, as in
     * results.assessment_type. */
    a->name = strdup(name && *name ? name : fallback);
    a->vendor_key = strdup(a->name ? a->name : fallback);
    a->assessment_type = strdup(id);
    a->raw_json = jx_dump(o); /* Arabic name, duration, languages, pass_percentage */
    struct tl_run *run = pg->run;
    if (run) {
        if (arr_grow((void **)&run->tests, run->n_tests, &run->cap_tests, sizeof *run->tests) !=
            0) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        struct tl_test *t = &run->tests[run->n_tests++];
        snprintf(t->id, sizeof t->id, "%s", id);
        t->obj = json_object_get(o);
    }
out:
    json_object_put(o);
    return rc;
}

/* One active session of GET sessions (read for its id and expiry only). */
static int parse_list_elem(void *arg, const char *key, size_t index, const char *json, size_t len,
                           struct ss_batch *b, struct ss_err *err)
{
    struct tl_page *pg = arg;
    (void)key;
    pg->records++;
    json_object *o;
    char id[TL_ID_MAX];
    int opened = open_listed("sessions", "session", index, json, len, b, &o, id, err);
    if (opened != 0)
        return opened < 0 ? -1 : 0;
    int rc = 0;
    struct tl_run *run = pg->run;
    if (arr_grow((void **)&run->act, run->n_act, &run->cap_act, sizeof *run->act) != 0) {
        rc = err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    struct tl_active *a = &run->act[run->n_act++];
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%s", id);
    const char *exp = member_str(o, "expires_at");
    snprintf(a->expires_at, sizeof a->expires_at, "%s", exp ? exp : "");
out:
    json_object_put(o);
    return rc;
}

/* The session as its candidate: no person is named, so the session stands
 * for whoever took its tests; schema_params carry a name when sent. */
static int session_candidate(json_object *s, const char *id, struct ss_candidate *c)
{
    char key[TL_ID_MAX + 16];
    snprintf(key, sizeof key, TL_CAND_PREFIX "%s", id);
    c->vendor_key = strdup(key);
    json_object *sp = NULL;
    if (json_object_object_get_ex(s, "schema_params", &sp) &&
        json_object_is_type(sp, json_type_object)) {
        c->given_name = ss_strdup(member_str(sp, "first_name"));
        c->family_name = ss_strdup(member_str(sp, "last_name"));
        c->email = ss_strdup(member_str(sp, "email"));
        if (!c->given_name && !c->family_name)
            c->given_name = ss_strdup(member_str(sp, "name"));
    }
    /* raw: the session without its taken tests (they are the results). */
    json_object *tt = NULL;
    if (json_object_object_get_ex(s, "taken_tests", &tt) && tt) {
        json_object_get(tt);
        json_object_object_del(s, "taken_tests");
    }
    c->raw_json = jx_dump(s);
    if (tt)
        json_object_object_add(s, "taken_tests", tt);
    return c->vendor_key && c->raw_json ? 0 : -1;
}

/* The record stored for one taken test: see result_fill(). */
static json_object *result_record(json_object *session_id, const char *expires_at,
                                  json_object *test, json_object *taken, int expired)
{
    json_object *rec = json_object_new_object();
    if (!rec)
        return NULL;
    json_object_object_add(rec, "session_id", json_object_get(session_id));
    if (expires_at && *expires_at)
        json_object_object_add(rec, "session_expires_at", json_object_new_string(expires_at));
    if (expired)
        json_object_object_add(rec, "session_expired", json_object_new_boolean(1));
    if (test)
        json_object_object_add(rec, "test", json_object_get(test));
    json_object_object_add(rec, "taken_test", json_object_get(taken));
    return rec;
}

/* One session of GET sessions/:id ({"data": [session]}): its candidate and
 * a result per taken test; those not done go to the run's follow set. */
static int parse_show_elem(void *arg, const char *key, size_t index, const char *json, size_t len,
                           struct ss_batch *b, struct ss_err *err)
{
    struct tl_page *pg = arg;
    struct tl_run *run = pg->run;
    (void)key;
    pg->elements++;
    json_object *s = NULL;
    struct ss_err perr = {0};
    char loc[200];
    if (jx_parse(json, len, &s, &perr) != 0) {
        return fetch_quarantine_raw(b, "sessions", json, len, NULL, perr.msg, err);
    }
    struct jx_fail f = {{0}, {0}};
    char id[TL_ID_MAX];
    json_object *tts = NULL, *sid = NULL;
    int64_t expires = TS_NULL;
    int rc = 0;
    if (!json_object_is_type(s, json_type_object) || id_text(s, "id", 1, id, &f) != 0 ||
        jx_time(s, "expires_at", 0, &expires, &f) != 0 ||
        jx_typed(s, "taken_tests", json_type_array, &tts, &f) != 0) {
        if (id_text(s, "id", 0, id, &(struct jx_fail){{0}, {0}}) == 0 && id[0])
            snprintf(loc, sizeof loc, TL_CAND_PREFIX "%s", id);
        else
            snprintf(loc, sizeof loc, "data[%zu]", index);
        rc = fetch_quarantine_text(b, loc, json, len, f.field[0] ? f.field : NULL,
                                   f.reason[0] ? f.reason : "expected a session object", err);
        goto out;
    }
    pg->sessions++;
    json_object_object_get_ex(s, "id", &sid);
    const char *exp_text = member_str(s, "expires_at");
    struct ss_candidate *c = batch_add_candidate(b);
    if (!c || session_candidate(s, id, c) != 0) {
        rc = err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    struct tl_follow *fw = NULL;
    size_t nt = tts ? json_object_array_length(tts) : 0;
    for (size_t j = 0; j < nt; j++) {
        json_object *t = json_object_array_get_idx(tts, j);
        pg->records++;
        char tid[TL_ID_MAX] = "", test_id[TL_ID_MAX] = "";
        struct jx_fail tf = {{0}, {0}};
        if (json_object_is_type(t, json_type_object))
            (void)(id_text(t, "id", 0, tid, &tf) || id_text(t, "test_id", 0, test_id, &tf));
        memset(&tf, 0, sizeof tf);
        json_object *rec = result_record(sid, exp_text, catalogue_find(run, test_id), t, 0);
        struct ss_result *r = rec ? batch_add_result(b) : NULL;
        if (!r) {
            json_object_put(rec);
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        if (!json_object_is_type(t, json_type_object) || result_fill(rec, r, &tf) != 0) {
            if (!tf.reason[0])
                snprintf(tf.reason, sizeof tf.reason, "expected a taken test object");
            batch_drop_last_result(b);
            char rkey[200];
            if (tid[0])
                snprintf(rkey, sizeof rkey, "%s", tid);
            else
                snprintf(rkey, sizeof rkey, TL_CAND_PREFIX "%s/taken_tests[%zu]", id, j);
            const char *text = json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN);
            rc = batch_add_quarantine(b, rkey, tf.field[0] ? tf.field : NULL, tf.reason, text, err);
            json_object_put(rec);
            if (rc != 0)
                goto out;
            continue;
        }
        json_object_put(rec);
        r->candidate_key = strdup(c->vendor_key);
        r->stream = strdup("sessions");
        if (!r->candidate_key || !r->stream) {
            rc = err_set(err, SS_ENOMEM, "out of memory");
            goto out;
        }
        /* Not done yet: followed until done, or reported when the session
         * expires first. */
        if (run && strcmp(r->status_label, "false") == 0) {
            if (!fw && !(fw = follow_add(&run->next, id, exp_text))) {
                rc = err_set(err, SS_ENOMEM, "out of memory");
                goto out;
            }
            if (pending_add(fw, r->vendor_key, r->assessment_type) != 0) {
                rc = err_set(err, SS_ENOMEM, "out of memory");
                goto out;
            }
        }
    }
out:
    json_object_put(s);
    return rc;
}

static void req_of(struct fetch_req *fr, fetch_parse_fn parse, struct tl_page *pg)
{
    memset(fr, 0, sizeof *fr);
    fr->method = "GET";
    fr->container = "data";
    fr->container_kind = JSTREAM_ARRAY;
    fr->missing_ok = 1; /* {"errors": [...]} has no data; {} is "no content" */
    fr->parse = parse;
    fr->member = tl_member;
    fr->restart = tl_restart;
    fr->arg = pg;
}

/* A whole body outside extract (fixtures, unit tests). */
static int parse_whole(fetch_parse_fn parse, struct tl_page *pg, const char *body, size_t len,
                       struct ss_batch *b, long *records, struct ss_err *err)
{
    struct fetch_req fr;
    long n;
    req_of(&fr, parse, pg);
    if (vendor_parse_body(&fr, body, len, b, &n, err) != 0)
        return -1;
    *records = pg->records;
    if (pg->has_errors)
        return err_set(err, SS_EHTTP, "Testello answered with errors: %s", pg->errors);
    return 0;
}

int testello_parse_tests(const char *body, size_t len, struct ss_batch *b, long *records,
                         struct ss_err *err)
{
    struct tl_page pg;
    memset(&pg, 0, sizeof pg);
    return parse_whole(parse_test_elem, &pg, body, len, b, records, err);
}

/* ---- requests --------------------------------------------------------------- */

/* Whether the vendor's messages say the credentials were refused: the
 * comma-separated, case-insensitive substrings of auth_error_match. */
static int auth_refusal(const struct cfg_account *a, const char *msgs)
{
    const char *m = cfg_opt(a, "auth_error_match");
    char word[128];
    while (m && *m) {
        size_t n = strcspn(m, ",");
        size_t k = n < sizeof word - 1 ? n : sizeof word - 1;
        memcpy(word, m, k);
        word[k] = '\0';
        char *w = word;
        while (*w == ' ')
            w++;
        for (size_t e = strlen(w); e > 0 && w[e - 1] == ' '; e--)
            w[e - 1] = '\0';
        if (*w && msgs) {
            for (const char *p = msgs; *p; p++)
                if (strncasecmp(p, w, strlen(w)) == 0)
                    return 1;
        }
        m += n;
        if (*m == ',')
            m++;
    }
    return 0;
}

static void refused(const struct cfg_account *a, const char *what, long status, const char *msgs,
                    struct ss_err *err)
{
    char st[32] = "";
    if (status)
        snprintf(st, sizeof st, "HTTP %ld: ", status);
    err_set(err, SS_EAUTH,
            "%s: %sTestello refused the signed request of company_id %s (%s); check %s, "
            "company_id and the signing options (sign_over, signature_digest, base64_alphabet, "
            "base64_padding)",
            what, st, cfg_opt(a, "company_id") ? cfg_opt(a, "company_id") : "?",
            msgs && *msgs ? msgs : "no message",
            a->secret_source ? a->secret_source : "the account's secret");
}

/* After a failed fetch: the vendor's messages out of "<what>: HTTP <n>:
 * <body>", a refusal of the signature as SS_EAUTH. *gone: the vendor
 * answered 404 or with errors that are not about the credentials. */
static void classify(const struct cfg_account *a, const char *what, struct ss_err *err, int *gone)
{
    size_t wl = strlen(what);
    long status = 0;
    const char *p = err->msg;
    if (err->code != SS_EHTTP || strncmp(p, what, wl) != 0 || strncmp(p + wl, ": HTTP ", 7) != 0)
        return;
    status = strtol(p + wl + 7, NULL, 10);
    const char *body = strstr(p + wl + 7, ": ");
    body = body ? body + 2 : "";
    char msgs[600];
    snprintf(msgs, sizeof msgs, "%s", body);
    json_object *o = NULL, *errs;
    struct ss_err perr = {0};
    int has_errors = 0;
    if (jx_parse(body, strlen(body), &o, &perr) == 0 && json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, "errors", &errs)) {
        struct tl_page pg;
        memset(&pg, 0, sizeof pg);
        const char *text = json_object_to_json_string_ext(errs, JSON_C_TO_STRING_PLAIN);
        (void)tl_member(&pg, "errors", text, strlen(text), NULL, &perr);
        snprintf(msgs, sizeof msgs, "%s", pg.errors);
        has_errors = 1;
    }
    json_object_put(o);
    if (status == 401 || status == 403 || (has_errors && auth_refusal(a, msgs))) {
        refused(a, what, status, msgs, err);
        return;
    }
    if (status == 404 || has_errors) {
        *gone = 1;
        err_set(err, SS_EHTTP, "%s: HTTP %ld: %s", what, status, msgs);
    }
}

static int tl_flush(void *arg, struct ss_batch **b, struct ss_err *err)
{
    struct tl_run *run = arg;
    return run->ctx->emit(run->ctx->sink, *b, NULL, err);
}

/* GET path with its own signed payload. 0, or -1 with err (SS_EAUTH for a
 * refused signature); *gone as classify(). */
static int tl_get(struct tl_run *run, const char *path, const char *session_id, const char *what,
                  fetch_parse_fn parse, struct tl_page *pg, int *gone, struct ss_err *err)
{
    struct vendor_ctx *ctx = run->ctx;
    const struct cfg_account *a = ctx->acct;
    struct buf payload;
    buf_init(&payload, 0);
    *gone = 0;
    int with_id = session_id && cfg_opt_bool(a, "show_payload_id", 1);
    if (testello_payload(a, with_id ? session_id : NULL, &payload, err) != 0) {
        buf_free(&payload);
        return -1;
    }
    struct tl_signer sg = {a, &run->sg, payload.data};
    struct http_auth auth = *ctx->auth;
    auth.sign = tl_sign_cb;
    auth.sign_arg = &sg;
    struct vendor_ctx c2 = *ctx;
    c2.auth = &auth;
    struct fetch_req fr;
    req_of(&fr, parse, pg);
    fr.path = path;
    fr.what = what;
    struct page_out out = {run->b, ctx->part_records ? ctx->part_records : TL_PART_RECORDS,
                           tl_flush, run, NULL};
    struct page_res res;
    memset(&res, 0, sizeof res);
    int rc = vendor_fetch(&c2, &fr, &out, &res, err);
    run->b = out.b;
    ctx->pages++;
    if (rc != 0) {
        classify(a, what, err, gone);
    } else if (pg->has_errors) {
        rc = -1;
        if (auth_refusal(a, pg->errors)) {
            refused(a, what, 0, pg->errors, err);
        } else {
            *gone = 1;
            err_set(err, SS_EHTTP, "%s: Testello answered with errors: %s", what, pg->errors);
        }
    }
    buf_free(&payload);
    return rc;
}

/* ---- extract -------------------------------------------------------------- */

static const struct tl_active *active_find(const struct tl_run *run, const char *id)
{
    for (size_t i = 0; i < run->n_act; i++)
        if (strcmp(run->act[i].id, id) == 0)
            return &run->act[i];
    return NULL;
}

/* A followed session the API no longer lists: its unfinished taken tests
 * can never be read again. Stored as `expired` (status shows them). */
static int report_expired(struct tl_run *run, const struct tl_follow *f, struct ss_err *err)
{
    struct vendor_ctx *ctx = run->ctx;
    char ids[200] = "";
    size_t used = 0;
    for (size_t j = 0; j < f->n; j++) {
        const struct tl_pending *p = &f->p[j];
        if (used < sizeof ids - 1) {
            int w = snprintf(ids + used, sizeof ids - used, "%s%s", j ? ", " : "", p->id);
            used += w > 0 ? (size_t)w : 0;
        }
        /* The taken test as last seen (not done, no score), rebuilt. */
        json_object *sid = id_json(f->id), *taken = json_object_new_object();
        if (taken) {
            json_object_object_add(taken, "id", id_json(p->id));
            json_object_object_add(taken, "score", json_object_new_string(""));
            json_object_object_add(taken, "done", json_object_new_boolean(0));
            if (p->test_id[0])
                json_object_object_add(taken, "test_id", id_json(p->test_id));
        }
        json_object *rec = sid && taken ? result_record(sid, f->expires_at,
                                                        catalogue_find(run, p->test_id), taken, 1)
                                        : NULL;
        json_object_put(sid);
        json_object_put(taken);
        struct ss_result *r = rec ? batch_add_result(run->b) : NULL;
        struct jx_fail jf = {{0}, {0}};
        char ckey[TL_ID_MAX + 16];
        snprintf(ckey, sizeof ckey, TL_CAND_PREFIX "%s", f->id);
        if (!r || result_fill(rec, r, &jf) != 0 || !(r->candidate_key = strdup(ckey)) ||
            !(r->stream = strdup("sessions"))) {
            json_object_put(rec);
            return err_set(err, SS_ENOMEM, "expired taken test %s: %s", p->id,
                           jf.reason[0] ? jf.reason : "out of memory");
        }
        json_object_put(rec);
    }
    slog_warn(&ctx->log,
              "session %s expired (expires_at %s) with %zu taken test%s not done (%s): Testello "
              "no longer serves it, so they can never be read; stored as expired, not asked for "
              "again",
              f->id, f->expires_at[0] ? f->expires_at : "unknown", f->n, f->n == 1 ? "" : "s", ids);
    return 0;
}

/* A session with tests not done that expires before a sync is likely to
 * see it again. */
static void warn_expiring(struct tl_run *run, const struct tl_follow *f)
{
    struct vendor_ctx *ctx = run->ctx;
    long hours = cfg_opt_int(ctx->acct, "expiry_warn_hours", 24);
    int64_t t;
    struct ss_err e = {0};
    if (!f || f->n == 0 || hours <= 0 || !f->expires_at[0] || ts_parse(f->expires_at, 0, &t, &e))
        return;
    if (t > ctx->now && t - ctx->now <= (int64_t)hours * 3600 * 1000000)
        slog_warn(&ctx->log,
                  "session %s expires at %s with %zu taken test%s not done: sync again before "
                  "then, or what they finish afterwards can never be read",
                  f->id, f->expires_at, f->n, f->n == 1 ? "" : "s");
}

static int tl_extract(struct vendor_ctx *ctx, struct ss_err *err)
{
    struct tl_run run;
    memset(&run, 0, sizeof run);
    run.ctx = ctx;
    struct ss_batch *b = malloc(sizeof *b);
    struct buf cur;
    buf_init(&cur, 0);
    int rc = -1, gone;
    if (!b)
        return err_set(err, SS_ENOMEM, "out of memory");
    batch_init(b);
    run.b = b;
    const char *tests_path = cfg_opt(ctx->acct, "tests_path");
    const char *sessions_path = cfg_opt(ctx->acct, "sessions_path");
    if (!tests_path)
        tests_path = "/tests";
    if (!sessions_path)
        sessions_path = "/sessions";
    if (testello_signing_of(ctx->acct, &run.sg, err) != 0)
        goto out;
    struct ss_err cerr = {0};
    if (tl_follows_parse(ctx->cursor, &run.old, &cerr) != 0)
        slog_warn(&ctx->log,
                  "the stored cursor is not a session list (%s): no sessions followed from "
                  "earlier runs",
                  cerr.msg);

    /* 1. The catalogue: assessments, and pass marks for this run's results. */
    struct tl_page pg;
    memset(&pg, 0, sizeof pg);
    pg.run = &run;
    char what[320];
    snprintf(what, sizeof what, "GET %s", tests_path);
    if (tl_get(&run, tests_path, NULL, what, parse_test_elem, &pg, &gone, err) != 0 ||
        ctx->emit(ctx->sink, run.b, NULL, err) != 0)
        goto out;
    /* 2. The active sessions. */
    memset(&pg, 0, sizeof pg);
    pg.run = &run;
    snprintf(what, sizeof what, "GET %s", sessions_path);
    if (tl_get(&run, sessions_path, NULL, what, parse_list_elem, &pg, &gone, err) != 0)
        goto out;
    slog_info(&ctx->log, "%zu tests in the catalogue, %zu active sessions, %zu followed",
              run.n_tests, run.n_act, run.old.n);
    if (ctx->emit(ctx->sink, run.b, NULL, err) != 0)
        goto out;

    /* 3. Each active session with its taken tests. */
    size_t i;
    for (i = 0; i < run.n_act; i++) {
        if (ctx->stop && *ctx->stop)
            break;
        struct tl_active *a = &run.act[i];
        char path[256];
        snprintf(path, sizeof path, "%s/%s", sessions_path, a->id);
        snprintf(what, sizeof what, "GET %s", path);
        memset(&pg, 0, sizeof pg);
        pg.run = &run;
        size_t before = run.next.n;
        if (tl_get(&run, path, a->id, what, parse_show_elem, &pg, &gone, err) != 0) {
            if (err->code == SS_EAUTH || !gone)
                goto out;
            /* Listed a moment ago, gone now: it expired in between. */
            slog_warn(&ctx->log, "%s; taking the session as expired", err->msg);
            err_clear(err);
            continue;
        }
        if (pg.elements == 0) {
            slog_warn(&ctx->log, "%s held no session; taking it as expired", what);
            continue;
        }
        /* A quarantined session is still there: follow it as before. */
        a->read = pg.sessions > 0;
        a->kept = !a->read;
        /* Each response starts its batch afresh (fetch.c): load it now. */
        if ((run.b->n_res || run.b->n_cand || run.b->n_quar) &&
            ctx->emit(ctx->sink, run.b, NULL, err) != 0)
            goto out;
        if (run.next.n > before)
            warn_expiring(&run, &run.next.f[run.next.n - 1]);
        if (ctx->progress && ((i + 1) % 100 == 0 || i + 1 == run.n_act))
            ctx->progress(ctx->sink, what, pg.records, (double)(i + 1) / (double)run.n_act);
    }
    /* 4. Followed sessions: still to read (a stop), or expired. */
    for (size_t k = 0; k < run.old.n; k++) {
        const struct tl_follow *f = &run.old.f[k];
        const struct tl_active *a = active_find(&run, f->id);
        if (a && a->read)
            continue;
        if (a && (a->kept || (size_t)(a - run.act) >= i)) { /* not read this run */
            struct tl_follow *n = follow_add(&run.next, f->id, f->expires_at);
            for (size_t j = 0; n && j < f->n; j++)
                if (pending_add(n, f->p[j].id, f->p[j].test_id) != 0)
                    n = NULL;
            if (!n) {
                err_set(err, SS_ENOMEM, "out of memory");
                goto out;
            }
            continue;
        }
        if (report_expired(&run, f, err) != 0)
            goto out;
    }
    /* 5. The follow set, with the last part. */
    if (tl_follows_format(&run.next, &cur, err) != 0 ||
        ctx->emit(ctx->sink, run.b, cur.data, err) != 0)
        goto out;
    rc = 0;
out:
    for (size_t k = 0; k < run.n_tests; k++)
        json_object_put(run.tests[k].obj);
    free(run.tests);
    free(run.act);
    tl_follows_free(&run.old);
    tl_follows_free(&run.next);
    batch_free(run.b);
    free(run.b);
    buf_free(&cur);
    return rc;
}

/* ---- parse_body / reparse -------------------------------------------------- */

static int tl_parse_body(const struct vendor_ops *v, const char *stream, const char *body,
                         size_t len, struct ss_batch *b, long *records, struct ss_err *err)
{
    if (strcmp(stream, "sessions") != 0)
        return err_set(err, SS_EINVAL, "%s has no stream \"%s\"", v->name, stream);
    struct tl_page pg;
    memset(&pg, 0, sizeof pg);
    return parse_whole(parse_show_elem, &pg, body, len, b, records, err);
}

static int tl_reparse(const struct vendor_ops *v, const char *stream, const char *raw, size_t len,
                      struct ss_result *r, struct ss_err *err)
{
    (void)v;
    (void)stream;
    json_object *o = NULL;
    struct jx_fail f = {{0}, {0}};
    if (jx_parse(raw, len, &o, err) != 0)
        return -1;
    int rc = result_fill(o, r, &f);
    json_object_put(o);
    if (rc != 0)
        return err_set(err, SS_EINVAL, "field %s: %s", f.field, f.reason);
    return 0;
}

/* ---- vendor_ops ------------------------------------------------------------ */

static const struct vendor_stream tl_streams[] = {
    {"sessions", 0, NULL, NULL},
    {NULL, 0, NULL, NULL},
};

static const char *const tl_stream_names[] = {"sessions", NULL};
static const char *const tl_secrets[] = {"secret", NULL};

static const struct cfg_opt_def tl_opts[] = {
    {"company_id", CFG_OPT_STRING, NULL, NULL,
     "the id Testello gave with the secret, sent in every payload (a JSON number when all "
     "digits); required"},
    {"sign_over", CFG_OPT_ENUM, "payload_base64", "payload_base64|payload_json",
     "what the HMAC-SHA256 signs: the base64 payload as sent, or the JSON text before encoding "
     "(the seed's signing appendix is missing; see docs/vendors/testello.md)"},
    {"signature_digest", CFG_OPT_ENUM, "hex", "hex|raw",
     "the signature part encodes the MAC's lowercase hex digest (as the seed's sample does) or "
     "its 32 bytes"},
    {"base64_alphabet", CFG_OPT_ENUM, "url", "url|std",
     "alphabet of both parts: base64url (the seed: \"base64 url-encoded\") or standard base64"},
    {"base64_padding", CFG_OPT_BOOL, "true", NULL,
     "keep the '=' padding of both parts (the seed's sample has it)"},
    {"show_payload_id", CFG_OPT_BOOL, "true", NULL,
     "put the session's id in the payload of GET sessions/:id too (the seed's table lists id, "
     "its examples only company_id)"},
    {"tests_path", CFG_OPT_STRING, "/tests", NULL, "path of GET tests under base_url"},
    {"sessions_path", CFG_OPT_STRING, "/sessions", NULL,
     "path of GET sessions (and sessions/:id) under base_url"},
    {"auth_error_match", CFG_OPT_STRING,
     "signature,signed_request,secret,company,unauthori,authenticat,forbidden", NULL,
     "an `errors` answer containing one of these comma-separated words (any case) is a refusal "
     "of the account's credentials: the account fails, the others go on"},
    {"expiry_warn_hours", CFG_OPT_INT, "24", NULL,
     "warn about sessions with taken tests not done that expire within this many hours (0: "
     "never)"},
    {NULL, CFG_OPT_STRING, NULL, NULL, NULL},
};

/* 401/403 go through as errors so their `errors` text is read (classify). */
static const struct vendor_status tl_statuses[] = {
    {401, VO_ERROR},
    {403, VO_ERROR},
    {0, VO_OK},
};

/* `scoresync plan`: Testello lists no dates to window on. */
static void tl_plan(const struct vendor_ops *v, const struct cfg_account *a, const char *stream,
                    struct vendor_plan *out)
{
    (void)v, (void)a, (void)stream;
    memset(out, 0, sizeof *out);
    out->why = "it reads the active sessions and each one's taken tests (no date filter), "
               "whatever the range";
}

const struct vendor_ops testello_vendor = {
    .name = "testello",
    .title = "Testello API v1",
    .streams = tl_streams,
    .config =
        {
            .name = "testello",
            .base_url = "http://testello.com/api/v1",
            .streams = tl_stream_names,
            .default_streams = NULL,
            /* Not documented: a cautious default, as the other vendors'. */
            .rate_limits = "5/1,2000/1200",
            .secrets = tl_secrets,
            .opts = tl_opts,
        },
    .statuses = tl_statuses,
    .auth = VA_SIGNED,
    .auth_setup = tl_auth_setup,
    .sign = tl_vendor_sign,
    .extract = tl_extract,
    .parse_body = tl_parse_body,
    .reparse = tl_reparse,
    .plan = tl_plan,
};
