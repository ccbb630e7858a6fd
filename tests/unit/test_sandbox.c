/* The vendor sandbox over loopback with libcurl: auth, the documented
 * response shapes, completed-date windows that partition the data exactly,
 * /score and /assignments, the rate limits in their strictest reading (with
 * a fake clock, so nothing sleeps), fault injection and determinism. Then
 * TrueNorth 2020q1: started-date windows, includeIncompleteAssessments,
 * what 2020q1 lacks, late completion of old attempts, and each vendor's own
 * rate budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/timeparse.h"
#include "sandbox/sandbox.h"
#include "sandbox/sb_vendor.h"

#define SEC 1000000LL
#define DAY (86400LL * SEC)

/* ---- a thread-safe fake clock ------------------------------------------------- */

static int64_t fake_now = 1000 * SEC;

static int64_t fake_now_us(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static void fake_sleep(void *ctx, int64_t us)
{
    (void)ctx;
    __atomic_add_fetch(&fake_now, us, __ATOMIC_SEQ_CST);
}

static const struct ss_clock fake_clock = {fake_now_us, fake_sleep, NULL};

static void advance(int64_t us)
{
    __atomic_add_fetch(&fake_now, us, __ATOMIC_SEQ_CST);
}

/* ---- HTTP helper ----------------------------------------------------------------- */

struct reply {
    long status;
    CURLcode cc;
    char *body;
    size_t len;
    long retry_after; /* -1 when absent */
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, sz * n);
    r->body = nb;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct reply *r = ud;
    if (sz * n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        r->retry_after = strtol(p + 12, NULL, 10);
    return sz * n;
}

static void reply_free(struct reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* method "GET"/"POST"; key NULL = no Authorization header. */
static struct reply call(int port, const char *method, const char *path, const char *key,
                         const char *body)
{
    struct reply r = {0, CURLE_OK, NULL, 0, -1};
    char url[512], auth[256];
    CURL *c = curl_easy_init();
    assert_non_null(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = NULL;
    if (key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        h = curl_slist_append(h, auth);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    r.cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

/* Strict JSON parse: the whole body, nothing after it. NULL if invalid. */
static json_object *parse_strict(const char *s, size_t len)
{
    if (!s)
        return NULL;
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, s, (int)len);
    if (o &&
        (json_tokener_get_error(tok) != json_tokener_success || (size_t)tok->char_offset != len)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static json_object *get(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static int is_null_or_type(json_object *o, const char *k, json_type t)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v))
        return 0;
    return v == NULL || json_object_is_type(v, t);
}

static struct sandbox *start(struct sandbox_opts *o)
{
    struct sandbox *sb = NULL;
    struct ss_err err;
    o->quiet = 1;
    if (sandbox_start(o, &sb, &err) != 0)
        fail_msg("sandbox_start: %s", err.msg);
    assert_true(sandbox_port(sb) > 0);
    return sb;
}

static struct sandbox *start_small(uint64_t seed, long reports, int no_limits)
{
    struct sandbox_opts o;
    sandbox_opts_default(&o);
    o.seed = seed;
    o.reports = reports;
    o.no_limits = no_limits;
    o.accounts = "demo,other";
    return start(&o);
}

static json_object *post_json(int port, const char *path, const char *body)
{
    struct reply r = call(port, "POST", path, "sandbox-demo", body);
    assert_int_equal(r.status, 200);
    json_object *o = parse_strict(r.body, r.len);
    if (!o)
        fail_msg("invalid JSON from %s: %.200s", path, r.body ? r.body : "");
    reply_free(&r);
    return o;
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_auth(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(1, 50, 1);
    int port = sandbox_port(sb);
    struct reply r = call(port, "GET", "/emmersion/2020q3/assessments", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.len, 0);
    reply_free(&r);
    r = call(port, "GET", "/emmersion/2020q3/assessments", "sandbox-nobody", NULL);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.len, 0);
    reply_free(&r);
    r = call(port, "GET", "/emmersion/2020q3/assessments", "demo", NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    /* A key in the query string is not accepted. */
    r = call(port, "GET", "/emmersion/2020q3/assessments?apiKey=sandbox-demo", NULL, NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = call(port, "GET", "/emmersion/2020q3/assessments", "sandbox-other", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    /* Admin endpoints need no key. */
    r = call(port, "GET", "/_sandbox/health", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"ok\":true"));
    reply_free(&r);
    sandbox_stop(sb);
}

static void test_errors(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(1, 50, 1);
    int port = sandbox_port(sb);
    struct reply r = call(port, "GET", "/emmersion/2020q3/nothing", "sandbox-demo", NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    r = call(port, "GET", "/emmersion/2020q3/scores", "sandbox-demo", NULL);
    assert_int_equal(r.status, 405);
    reply_free(&r);
    r = call(port, "POST", "/emmersion/2020q3/scores", "sandbox-demo", "{\"startedOnOrAfter\":");
    assert_int_equal(r.status, 400);
    json_object *o = parse_strict(r.body, r.len);
    assert_non_null(o);
    assert_true(json_object_is_type(get(o, "errors"), json_type_array));
    json_object_put(o);
    reply_free(&r);
    r = call(port, "POST", "/emmersion/2020q3/scores", "sandbox-demo",
             "{\"completedOnOrAfter\":\"yesterday\"}");
    assert_int_equal(r.status, 400);
    reply_free(&r);
    sandbox_stop(sb);
}

static void test_assessments_shape(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(1, 50, 1);
    struct reply r =
        call(sandbox_port(sb), "GET", "/emmersion/2020q3/assessments/", "sandbox-demo", NULL);
    assert_int_equal(r.status, 200);
    json_object *o = parse_strict(r.body, r.len);
    assert_non_null(o);
    json_object *a = get(o, "assessments");
    assert_true(json_object_is_type(a, json_type_array));
    assert_true(json_object_array_length(a) >= 5);
    int grammar = 0;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *it = json_object_array_get_idx(a, i);
        assert_true(json_object_is_type(get(it, "name"), json_type_string));
        assert_int_equal(strlen(json_object_get_string(get(it, "assessmentId"))), 36);
        grammar += strcmp(json_object_get_string(get(it, "name")), "English Grammar") == 0;
    }
    assert_int_equal(grammar, 1);
    json_object_put(o);
    reply_free(&r);
    sandbox_stop(sb);
}

/* Checks one report against the documented shape; returns its completed us. */
static int64_t check_report(json_object *rep)
{
    static const char *const keys[] = {"assessmentType",
                                       "assessmentName",
                                       "status",
                                       "started",
                                       "completed",
                                       "duration",
                                       "score",
                                       "placement",
                                       "cefrSpeakingLevel",
                                       "actflSpeakingLevel",
                                       "diagnosticInfo",
                                       "openResponses",
                                       "writingOpenResponses",
                                       "surveyItems",
                                       "subScores",
                                       "assessmentVersion",
                                       "certificateUrl"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_object_get_ex(rep, keys[i], NULL))
            fail_msg("report lacks %s", keys[i]);
    assert_int_equal(strlen(json_object_get_string(get(rep, "userAssessmentId"))), 36);
    const char *type = json_object_get_string(get(rep, "assessmentType"));
    const char *status = json_object_get_string(get(rep, "status"));
    double score = json_object_get_double(get(rep, "score"));
    if (strcmp(status, "Completed") == 0) {
        if (strcmp(type, "TrueNorth") == 0) {
            assert_true(score >= 0 && score <= 10);
            assert_true(json_object_is_type(get(rep, "cefrSpeakingLevel"), json_type_string));
            assert_null(get(rep, "placement"));
        } else {
            assert_string_equal(type, "WebCAPE");
            assert_true(score >= 0 && score <= 1000);
            assert_true(json_object_is_type(get(rep, "subScores"), json_type_object));
            assert_null(get(rep, "cefrSpeakingLevel"));
        }
    }
    int64_t started, completed;
    struct ss_err err;
    assert_true(is_null_or_type(rep, "completed", json_type_string));
    if (!get(rep, "completed"))
        return TS_NULL;
    assert_int_equal(ts_parse(json_object_get_string(get(rep, "started")), 0, &started, &err), 0);
    assert_int_equal(ts_parse(json_object_get_string(get(rep, "completed")), 0, &completed, &err),
                     0);
    assert_true(started <= completed);
    /* .NET form: 7 fraction digits and +00:00. */
    const char *cs = json_object_get_string(get(rep, "completed"));
    assert_int_equal(strlen(cs), strlen("2019-09-10T16:30:13.7087307+00:00"));
    assert_string_equal(cs + 27, "+00:00");
    return completed;
}

static void test_scores_window(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(3, 1500, 1);
    int64_t a = ts_from_civil(2021, 1, 1, 0, 0, 0), b = ts_from_civil(2021, 6, 30, 23, 59, 59);
    json_object *o = post_json(sandbox_port(sb), "/emmersion/2020q3/scores",
                               "{\"completedOnOrAfter\":\"2021-01-01T00:00:00Z\","
                               "\"completedOnOrBefore\":\"2021-06-30T23:59:59+00:00\","
                               "\"includeIncompleteAssessments\":true}");
    json_object *f = get(o, "appliedFilters");
    assert_non_null(f);
    assert_string_equal(json_object_get_string(get(f, "completedOnOrAfter")),
                        "2021-01-01T00:00:00+00:00");
    assert_null(get(f, "startedOnOrAfter"));
    json_object *us = get(o, "userScores");
    assert_true(json_object_array_length(us) > 10);
    size_t nrep = 0;
    for (size_t i = 0; i < json_object_array_length(us); i++) {
        json_object *u = json_object_array_get_idx(us, i);
        const char *uid = json_object_get_string(get(u, "userId"));
        /* Grouped by user: each user once. */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(
                uid, json_object_get_string(get(json_object_array_get_idx(us, j), "userId")));
        assert_true(is_null_or_type(u, "uniqueIdentifier", json_type_string));
        assert_true(is_null_or_type(u, "studentId", json_type_string));
        json_object *reps = get(u, "scoreReports");
        assert_true(json_object_array_length(reps) >= 1);
        for (size_t k = 0; k < json_object_array_length(reps); k++) {
            int64_t c = check_report(json_object_array_get_idx(reps, k));
            assert_true(c != TS_NULL);
            assert_true(c >= a && c <= b);
            nrep++;
        }
    }
    assert_true(nrep > 20);

    /* Inclusive bounds at microsecond resolution: a report completed at
     * hh:mm:ss.1234567 is in [.., .123456] and not in [.123457, ..]. */
    json_object *rep =
        json_object_array_get_idx(get(json_object_array_get_idx(us, 0), "scoreReports"), 0);
    const char *id = json_object_get_string(get(rep, "userAssessmentId"));
    int64_t t;
    struct ss_err err;
    assert_int_equal(ts_parse(json_object_get_string(get(rep, "completed")), 0, &t, &err), 0);
    char t0[40], t1[40], body[200];
    ts_format(t, t0, sizeof t0);
    ts_format(t + 1, t1, sizeof t1);
    snprintf(body, sizeof body, "{\"completedOnOrAfter\":\"%s\",\"completedOnOrBefore\":\"%s\"}",
             t0, t0);
    json_object *one = post_json(sandbox_port(sb), "/emmersion/2020q3/scores", body);
    json_object *ous = get(one, "userScores");
    assert_int_equal(json_object_array_length(ous), 1);
    json_object *oreps = get(json_object_array_get_idx(ous, 0), "scoreReports");
    assert_int_equal(json_object_array_length(oreps), 1);
    assert_string_equal(
        json_object_get_string(get(json_object_array_get_idx(oreps, 0), "userAssessmentId")), id);
    json_object_put(one);
    snprintf(body, sizeof body, "{\"completedOnOrAfter\":\"%s\",\"completedOnOrBefore\":\"%s\"}",
             t1, t1);
    one = post_json(sandbox_port(sb), "/emmersion/2020q3/scores", body);
    assert_null(strstr(json_object_to_json_string(one), id));
    json_object_put(one);
    json_object_put(o);
    sandbox_stop(sb);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_windows_partition(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(5, 3000, 1);
    int port = sandbox_port(sb);
    struct reply r = call(port, "GET", "/_sandbox/emmersion/expected?account=demo", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_object *exp = parse_strict(r.body, r.len);
    assert_non_null(exp);
    reply_free(&r);
    json_object *ids = get(exp, "ids");
    size_t n = json_object_array_length(ids);
    assert_int_equal(n, (size_t)json_object_get_int(get(exp, "completed")));
    assert_true(n > 1500 && n < 3000); /* about 75% Completed */
    assert_int_equal(json_object_get_int(get(exp, "completed_good")), (int)n);
    assert_int_equal(json_object_array_length(get(exp, "bad_ids")), 0);

    char **seen = calloc(n + 1, sizeof *seen);
    size_t got = 0;
    /* Uneven windows (17 days), each [a, a + span - 1us], over a range wider
     * than the data. */
    for (int64_t a = ts_from_civil(2018, 12, 1, 0, 0, 0); a < ts_from_civil(2027, 1, 1, 0, 0, 0);
         a += 17 * DAY) {
        char from[40], to[40], body[200];
        ts_format(a, from, sizeof from);
        ts_format(a + 17 * DAY - 1, to, sizeof to);
        snprintf(body, sizeof body,
                 "{\"completedOnOrAfter\":\"%s\",\"completedOnOrBefore\":\"%s\"}", from, to);
        json_object *o = post_json(port, "/emmersion/2020q3/scores", body);
        json_object *us = get(o, "userScores");
        for (size_t i = 0; i < json_object_array_length(us); i++) {
            json_object *reps = get(json_object_array_get_idx(us, i), "scoreReports");
            for (size_t k = 0; k < json_object_array_length(reps); k++) {
                json_object *rep = json_object_array_get_idx(reps, k);
                if (strcmp(json_object_get_string(get(rep, "status")), "Completed") != 0)
                    continue;
                assert_true(got < n);
                seen[got++] = strdup(json_object_get_string(get(rep, "userAssessmentId")));
            }
        }
        json_object_put(o);
    }
    assert_int_equal(got, n);
    qsort(seen, got, sizeof *seen, cmp_str);
    for (size_t i = 0; i < n; i++) /* /expected ids are sorted: equal lists = same set, once each */
        assert_string_equal(seen[i], json_object_get_string(json_object_array_get_idx(ids, i)));
    for (size_t i = 0; i < got; i++)
        free(seen[i]);
    free(seen);
    json_object_put(exp);
    sandbox_stop(sb);
}

static void test_score_user(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(9, 600, 1);
    int port = sandbox_port(sb);
    json_object *o = post_json(port, "/emmersion/2020q3/scores",
                               "{\"startedOnOrAfter\":\"2019-01-01T00:00:00Z\","
                               "\"includeIncompleteAssessments\":true}");
    json_object *us = get(o, "userScores");
    json_object *pick = NULL;
    for (size_t i = 0; i < json_object_array_length(us) && !pick; i++)
        if (get(json_object_array_get_idx(us, i), "uniqueIdentifier"))
            pick = json_object_array_get_idx(us, i);
    assert_non_null(pick);
    char body[200];
    snprintf(body, sizeof body, "{\"uniqueIdentifier\":\"%s\"}",
             json_object_get_string(get(pick, "uniqueIdentifier")));
    json_object *u = post_json(port, "/emmersion/2020q3/score", body);
    assert_string_equal(json_object_get_string(get(u, "userId")),
                        json_object_get_string(get(pick, "userId")));
    size_t nall = json_object_array_length(get(u, "scoreReports"));
    assert_true(nall >= json_object_array_length(get(pick, "scoreReports")));
    assert_true(nall >= 1 && nall <= 6);
    for (size_t k = 0; k < nall; k++)
        check_report(json_object_array_get_idx(get(u, "scoreReports"), k));

    snprintf(body, sizeof body, "{\"userId\":\"%s\"}", json_object_get_string(get(pick, "userId")));
    json_object *u2 = post_json(port, "/emmersion/2020q3/score", body);
    assert_string_equal(json_object_to_json_string(u2), json_object_to_json_string(u));

    struct reply r = call(port, "POST", "/emmersion/2020q3/score", "sandbox-demo",
                          "{\"uniqueIdentifier\":\"no-such-user\"}");
    assert_int_equal(r.status, 204);
    reply_free(&r);
    json_object_put(u);
    json_object_put(u2);
    json_object_put(o);
    sandbox_stop(sb);
}

static void test_assignments(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(4, 2000, 1);
    int port = sandbox_port(sb);
    int64_t a = ts_from_civil(2022, 1, 1, 0, 0, 0), b = ts_from_civil(2023, 12, 31, 0, 0, 0);
    json_object *o = post_json(port, "/emmersion/2020q3/assignments/",
                               "{\"assignedOnOrAfter\":\"2022-01-01T00:00:00Z\","
                               "\"assignedOnOrBefore\":\"2023-12-31T00:00:00Z\","
                               "\"statuses\":[\"NotStarted\",\"InProgress\"]}");
    json_object *as = get(o, "assignments");
    assert_true(json_object_array_length(as) > 5);
    int ns = 0, ip = 0;
    for (size_t i = 0; i < json_object_array_length(as); i++) {
        json_object *it = json_object_array_get_idx(as, i);
        const char *st = json_object_get_string(get(it, "userAssessmentStatus"));
        ns += strcmp(st, "NotStarted") == 0;
        ip += strcmp(st, "InProgress") == 0;
        int64_t t;
        struct ss_err err;
        assert_int_equal(ts_parse(json_object_get_string(get(it, "assignedAt")), 0, &t, &err), 0);
        assert_true(t >= a && t <= b);
        assert_null(get(it, "completedAt"));
        assert_true(json_object_object_get_ex(it, "surName", NULL));
        assert_true(json_object_object_get_ex(it, "expiresAt", NULL));
    }
    assert_int_equal(ns + ip, (int)json_object_array_length(as));
    assert_true(ns > 0 && ip > 0);
    json_object_put(o);

    /* Without the filter, Completed ones appear too. */
    o = post_json(port, "/emmersion/2020q3/assignments",
                  "{\"assignedOnOrAfter\":\"2022-01-01T00:00:00Z\","
                  "\"assignedOnOrBefore\":\"2023-12-31T00:00:00Z\"}");
    int completed = 0;
    as = get(o, "assignments");
    for (size_t i = 0; i < json_object_array_length(as); i++)
        completed += strcmp(json_object_get_string(
                                get(json_object_array_get_idx(as, i), "userAssessmentStatus")),
                            "Completed") == 0;
    assert_true(completed > ns + ip);
    json_object_put(o);

    struct reply r = call(port, "POST", "/emmersion/2020q3/assignments", "sandbox-demo",
                          "{\"assignedOnOrAfter\":\"2022-01-01T00:00:00Z\"}");
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = call(port, "POST", "/emmersion/2020q3/assignments", "sandbox-demo",
             "{\"assignedOnOrAfter\":\"2022-01-01\",\"assignedOnOrBefore\":\"2022-02-01\","
             "\"statuses\":[\"Finished\"]}");
    assert_int_equal(r.status, 400);
    reply_free(&r);
    sandbox_stop(sb);
}

static long stat_of_vendor(int port, const char *vendor, const char *account, const char *key)
{
    struct reply r = call(port, "GET", "/_sandbox/stats", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_object *o = parse_strict(r.body, r.len);
    assert_non_null(o);
    json_object *v = get(get(get(o, vendor), account), key);
    assert_non_null(v);
    long out = json_object_get_int64(v);
    json_object_put(o);
    reply_free(&r);
    return out;
}

static long stat_of(int port, const char *account, const char *key)
{
    return stat_of_vendor(port, "emmersion", account, key);
}

static void test_rate_limit(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(1, 50, 0);
    sandbox_set_clock(sb, &fake_clock);
    int port = sandbox_port(sb);
    struct reply r;
    for (int i = 0; i < 5; i++) {
        r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
        assert_int_equal(r.status, 200);
        reply_free(&r);
        advance(200 * 1000 - 1); /* five requests within 0.8 s */
    }
    /* The 6th: exactly 1 s after the first counts as the same span. */
    advance(5);
    r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 429);
    assert_int_equal(r.retry_after, 1);
    reply_free(&r);
    /* Limits are per account. */
    r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-other", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    advance(1);
    r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    assert_int_equal(stat_of(port, "demo", "sent_429"), 1);
    assert_int_equal(stat_of(port, "demo", "accepted"), 6);
    assert_int_equal(stat_of(port, "demo", "peak_1s"), 5);

    /* 2,000 per 20 minutes: at 4 per second the 2,001st request is refused. */
    for (int i = 0; i < 1994; i++) {
        advance(250 * 1000);
        r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
        if (r.status != 200)
            fail_msg("request %d: HTTP %ld", i, r.status);
        reply_free(&r);
    }
    advance(250 * 1000);
    r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 429);
    /* The oldest of the 2,000 leaves the 1200 s span about 700 s from now. */
    assert_true(r.retry_after > 600 && r.retry_after <= 1200);
    long wait = r.retry_after;
    reply_free(&r);
    advance((wait - 1) * SEC);
    r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 429);
    reply_free(&r);
    advance(SEC);
    r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    sandbox_stop(sb);
}

static void test_rate_scale(void **state)
{
    (void)state;
    struct sandbox_opts o;
    sandbox_opts_default(&o);
    o.reports = 50;
    o.rate_scale = 2;
    struct sandbox *sb = start(&o);
    sandbox_set_clock(sb, &fake_clock);
    int port = sandbox_port(sb);
    struct reply r;
    for (int i = 0; i < 10; i++) {
        r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
        assert_int_equal(r.status, 200);
        reply_free(&r);
    }
    r = call(port, "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 429);
    reply_free(&r);
    assert_int_equal(stat_of(port, "demo", "limit_1s"), 10);
    assert_int_equal(stat_of(port, "demo", "limit_1200s"), 4000);
    sandbox_stop(sb);
}

static int count_malformed(uint64_t seed, double p, int n, char **first_bodies, int keep)
{
    struct sandbox_opts o;
    sandbox_opts_default(&o);
    o.seed = seed;
    o.reports = 50;
    o.no_limits = 1;
    o.faults.p_malformed = p;
    struct sandbox *sb = start(&o);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        struct reply r =
            call(sandbox_port(sb), "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
        assert_int_equal(r.status, 200);
        json_object *j = parse_strict(r.body, r.len);
        bad += j == NULL;
        json_object_put(j);
        if (i < keep) {
            first_bodies[i] = r.body;
            r.body = NULL;
        }
        reply_free(&r);
    }
    sandbox_stop(sb);
    return bad;
}

static void test_malformed_share(void **state)
{
    (void)state;
    char *a[20] = {0}, *b[20] = {0};
    int bad = count_malformed(17, 0.3, 300, a, 20);
    assert_true(bad >= 60 && bad <= 120); /* 30% of 300, give or take */
    /* The same seed gives the same fault sequence, byte for byte. */
    int bad2 = count_malformed(17, 0.3, 300, b, 20);
    assert_int_equal(bad, bad2);
    for (int i = 0; i < 20; i++) {
        assert_string_equal(a[i], b[i]);
        free(a[i]);
        free(b[i]);
    }
    assert_int_equal(count_malformed(17, 0.0, 50, NULL, 0), 0);
}

static void test_faults(void **state)
{
    (void)state;
    struct sandbox_opts o;
    sandbox_opts_default(&o);
    o.reports = 50;
    o.no_limits = 1;
    o.faults.p_truncate = 1.0;
    struct sandbox *sb = start(&o);
    struct reply r =
        call(sandbox_port(sb), "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_int_equal(r.cc, CURLE_PARTIAL_FILE);
    reply_free(&r);
    sandbox_stop(sb);

    sandbox_opts_default(&o);
    o.reports = 50;
    o.no_limits = 1;
    o.faults.p_5xx = 1.0;
    sb = start(&o);
    r = call(sandbox_port(sb), "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
    assert_true(r.status == 500 || r.status == 502 || r.status == 503);
    reply_free(&r);
    assert_int_equal(stat_of(sandbox_port(sb), "demo", "injected_5xx"), 1);
    sandbox_stop(sb);

    /* A storm: p_429 = 0.5 with storm_len 3 -> every 429 run is >= 3 long,
     * and retries get through eventually. */
    sandbox_opts_default(&o);
    o.reports = 50;
    o.no_limits = 1;
    o.faults.p_429 = 0.3;
    o.faults.storm_len = 3;
    sb = start(&o);
    int run = 0, ok = 0, storms = 0;
    for (int i = 0; i < 200; i++) {
        r = call(sandbox_port(sb), "GET", "/emmersion/2020q3/groups", "sandbox-demo", NULL);
        if (r.status == 429) {
            assert_int_equal(r.retry_after, 1);
            run++;
        } else {
            assert_int_equal(r.status, 200);
            if (run) {
                assert_true(run >= 3);
                storms++;
            }
            run = 0;
            ok++;
        }
        reply_free(&r);
    }
    assert_true(ok > 20 && storms > 5);
    sandbox_stop(sb);
}

static void test_bad_records(void **state)
{
    (void)state;
    struct sandbox_opts o;
    sandbox_opts_default(&o);
    o.reports = 1200;
    o.no_limits = 1;
    o.seed = 11;
    o.faults.p_bad_record = 0.1;
    struct sandbox *sb = start(&o);
    int port = sandbox_port(sb);
    struct reply r = call(port, "GET", "/_sandbox/emmersion/expected?account=demo", NULL, NULL);
    json_object *exp = parse_strict(r.body, r.len);
    assert_non_null(exp);
    reply_free(&r);
    size_t nbad = json_object_array_length(get(exp, "bad_ids"));
    int completed = json_object_get_int(get(exp, "completed"));
    int good = json_object_get_int(get(exp, "completed_good"));
    assert_true(nbad > 30 && nbad < 180);
    assert_int_equal((size_t)good + nbad, (size_t)completed);
    assert_int_equal(json_object_array_length(get(exp, "ids_good")), (size_t)good);

    /* Count what a strict reader would reject in the whole data set. */
    json_object *o2 = post_json(port, "/emmersion/2020q3/scores",
                                "{\"completedOnOrAfter\":\"2000-01-01T00:00:00Z\"}");
    json_object *us = get(o2, "userScores");
    size_t seen_bad = 0;
    for (size_t i = 0; i < json_object_array_length(us); i++) {
        json_object *reps = get(json_object_array_get_idx(us, i), "scoreReports");
        for (size_t k = 0; k < json_object_array_length(reps); k++) {
            json_object *rep = json_object_array_get_idx(reps, k);
            if (strcmp(json_object_get_string(get(rep, "status")), "Completed") != 0)
                continue;
            int64_t t;
            struct ss_err err;
            json_object *cefr = get(rep, "cefrSpeakingLevel");
            if (!json_object_object_get_ex(rep, "userAssessmentId", NULL) ||
                json_object_is_type(get(rep, "score"), json_type_string) ||
                (cefr && strcmp(json_object_get_string(cefr), "B7") == 0) ||
                ts_parse(json_object_get_string(get(rep, "completed")), 0, &t, &err) != 0)
                seen_bad++;
        }
    }
    assert_int_equal(seen_bad, nbad);
    json_object_put(o2);
    json_object_put(exp);
    sandbox_stop(sb);
}

static void test_determinism(void **state)
{
    (void)state;
    const char *req = "{\"completedOnOrAfter\":\"2020-01-01T00:00:00Z\","
                      "\"completedOnOrBefore\":\"2020-12-31T00:00:00Z\"}";
    char *bodies[3];
    uint64_t seeds[3] = {42, 42, 43};
    for (int i = 0; i < 3; i++) {
        struct sandbox *sb = start_small(seeds[i], 800, 1);
        struct reply r =
            call(sandbox_port(sb), "POST", "/emmersion/2020q3/scores", "sandbox-demo", req);
        assert_int_equal(r.status, 200);
        bodies[i] = r.body;
        sandbox_stop(sb);
    }
    assert_true(strlen(bodies[0]) > 1000);
    assert_string_equal(bodies[0], bodies[1]);
    assert_string_not_equal(bodies[0], bodies[2]);
    for (int i = 0; i < 3; i++)
        free(bodies[i]);
}

struct worker {
    int port;
    int ok;
    /* What to POST, and how often; NULL path: an Emmersion window, 25 times. */
    const char *path, *body;
    int n;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    int n = w->path ? w->n : 25;
    for (int i = 0; i < n; i++) {
        struct reply r =
            call(w->port, "POST", w->path ? w->path : "/emmersion/2020q3/scores", "sandbox-demo",
                 w->path ? w->body
                         : "{\"completedOnOrAfter\":\"2021-09-01T00:00:00Z\","
                           "\"completedOnOrBefore\":\"2021-09-30T00:00:00Z\"}");
        json_object *o = r.status == 200 ? parse_strict(r.body, r.len) : NULL;
        w->ok += o != NULL;
        json_object_put(o);
        reply_free(&r);
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(8, 2000, 1);
    struct worker w[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){.port = sandbox_port(sb)};
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    assert_int_equal(ok, 200);
    assert_int_equal(stat_of(sandbox_port(sb), "demo", "accepted"), 200);
    sandbox_stop(sb);
}

/* ---- TrueNorth 2020q1 ------------------------------------------------------------ */

#define TN "/truenorth/2020q1"

static json_object *get_admin(int port, const char *path)
{
    struct reply r = call(port, "GET", path, NULL, NULL);
    if (r.status != 200)
        fail_msg("GET %s: HTTP %ld: %.200s", path, r.status, r.body ? r.body : "");
    json_object *o = parse_strict(r.body, r.len);
    assert_non_null(o);
    reply_free(&r);
    return o;
}

static const char *str_of(json_object *o, const char *k)
{
    return json_object_get_string(get(o, k));
}

static int64_t time_of(json_object *o, const char *k)
{
    int64_t t;
    struct ss_err err;
    if (ts_parse(str_of(o, k), 0, &t, &err) != 0)
        fail_msg("%s: %s", k, err.msg);
    return t;
}

enum { ST_NOT_STARTED, ST_IN_PROGRESS, ST_SCORE_PENDING, ST_COMPLETED, ST_NEEDS_REVIEW, ST_N };

/* One 2020q1 report: the documented fields and no 2020q3 ones; the fields
 * agree with the status. Returns the status. */
static int check_tn_report(json_object *rep)
{
    static const char *const keys[] = {
        "userAssessmentId", "assessmentType",    "assessmentName",     "status",
        "started",          "completed",         "duration",           "score",
        "placement",        "cefrSpeakingLevel", "actflSpeakingLevel", "diagnosticInfo",
        "openResponses",    "surveyItems",       "subScores",          "assessmentVersion"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_object_get_ex(rep, keys[i], NULL))
            fail_msg("report lacks %s", keys[i]);
    assert_false(json_object_object_get_ex(rep, "writingOpenResponses", NULL));
    assert_false(json_object_object_get_ex(rep, "certificateUrl", NULL));
    static const char *const names[ST_N] = {"NotStarted", "InProgress", "ScorePending", "Completed",
                                            "NeedsReview"};
    const char *status = str_of(rep, "status");
    int st = -1;
    for (int i = 0; i < ST_N; i++)
        if (strcmp(status, names[i]) == 0)
            st = i;
    if (st < 0)
        fail_msg("unknown status %s", status);
    json_object *score = get(rep, "score");
    json_object *ors = get(rep, "openResponses");
    for (size_t i = 0; i < json_object_array_length(ors); i++)
        assert_true(strncmp(str_of(json_object_array_get_idx(ors, i), "responseAudioUrl"),
                            "2020q1/response-audio/", 22) == 0);
    switch (st) {
    case ST_NOT_STARTED:
        /* As documented: no times, score 0.0 (not a score), no version. */
        assert_null(get(rep, "started"));
        assert_null(get(rep, "completed"));
        assert_null(get(rep, "duration"));
        assert_true(json_object_is_type(score, json_type_double));
        assert_true(json_object_get_double(score) == 0.0);
        assert_null(get(rep, "assessmentVersion"));
        break;
    case ST_IN_PROGRESS:
        time_of(rep, "started");
        assert_null(get(rep, "completed"));
        assert_true(json_object_get_double(score) == 0.0);
        break;
    case ST_SCORE_PENDING:
    case ST_NEEDS_REVIEW:
        assert_true(time_of(rep, "started") <= time_of(rep, "completed"));
        assert_null(get(rep, "cefrSpeakingLevel"));
        if (st == ST_NEEDS_REVIEW)
            assert_null(score);
        else
            assert_true(json_object_get_double(score) == 0.0);
        break;
    default:
        assert_true(time_of(rep, "started") <= time_of(rep, "completed"));
        if (strcmp(str_of(rep, "assessmentType"), "TrueNorth") == 0) {
            assert_true(json_object_get_double(score) >= 0 && json_object_get_double(score) <= 10);
            assert_true(json_object_is_type(get(rep, "cefrSpeakingLevel"), json_type_string));
        } else {
            assert_true(json_object_get_double(score) >= 0 &&
                        json_object_get_double(score) <= 1000);
            assert_true(json_object_is_type(get(rep, "subScores"), json_type_object));
        }
        break;
    }
    return st;
}

static void test_truenorth_routes(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(21, 400, 1);
    int port = sandbox_port(sb);
    struct reply r = call(port, "GET", TN "/assessments", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.len, 0);
    reply_free(&r);
    r = call(port, "GET", TN "/assessments?apiKey=sandbox-demo", NULL, NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = call(port, "GET", TN "/assessments", "sandbox-nobody", NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = call(port, "GET", TN "/assessments/", "sandbox-other", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"English Speaking\""));
    reply_free(&r);
    r = call(port, "GET", TN "/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 200);
    json_object *o = parse_strict(r.body, r.len);
    assert_int_equal(json_object_array_length(get(o, "groups")), 5);
    json_object_put(o);
    reply_free(&r);
    /* 2020q1 has no /assignments. */
    r = call(port, "POST", TN "/assignments", "sandbox-demo",
             "{\"assignedOnOrAfter\":\"2022-01-01T00:00:00Z\","
             "\"assignedOnOrBefore\":\"2023-12-31T00:00:00Z\"}");
    assert_int_equal(r.status, 404);
    reply_free(&r);
    r = call(port, "GET", TN "/scores", "sandbox-demo", NULL);
    assert_int_equal(r.status, 405);
    reply_free(&r);
    r = call(port, "POST", TN "/scores", "sandbox-demo", "{\"startedOnOrAfter\":5}");
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = call(port, "GET", TN "/nothing", "sandbox-demo", NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    /* complete-in-progress is TrueNorth's; an admin query needs the account. */
    r = call(port, "GET", "/_sandbox/emmersion/complete-in-progress?account=demo", NULL, NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    r = call(port, "GET", "/_sandbox/truenorth/expected", NULL, NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = call(port, "GET", "/_sandbox/truenorth/expected?account=nobody", NULL, NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    sandbox_stop(sb);
}

/* Every report a sync by started-date windows with includeIncompleteAssessments
 * loads, each once: the set /expected lists as ids_started. */
static void test_truenorth_started_windows(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(22, 3000, 1);
    int port = sandbox_port(sb);
    json_object *exp = get_admin(port, "/_sandbox/truenorth/expected?account=demo");
    json_object *ids = get(exp, "ids_started");
    size_t n = json_object_array_length(ids);
    assert_int_equal(n, (size_t)json_object_get_int(get(exp, "started")));
    assert_int_equal(json_object_get_int(get(exp, "reports")), 3000);
    assert_int_equal(n + (size_t)json_object_get_int(get(exp, "not_started")), 3000);
    assert_int_equal(json_object_array_length(get(exp, "ids_incomplete")),
                     (size_t)json_object_get_int(get(exp, "incomplete")));
    assert_true(json_object_get_int(get(exp, "incomplete")) > 100);
    assert_true(json_object_array_length(get(exp, "ids_in_progress")) > 50);

    char **seen = calloc(n + 1, sizeof *seen);
    size_t got = 0, nst[ST_N] = {0};
    const int64_t span = 23 * DAY;
    for (int64_t a = ts_from_civil(2018, 12, 1, 0, 0, 0); a < ts_from_civil(2027, 1, 1, 0, 0, 0);
         a += span) {
        char from[40], to[40], body[256];
        ts_format(a, from, sizeof from);
        ts_format(a + span - 1, to, sizeof to);
        snprintf(body, sizeof body,
                 "{\"startedOnOrAfter\":\"%s\",\"startedOnOrBefore\":\"%s\","
                 "\"includeIncompleteAssessments\":true}",
                 from, to);
        json_object *o = post_json(port, TN "/scores", body);
        /* 2020q1's appliedFilters: no completed filters. */
        json_object *f = get(o, "appliedFilters");
        assert_int_equal(json_object_object_length(f), 4);
        assert_true(json_object_get_boolean(get(f, "includeIncompleteAssessments")));
        assert_null(get(f, "groupIds"));
        assert_int_equal(time_of(f, "startedOnOrAfter"), a);
        json_object *us = get(o, "userScores");
        for (size_t i = 0; i < json_object_array_length(us); i++) {
            json_object *reps = get(json_object_array_get_idx(us, i), "scoreReports");
            for (size_t k = 0; k < json_object_array_length(reps); k++) {
                json_object *rep = json_object_array_get_idx(reps, k);
                nst[check_tn_report(rep)]++;
                int64_t t = time_of(rep, "started");
                assert_true(t >= a && t <= a + span - 1);
                assert_true(got < n);
                seen[got++] = strdup(str_of(rep, "userAssessmentId"));
            }
        }
        json_object_put(o);
    }
    assert_int_equal(got, n);
    qsort(seen, got, sizeof *seen, cmp_str);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(seen[i], json_object_get_string(json_object_array_get_idx(ids, i)));
    for (size_t i = 0; i < got; i++)
        free(seen[i]);
    free(seen);
    json_object *sts = get(exp, "statuses");
    assert_int_equal(nst[ST_NOT_STARTED], 0); /* no start time: in no started window */
    assert_int_equal(nst[ST_IN_PROGRESS], (size_t)json_object_get_int(get(sts, "InProgress")));
    assert_int_equal(nst[ST_SCORE_PENDING], (size_t)json_object_get_int(get(sts, "ScorePending")));
    assert_int_equal(nst[ST_NEEDS_REVIEW], (size_t)json_object_get_int(get(sts, "NeedsReview")));
    assert_int_equal(nst[ST_COMPLETED], (size_t)json_object_get_int(get(exp, "completed")));
    json_object_put(exp);
    sandbox_stop(sb);
}

/* Counts reports by status in a /scores answer. */
static size_t count_statuses(json_object *o, size_t nst[ST_N])
{
    size_t total = 0;
    memset(nst, 0, ST_N * sizeof *nst);
    json_object *us = get(o, "userScores");
    for (size_t i = 0; i < json_object_array_length(us); i++) {
        json_object *reps = get(json_object_array_get_idx(us, i), "scoreReports");
        for (size_t k = 0; k < json_object_array_length(reps); k++) {
            nst[check_tn_report(json_object_array_get_idx(reps, k))]++;
            total++;
        }
    }
    return total;
}

static void test_truenorth_incomplete(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(25, 2000, 1);
    int port = sandbox_port(sb);
    json_object *exp = get_admin(port, "/_sandbox/truenorth/expected?account=demo");
    size_t completed = (size_t)json_object_get_int(get(exp, "completed"));
    size_t nst[ST_N];

    /* Absent or false: finished (Completed) reports only. */
    json_object *o =
        post_json(port, TN "/scores", "{\"startedOnOrAfter\":\"2000-01-01T00:00:00Z\"}");
    assert_int_equal(count_statuses(o, nst), completed);
    assert_int_equal(nst[ST_COMPLETED], completed);
    assert_false(
        json_object_get_boolean(get(get(o, "appliedFilters"), "includeIncompleteAssessments")));
    json_object_put(o);
    o = post_json(port, TN "/scores", "{\"includeIncompleteAssessments\":false}");
    assert_int_equal(count_statuses(o, nst), completed);
    json_object_put(o);
    /* 2020q1 knows no completed filters: ignored, and not echoed. */
    o = post_json(port, TN "/scores", "{\"completedOnOrAfter\":\"2100-01-01T00:00:00Z\"}");
    assert_int_equal(count_statuses(o, nst), completed);
    assert_false(json_object_object_get_ex(get(o, "appliedFilters"), "completedOnOrAfter", NULL));
    json_object_put(o);

    /* True and no date filter: every report, NotStarted ones too. */
    o = post_json(port, TN "/scores", "{\"includeIncompleteAssessments\":true}");
    assert_int_equal(count_statuses(o, nst), 2000);
    json_object *sts = get(exp, "statuses");
    static const char *const names[ST_N] = {"NotStarted", "InProgress", "ScorePending", "Completed",
                                            "NeedsReview"};
    for (int i = 0; i < ST_N; i++) {
        assert_int_equal(nst[i], (size_t)json_object_get_int(get(sts, names[i])));
        assert_true(nst[i] > 0);
    }
    json_object_put(o);

    /* Groups filter, as in 2020q3. */
    json_object *g = post_json(port, TN "/scores", "{}");
    json_object_put(g);
    struct reply r = call(port, "GET", TN "/groups", "sandbox-demo", NULL);
    json_object *groups = parse_strict(r.body, r.len);
    reply_free(&r);
    char body[200];
    snprintf(body, sizeof body, "{\"groupIds\":[\"%s\"],\"includeIncompleteAssessments\":true}",
             str_of(json_object_array_get_idx(get(groups, "groups"), 0), "groupId"));
    o = post_json(port, TN "/scores", body);
    size_t in_group = count_statuses(o, nst);
    assert_true(in_group > 100 && in_group < 2000);
    assert_int_equal(json_object_array_length(get(get(o, "appliedFilters"), "groupIds")), 1);
    json_object_put(o);
    json_object_put(groups);
    json_object_put(exp);
    sandbox_stop(sb);
}

static void test_truenorth_score_user(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(26, 600, 1);
    int port = sandbox_port(sb);
    json_object *o = post_json(port, TN "/scores", "{\"includeIncompleteAssessments\":true}");
    json_object *us = get(o, "userScores");
    json_object *pick = NULL;
    for (size_t i = 0; i < json_object_array_length(us) && !pick; i++) {
        json_object *u = json_object_array_get_idx(us, i);
        if (get(u, "uniqueIdentifier") && json_object_array_length(get(u, "scoreReports")) > 1)
            pick = u;
    }
    assert_non_null(pick);
    char body[200];
    snprintf(body, sizeof body, "{\"uniqueIdentifier\":\"%s\"}", str_of(pick, "uniqueIdentifier"));
    json_object *u = post_json(port, TN "/score/", body);
    /* Every attempt of the user, whatever its status: the same as in /scores. */
    assert_string_equal(json_object_to_json_string(u), json_object_to_json_string(pick));
    for (size_t k = 0; k < json_object_array_length(get(u, "scoreReports")); k++)
        check_tn_report(json_object_array_get_idx(get(u, "scoreReports"), k));
    snprintf(body, sizeof body, "{\"userId\":\"%s\"}", str_of(pick, "userId"));
    json_object *u2 = post_json(port, TN "/score", body);
    assert_string_equal(json_object_to_json_string(u2), json_object_to_json_string(u));
    struct reply r =
        call(port, "POST", TN "/score", "sandbox-demo", "{\"uniqueIdentifier\":\"no-such-user\"}");
    assert_int_equal(r.status, 204);
    reply_free(&r);
    r = call(port, "POST", TN "/score", "sandbox-demo", "{}");
    assert_int_equal(r.status, 400);
    reply_free(&r);
    json_object_put(u);
    json_object_put(u2);
    json_object_put(o);
    sandbox_stop(sb);
}

/* An attempt started long before a client's checkpoint finishes now: a re-read
 * of its old start window finds it Completed, completed = now. */
static void test_truenorth_complete_in_progress(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(23, 2000, 1);
    int port = sandbox_port(sb);
    json_object *exp = get_admin(port, "/_sandbox/truenorth/expected?account=demo");
    size_t ip0 = json_object_array_length(get(exp, "ids_in_progress"));
    int completed0 = json_object_get_int(get(exp, "completed"));
    assert_true(ip0 > 20);
    json_object_put(exp);

    /* The oldest InProgress attempt, as a client would see it. */
    json_object *all = post_json(port, TN "/scores", "{\"includeIncompleteAssessments\":true}");
    json_object *us = get(all, "userScores");
    char oldest[37] = "";
    int64_t oldest_t = INT64_MAX;
    size_t nip = 0;
    for (size_t i = 0; i < json_object_array_length(us); i++) {
        json_object *reps = get(json_object_array_get_idx(us, i), "scoreReports");
        for (size_t k = 0; k < json_object_array_length(reps); k++) {
            json_object *rep = json_object_array_get_idx(reps, k);
            if (strcmp(str_of(rep, "status"), "InProgress") != 0)
                continue;
            nip++;
            int64_t t = time_of(rep, "started");
            if (t < oldest_t) {
                oldest_t = t;
                snprintf(oldest, sizeof oldest, "%s", str_of(rep, "userAssessmentId"));
            }
        }
    }
    json_object_put(all);
    assert_int_equal(nip, ip0);
    int64_t now = clock_wall_us();
    assert_true(oldest_t < now - 90 * DAY); /* started months ago, still in progress */

    char t0[40], body[256];
    ts_format(oldest_t, t0, sizeof t0);
    snprintf(body, sizeof body, "{\"startedOnOrAfter\":\"%s\",\"startedOnOrBefore\":\"%s\"}", t0,
             t0);
    json_object *before = post_json(port, TN "/scores", body);
    assert_null(strstr(json_object_to_json_string(before), oldest)); /* not finished yet */
    json_object_put(before);

    json_object *c = get_admin(port, "/_sandbox/truenorth/complete-in-progress?account=demo");
    assert_int_equal(json_object_get_int(get(c, "completed")), 1);
    assert_int_equal(json_object_get_int(get(c, "in_progress_left")), (int)ip0 - 1);
    json_object *done = json_object_array_get_idx(get(c, "reports"), 0);
    assert_string_equal(str_of(done, "userAssessmentId"), oldest);
    assert_int_equal(time_of(done, "started"), oldest_t);
    int64_t ct = time_of(done, "completed");
    assert_true(ct >= now - 60 * SEC && ct <= clock_wall_us() + 60 * SEC);

    json_object *after = post_json(port, TN "/scores", body);
    json_object *rep = json_object_array_get_idx(
        get(json_object_array_get_idx(get(after, "userScores"), 0), "scoreReports"), 0);
    assert_non_null(rep);
    assert_string_equal(str_of(rep, "userAssessmentId"), oldest);
    assert_int_equal(check_tn_report(rep), ST_COMPLETED);
    assert_int_equal(time_of(rep, "completed"), ct);
    assert_true(json_object_get_double(get(rep, "score")) ==
                json_object_get_double(get(done, "score")));
    assert_non_null(strchr(str_of(rep, "duration"), '.')); /* days long: "d.hh:mm:ss.f" */
    json_object_put(after);
    json_object_put(c);

    /* The next three oldest, in start order; completion times increase. */
    c = get_admin(port, "/_sandbox/truenorth/complete-in-progress?account=demo&n=3");
    assert_int_equal(json_object_get_int(get(c, "completed")), 3);
    json_object *reps = get(c, "reports");
    int64_t prev_s = oldest_t, prev_c = ct;
    for (size_t i = 0; i < 3; i++) {
        json_object *it = json_object_array_get_idx(reps, i);
        assert_true(time_of(it, "started") >= prev_s);
        assert_true(time_of(it, "completed") > prev_c);
        prev_s = time_of(it, "started");
        prev_c = time_of(it, "completed");
    }
    json_object_put(c);
    exp = get_admin(port, "/_sandbox/truenorth/expected?account=demo");
    assert_int_equal(json_object_get_int(get(exp, "completed")), completed0 + 4);
    assert_int_equal(json_object_array_length(get(exp, "ids_in_progress")), ip0 - 4);
    assert_null(strstr(json_object_to_json_string(get(exp, "ids_in_progress")), oldest));
    assert_non_null(strstr(json_object_to_json_string(get(exp, "ids")), oldest));
    json_object_put(exp);

    /* More than there are: all of them, then none. */
    snprintf(body, sizeof body, "/_sandbox/truenorth/complete-in-progress?account=demo&n=%zu",
             ip0 + 10);
    c = get_admin(port, body);
    assert_int_equal(json_object_get_int(get(c, "completed")), (int)ip0 - 4);
    assert_int_equal(json_object_get_int(get(c, "in_progress_left")), 0);
    json_object_put(c);
    c = get_admin(port, "/_sandbox/truenorth/complete-in-progress?account=demo");
    assert_int_equal(json_object_get_int(get(c, "completed")), 0);
    json_object_put(c);

    struct reply r =
        call(port, "GET", "/_sandbox/truenorth/complete-in-progress?account=demo&n=0", NULL, NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    r = call(port, "GET", "/_sandbox/truenorth/complete-in-progress?account=demo&n=x", NULL, NULL);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    /* Only this vendor and account changed. */
    exp = get_admin(port, "/_sandbox/truenorth/expected?account=other");
    assert_true(json_object_array_length(get(exp, "ids_in_progress")) > 20);
    json_object_put(exp);
    sandbox_stop(sb);
}

/* n GET requests to path with account's key, each answered `status`. */
static void expect_gets(int port, const char *path, const char *key, int n, long status)
{
    for (int i = 0; i < n; i++) {
        struct reply r = call(port, "GET", path, key, NULL);
        if (r.status != status)
            fail_msg("GET %s #%d: HTTP %ld, expected %ld", path, i + 1, r.status, status);
        reply_free(&r);
    }
}

/* Each vendor declares its limits, and each (vendor, account) has its own
 * budget: Emmersion's 5 per second do not use up TrueNorth's. */
static void test_per_vendor_limits(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(1, 50, 0);
    sandbox_set_clock(sb, &fake_clock);
    int port = sandbox_port(sb);
    expect_gets(port, "/emmersion/2020q3/groups", "sandbox-demo", 5, 200);
    expect_gets(port, "/emmersion/2020q3/groups", "sandbox-demo", 1, 429);
    expect_gets(port, TN "/groups", "sandbox-demo", 5, 200);
    struct reply r = call(port, "GET", TN "/groups", "sandbox-demo", NULL);
    assert_int_equal(r.status, 429);
    /* All five at one instant: free again 1 s + 1 us later, so 2 whole seconds. */
    assert_int_equal(r.retry_after, 2);
    reply_free(&r);
    expect_gets(port, TN "/groups", "sandbox-other", 1, 200);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "accepted"), 5);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "sent_429"), 1);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "peak_1s"), 5);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "limit_1s"), 5);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "limit_1200s"), 2000);
    assert_int_equal(stat_of_vendor(port, "truenorth", "other", "accepted"), 1);
    assert_int_equal(stat_of(port, "demo", "accepted"), 5);
    assert_int_equal(stat_of(port, "demo", "sent_429"), 1);
    advance(SEC + 1);
    expect_gets(port, TN "/groups", "sandbox-demo", 1, 200);
    sandbox_stop(sb);

    /* --rate-scale and --no-limits apply to every vendor. */
    struct sandbox_opts o;
    sandbox_opts_default(&o);
    o.reports = 50;
    o.rate_scale = 2;
    sb = start(&o);
    sandbox_set_clock(sb, &fake_clock);
    port = sandbox_port(sb);
    expect_gets(port, TN "/groups", "sandbox-demo", 10, 200);
    expect_gets(port, TN "/groups", "sandbox-demo", 1, 429);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "limit_1s"), 10);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "limit_1200s"), 4000);
    sandbox_stop(sb);
    sandbox_opts_default(&o);
    o.reports = 50;
    o.no_limits = 1;
    sb = start(&o);
    sandbox_set_clock(sb, &fake_clock);
    port = sandbox_port(sb);
    expect_gets(port, TN "/groups", "sandbox-demo", 30, 200);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "limits"), 0);
    assert_int_equal(stat_of_vendor(port, "truenorth", "demo", "peak_1s"), 30);
    sandbox_stop(sb);
}

/* The first requests race to generate the data; completions change it while
 * readers render it. */
static void test_truenorth_concurrent(void **state)
{
    (void)state;
    struct sandbox *sb = start_small(27, 3000, 1);
    int port = sandbox_port(sb);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.port = port,
                               .path = TN "/scores",
                               .body = "{\"startedOnOrAfter\":\"2019-01-01T00:00:00Z\","
                                       "\"startedOnOrBefore\":\"2021-12-31T00:00:00Z\","
                                       "\"includeIncompleteAssessments\":true}",
                               .n = 20};
        assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
    }
    int completed = 0;
    for (int i = 0; i < 20; i++) {
        json_object *c =
            get_admin(port, "/_sandbox/truenorth/complete-in-progress?account=demo&n=2");
        completed += json_object_get_int(get(c, "completed"));
        json_object_put(c);
    }
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    assert_int_equal(ok, 80);
    assert_int_equal(completed, 40);
    sandbox_stop(sb);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_assessments_shape),
        cmocka_unit_test(test_scores_window),
        cmocka_unit_test(test_windows_partition),
        cmocka_unit_test(test_score_user),
        cmocka_unit_test(test_assignments),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_rate_scale),
        cmocka_unit_test(test_malformed_share),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_truenorth_routes),
        cmocka_unit_test(test_truenorth_started_windows),
        cmocka_unit_test(test_truenorth_incomplete),
        cmocka_unit_test(test_truenorth_score_user),
        cmocka_unit_test(test_truenorth_complete_in_progress),
        cmocka_unit_test(test_per_vendor_limits),
        cmocka_unit_test(test_truenorth_concurrent),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
