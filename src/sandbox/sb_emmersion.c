/* sb_emmersion: the Emmersion Enterprise API 2020q3 as the sandbox serves it
 * (/work/shared/seeds/003_*.txt): GET /assessments, GET /groups, POST /scores,
 * POST /score, POST /assignments. Data comes from sb_data; this file parses
 * filters and renders JSON in the documented field order, with .NET-style
 * timestamps. Time filters compare at microsecond resolution, the finest a
 * client can name without ambiguity (see sb_data.h). */
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/log.h"
#include "../core/timeparse.h"
#include "sb_data.h"
#include "sb_vendor.h"

struct emm_state {
    size_t naccounts;
    struct sb_dataset *ds; /* one per account */
    /* Requests read the data; /_sandbox/emmersion/score-pending changes it. */
    pthread_rwlock_t lock;
};

/* Sticky-failure writer: rendering stops at the first failed append (the
 * response cap), and the caller turns that into one error response. */
struct out {
    struct buf *b;
    int failed;
};

static void put(struct out *o, const char *s)
{
    if (!o->failed && buf_append(o->b, s, strlen(s), NULL) != 0)
        o->failed = 1;
}

static void putf(struct out *o, const char *fmt, ...) SS_PRINTF(2, 3);
static void putf(struct out *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        o->failed = 1;
        return;
    }
    if (!o->failed && buf_append(o->b, tmp, (size_t)n, NULL) != 0)
        o->failed = 1;
}

static void put_str(struct out *o, const char *s)
{
    if (!o->failed && sb_json_str(o->b, s) != 0)
        o->failed = 1;
}

/* "key": "value" (or null) with a leading comma unless first. */
static void put_kv(struct out *o, const char *key, const char *val, int first)
{
    putf(o, "%s\"%s\":", first ? "" : ",", key);
    put_str(o, val);
}

static void put_ticks(struct out *o, const char *key, int64_t t)
{
    char ts[48];
    if (t == SB_NONE) {
        putf(o, ",\"%s\":null", key);
        return;
    }
    sb_fmt_ticks(t, ts, sizeof ts);
    putf(o, ",\"%s\":\"%s\"", key, ts);
}

/* ---- static tables -------------------------------------------------------- */

static const struct {
    const char *name, *type, *id;
} assessments[SB_AS_COUNT] = {
    [SB_AS_EN_SPEAKING] = {"English Speaking", "TrueNorth", "c66496f2-35a7-465d-bb3b-58f6af5caedb"},
    [SB_AS_EN_WRITING] = {"English Writing", "TrueNorth", "4f0d6a2e-8b1c-4d5e-9a7f-2c3b1e0d9f8a"},
    [SB_AS_ES_SPEAKING] = {"Spanish Speaking", "TrueNorth", "a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"},
    [SB_AS_EN_GRAMMAR] = {"English Grammar", "WebCAPE", "de83346f-aa2d-4c4f-a250-0d3a09d609e3"},
    [SB_AS_ES_GRAMMAR] = {"Spanish Grammar", "WebCAPE", "7e6d5c4b-3a29-4817-b6f5-e4d3c2b1a098"},
};

static const struct {
    const char *name, *id;
} extra_assessments[] = {
    {"English Listening", "0b5c0072-7cc9-4ef0-96e8-635a4ce012fd"},
    {"English Speaking Demo", "6ce10c60-0761-4dc7-b193-9f73977a9510"},
};

static const char *const status_names[] = {
    [SB_ST_NOT_STARTED] = "NotStarted",     [SB_ST_IN_PROGRESS] = "InProgress",
    [SB_ST_SCORE_PENDING] = "ScorePending", [SB_ST_COMPLETED] = "Completed",
    [SB_ST_NEEDS_REVIEW] = "NeedsReview",
};

/* TrueNorth bands by score (tenths): the levels agree with each other and
 * with the score, as the vendor's tables do. */
static const struct band {
    int min_tenths;
    const char *cefr, *actfl, *toefl, *ielts, *toeic;
    const char *prof, *actfl_desc, *cefr_desc;
} bands[] = {
    {0, "A1", "Novice Low - Novice Mid", "0-9", "1 - 2.5", "0-40",
     "Individuals at this level can communicate minimally with isolated words and memorized "
     "phrases.",
     "ACTFL Overall Speaking Guideline: Speakers at the Novice level communicate short messages on "
     "highly predictable topics.",
     "CEFR Overall Production Description: Can produce simple mainly isolated phrases about people "
     "and places."},
    {15, "A1-A2", "Novice High", "10-13", "3 - 3.5", "50-80",
     "Individuals at this level can handle a limited number of uncomplicated communicative tasks.",
     "ACTFL Overall Speaking Guideline: Speakers at the Novice High sublevel are able to handle a "
     "variety of tasks pertaining to the Intermediate level, but are unable to sustain performance "
     "at that level.",
     "CEFR Overall Production Description: Can give a simple description of people, living or "
     "working conditions, daily routines."},
    {30, "A2", "Intermediate Low", "14-16", "4 - 4.5", "90-100",
     "Individuals at this level can handle straightforward social situations on familiar topics.",
     "ACTFL Overall Speaking Guideline: Speakers at the Intermediate Low sublevel are able to "
     "handle successfully a limited number of uncomplicated communicative tasks.",
     "CEFR Overall Production Description: Can give a simple description or presentation of "
     "people, living or working conditions, daily routines, likes/dislikes."},
    {40, "A2-B1", "Intermediate Mid", "17-19", "5", "110-120",
     "Individuals at this level can create with the language and ask and answer simple questions.",
     "ACTFL Overall Speaking Guideline: Speakers at the Intermediate Mid sublevel are able to "
     "handle successfully a variety of uncomplicated communicative tasks in straightforward social "
     "situations.",
     "CEFR Overall Production Description: Can reasonably fluently sustain a straightforward "
     "description of one of a variety of subjects."},
    {50, "B1", "Intermediate High", "20-22", "5.5", "130-140",
     "Individuals at this level can converse with ease and confidence on routine tasks and social "
     "situations.",
     "ACTFL Overall Speaking Guideline: Intermediate High speakers are able to converse with ease "
     "and confidence when dealing with the routine tasks and social situations of the Intermediate "
     "level.",
     "CEFR Overall Production Description: Can reasonably fluently sustain a straightforward "
     "description of one of a variety of subjects within their field of interest."},
    {60, "B1-B2", "Advanced Low", "22-23", "6 - 6.5", "150-160",
     "Individuals at this level can narrate and describe in the major time frames of past, "
     "present, and future.",
     "ACTFL Overall Speaking Guideline: Speakers at the Advanced Low sublevel are able to handle a "
     "variety of communicative tasks.",
     "CEFR Overall Production Description: Can give clear, detailed descriptions on a wide range "
     "of subjects related to their field of interest."},
    {70, "B2", "Advanced Mid", "24-25", "6.5 - 7", "160-170",
     "Individuals at this level can handle with ease and confidence a large number of "
     "communicative tasks.",
     "ACTFL Overall Speaking Guideline: Speakers at the Advanced Mid sublevel are able to handle "
     "with ease and confidence a large number of communicative tasks.",
     "CEFR Overall Production Description: Can give clear, systematically developed descriptions "
     "and presentations, with appropriate highlighting of significant points."},
    {78, "B2-C1", "Advanced Mid - Advanced High", "25-27", "7 - 7.5", "170-180",
     "Individuals at this level can express themselves freely and spontaneously, and for the most "
     "part accurately, on concrete topics and on most complex issues. They can usually support "
     "their opinion and develop hypotheses on topics of particular interest or personal expertise.",
     "ACTFL Overall Speaking Guideline: Speakers at the Advanced High sublevel perform all "
     "Advanced-level tasks with linguistic ease, confidence, and competence. They are consistently "
     "able to explain in detail and narrate fully and accurately in all time frames.",
     "CEFR Overall Production Description: Can give clear, detailed descriptions and presentations "
     "on complex subjects, integrating sub-themes, developing particular points and rounding off "
     "with an appropriate conclusion."},
    {88, "C1", "Advanced High - Superior", "28-29", "8 - 8.5", "180-190",
     "Individuals at this level can participate fully and effectively in conversations on a "
     "variety of topics.",
     "ACTFL Overall Speaking Guideline: Speakers at the Superior level are able to communicate "
     "with accuracy and fluency in order to participate fully and effectively in conversations.",
     "CEFR Overall Production Description: Can produce clear, smoothly flowing, well-structured "
     "speech with an effective logical structure."},
    {95, "C1-C2", "Superior", "30", "9", "200",
     "Individuals at this level can express themselves spontaneously, very fluently and precisely.",
     "ACTFL Overall Speaking Guideline: Speakers at the Superior level are able to communicate "
     "with accuracy and fluency on a variety of topics in formal and informal settings.",
     "CEFR Overall Production Description: Can produce clear, smoothly flowing well-structured "
     "speech with an effective logical structure which helps the recipient to notice and remember "
     "significant points."},
};

static const struct band *band_for(int tenths)
{
    const struct band *b = &bands[0];
    for (size_t i = 0; i < sizeof bands / sizeof bands[0]; i++)
        if (tenths >= bands[i].min_tenths)
            b = &bands[i];
    return b;
}

static const char *const diagnostics[] = {
    "Focus on learning and using phrasal verbs (verb + preposition pairs that together form new "
    "meaning, ex. \"it just came up\")",
    "Listen to native speakers for examples of idioms (ex. \"piece of cake\"). Practice "
    "intentionally using idioms in your speech.",
    "Consider asking a language-learning partner to occasionally, unexpectedly confront you with "
    "unanticipated situations for practice.",
    "Search for opportunities to listen to native speakers talk about divisive, hypothetical, or "
    "abstract topics.",
    "Read as much as you can. Re-read complex passages to ensure you understand all of the words "
    "through context.",
};

static const char *const speaking_questions[] = {
    "What is your favorite book and why?",
    "Describe an experience when you got hurt. How did it happen and what did you do afterwards?",
    "How did you meet your best friend? What were the circumstances?",
    "Tell us about a place you would like to visit.",
};

static const char *const writing_questions[] = {
    "Write about a time when you went to dinner at a restaurant and received poor service or food "
    "from the restaurant staff.",
    "Describe your ideal job and explain why it suits you.",
};

static const char *const survey_education[] = {"high school", "some college", "bachelor's degree",
                                               "graduate degree"};
static const char *const survey_languages[] = {"", "French", "Portuguese, Italian", "日本語"};
static const char *const survey_native[] = {"Spanish", "English", "Arabic", "Mandarin", "Polish"};

/* ---- rendering ------------------------------------------------------------ */

static void render_report(struct out *o, const struct sb_dataset *ds, const struct sb_report *r)
{
    char id[37], sub[37];
    int tn = r->assessment <= SB_AS_ES_SPEAKING;
    int done = r->status == SB_ST_COMPLETED;
    uint64_t h = sb_hash3(ds->key, 0x77, r->index);
    sb_report_id(ds, r->index, id);

    put(o, "{");
    if (r->bad == SB_BAD_NO_ID)
        put(o, "\"assessmentType\":");
    else
        putf(o, "\"userAssessmentId\":\"%s\",\"assessmentType\":", id);
    put_str(o, assessments[r->assessment].type);
    put_kv(o, "assessmentName", assessments[r->assessment].name, 0);
    put_kv(o, "status", status_names[r->status], 0);
    put_ticks(o, "started", r->started);
    if (r->bad == SB_BAD_DATE)
        put(o, ",\"completed\":\"31/13/2021 25:61\"");
    else
        put_ticks(o, "completed", r->completed);
    if (r->started != SB_NONE && r->completed != SB_NONE) {
        char d[40];
        sb_fmt_duration(r->completed - r->started, d, sizeof d);
        putf(o, ",\"duration\":\"%s\"", d);
    } else {
        put(o, ",\"duration\":null");
    }
    if (r->bad == SB_BAD_SCORE_TYPE)
        put(o, ",\"score\":\"eight\"");
    else if (done && tn)
        putf(o, ",\"score\":%d.%d0", r->score / 10, r->score % 10);
    else if (done)
        putf(o, ",\"score\":%d.00", r->score);
    else if (r->status == SB_ST_NEEDS_REVIEW)
        put(o, ",\"score\":null");
    else
        put(o, ",\"score\":0.0");

    if (done && !tn) {
        const char *pl = r->score < 300   ? "Semester 1"
                         : r->score < 500 ? "Semester 2"
                         : r->score < 700 ? "Semester 3"
                                          : "Semester 4";
        put_kv(o, "placement", pl, 0);
    } else {
        put(o, ",\"placement\":null");
    }
    if (done && tn) {
        const struct band *b = band_for(r->score);
        put_kv(o, "proficiencyLevelDescription", b->prof, 0);
        put_kv(o, "actflSpeakingLevel", b->actfl, 0);
        put_kv(o, "actflDescription", b->actfl_desc, 0);
        put_kv(o, "cefrSpeakingLevel", r->bad == SB_BAD_CEFR ? "B7" : b->cefr, 0);
        put_kv(o, "cefrDescription", b->cefr_desc, 0);
        put_kv(o, "toeflSpeakingLevel", b->toefl, 0);
        put_kv(o, "ieltsSpeakingLevel", b->ielts, 0);
        put_kv(o, "toeicSpeakingLevel", b->toeic, 0);
        size_t nd = 1 + h % 5, start = (h >> 4) % 5;
        put(o, ",\"diagnosticInfo\":[");
        for (size_t i = 0; i < nd; i++) {
            if (i)
                put(o, ",");
            put_str(o, diagnostics[(start + i) % 5]);
        }
        put(o, "]");
    } else {
        put(o, ",\"proficiencyLevelDescription\":null,\"actflSpeakingLevel\":null,"
               "\"actflDescription\":null,\"cefrSpeakingLevel\":null,\"cefrDescription\":null,"
               "\"toeflSpeakingLevel\":null,\"ieltsSpeakingLevel\":null,"
               "\"toeicSpeakingLevel\":null,\"diagnosticInfo\":[]");
    }

    put(o, ",\"openResponses\":[");
    if (done && (r->assessment == SB_AS_EN_SPEAKING || r->assessment == SB_AS_ES_SPEAKING)) {
        for (unsigned i = 0; i < 3; i++) {
            sb_uuid(ds->key, 0x80 + i, r->index, sub);
            putf(o, "%s{\"question\":", i ? "," : "");
            put_str(o, speaking_questions[(h + i) % 4]);
            putf(o, ",\"responseAudioUrl\":\"2020q3/response-audio/%s/%s\"}", id, sub);
        }
    }
    put(o, "],\"writingOpenResponses\":[");
    if (done && r->assessment == SB_AS_EN_WRITING) {
        unsigned nw = 1 + (unsigned)((h >> 8) % 2);
        for (unsigned i = 0; i < nw; i++) {
            sb_uuid(ds->key, 0x90 + i, r->index, sub);
            putf(o, "%s{\"question\":", i ? "," : "");
            put_str(o, writing_questions[i]);
            putf(o, ",\"responseTextUrl\":\"2020q3/response-text/%s/item/%s\"}", id, sub);
        }
    }
    put(o, "],\"surveyItems\":[");
    if (done && !tn) {
        put(o, "{\"question\":\"What is the highest level of education that you have completed?\","
               "\"answer\":");
        put_str(o, survey_education[(h >> 12) % 4]);
        put(o, "},{\"question\":\"Please list any additional languages you speak\",\"answer\":");
        put_str(o, survey_languages[(h >> 16) % 4]);
        put(o, "},{\"question\":\"What is your native language?\",\"answer\":");
        put_str(o, survey_native[(h >> 20) % 5]);
        putf(o,
             "},{\"question\":\"How many years have you been learning %s? (in years)\","
             "\"answer\":\"%u\"}",
             r->assessment == SB_AS_EN_GRAMMAR ? "English" : "Spanish", (unsigned)((h >> 24) % 12));
    }
    put(o, "]");
    if (done && !tn) {
        /* Sub-scores roughly track the overall score. */
        static const char *const parts[] = {"reading", "grammar", "listening", "vocabulary"};
        put(o, ",\"subScores\":{");
        for (unsigned i = 0; i < 4; i++) {
            unsigned total = (unsigned)((h >> (28 + 6 * i)) % 17);
            unsigned correct = total * r->score / 1000;
            putf(o, "%s\"%s\":{\"correct\":%u,\"total\":%u}", i ? "," : "", parts[i], correct,
                 total);
        }
        put(o, "}");
    } else {
        put(o, ",\"subScores\":null");
    }
    if (r->status == SB_ST_NOT_STARTED)
        put(o, ",\"assessmentVersion\":null");
    else
        putf(o, ",\"assessmentVersion\":\"%s\"",
             !tn             ? "A.20.01"
             : (h >> 60) % 2 ? "C.21.02"
                             : "C.19.04");
    if (done && tn)
        putf(o, ",\"certificateUrl\":\"2020q3/certificate/%s\"}", id);
    else
        put(o, ",\"certificateUrl\":null}");
}

static void render_user_head(struct out *o, const struct sb_dataset *ds, uint32_t u)
{
    char id[37], uq[24], sid[24];
    struct sb_user_names nm;
    sb_user_id(ds, u, id);
    sb_user_names(ds, u, &nm);
    putf(o, "{\"userId\":\"%s\"", id);
    put_kv(o, "givenName", nm.given, 0);
    put_kv(o, "surname", nm.surname, 0);
    put_kv(o, "username", nm.username, 0);
    put_kv(o, "email", nm.email[0] ? nm.email : NULL, 0);
    put_kv(o, "studentId", sb_user_student(ds, u, sid, sizeof sid) ? sid : NULL, 0);
    put_kv(o, "uniqueIdentifier", sb_user_unique(ds, u, uq, sizeof uq) ? uq : NULL, 0);
    put(o, ",\"scoreReports\":[");
}

/* ---- request parsing -------------------------------------------------------- */

struct filters {
    int64_t started_after, started_before, completed_after, completed_before; /* us or SB_NONE */
    int include_incomplete;
    json_object *group_ids; /* borrowed from the request, or NULL */
    unsigned group_mask;
};

/* Parses the JSON object body; answers 400 itself on failure. */
static json_object *parse_body(const struct sb_req *req, struct sb_resp *resp)
{
    if (req->body_len == 0) {
        sb_resp_error(resp, 400, "A request body is required.");
        return NULL;
    }
    enum json_tokener_error jerr;
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        sb_resp_error(resp, 500, "out of memory");
        return NULL;
    }
    json_object *o = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    jerr = json_tokener_get_error(tok);
    /* Trailing garbage after a complete value is an error too. */
    if (o && tok->char_offset < (int)req->body_len) {
        const char *p = req->body + tok->char_offset;
        while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            p++;
        if (*p) {
            json_object_put(o);
            o = NULL;
            jerr = json_tokener_error_parse_unexpected;
        }
    }
    json_tokener_free(tok);
    if (!o || jerr != json_tokener_success || !json_object_is_type(o, json_type_object)) {
        char msg[160];
        snprintf(msg, sizeof msg, "The request body is not a valid JSON object: %s",
                 !o ? json_tokener_error_desc(jerr) : "not an object");
        sb_resp_error(resp, 400, msg);
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* A nullable timestamp member; returns -1 after answering 400. */
static int get_time(json_object *body, const char *key, int64_t *out, struct sb_resp *resp)
{
    json_object *v;
    *out = SB_NONE;
    if (!json_object_object_get_ex(body, key, &v) || !v)
        return 0;
    struct ss_err err;
    char msg[256];
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(msg, sizeof msg, "%s: expected a date-time string", key);
        sb_resp_error(resp, 400, msg);
        return -1;
    }
    if (ts_parse(json_object_get_string(v), 0, out, &err) != 0) {
        snprintf(msg, sizeof msg, "%s: %.200s", key, err.msg);
        sb_resp_error(resp, 400, msg);
        return -1;
    }
    return 0;
}

static void put_filter_time(struct out *o, const char *key, int64_t us)
{
    if (us == SB_NONE) {
        putf(o, ",\"%s\":null", key);
        return;
    }
    /* .NET omits a zero fraction, as in the documented appliedFilters. */
    char ts[48];
    sb_fmt_ticks(us * SB_TICKS_PER_US, ts, sizeof ts);
    char *dot = strchr(ts, '.');
    if (dot && strncmp(dot, ".0000000", 8) == 0)
        memmove(dot, dot + 8, strlen(dot + 8) + 1);
    putf(o, ",\"%s\":\"%s\"", key, ts);
}

static int in_range(int64_t ticks, int64_t after_us, int64_t before_us)
{
    if (after_us == SB_NONE && before_us == SB_NONE)
        return 1;
    if (ticks == SB_NONE)
        return 0;
    int64_t us = ticks / SB_TICKS_PER_US;
    return (after_us == SB_NONE || us >= after_us) && (before_us == SB_NONE || us <= before_us);
}

/* Sorting key packed as (user << 32 | position), so plain integer order
 * groups by user and keeps positions ascending within a user, and no global
 * comparator state is needed across threads. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Renders users with the matching report positions (packed keys, sorted). */
static void render_user_groups(struct out *o, const struct sb_dataset *ds, const uint64_t *keys,
                               size_t n)
{
    uint32_t cur = UINT32_MAX;
    for (size_t i = 0; i < n && !o->failed; i++) {
        uint32_t u = (uint32_t)(keys[i] >> 32), pos = (uint32_t)keys[i];
        if (u != cur) {
            if (cur != UINT32_MAX)
                put(o, "]}");
            put(o, cur == UINT32_MAX ? "" : ",");
            render_user_head(o, ds, u);
            cur = u;
        } else {
            put(o, ",");
        }
        render_report(o, ds, &ds->reports[pos]);
    }
    if (cur != UINT32_MAX)
        put(o, "]}");
}

static int finish(struct out *o, struct sb_resp *resp)
{
    if (o->failed) {
        buf_reset(&resp->body);
        sb_resp_error(resp, 500,
                      "The sandbox cannot build a response this large; narrow the date range.");
        return 0;
    }
    resp->status = 200;
    resp->content_type = "application/json; charset=utf-8";
    return 0;
}

/* ---- endpoints ------------------------------------------------------------ */

static int h_assessments(struct sb_resp *resp)
{
    struct out o = {&resp->body, 0};
    put(&o, "{\"assessments\":[");
    for (int i = 0; i < SB_AS_COUNT; i++) {
        put(&o, i ? ",{\"name\":" : "{\"name\":");
        put_str(&o, assessments[i].name);
        putf(&o, ",\"assessmentId\":\"%s\"}", assessments[i].id);
    }
    for (size_t i = 0; i < sizeof extra_assessments / sizeof extra_assessments[0]; i++) {
        put(&o, ",{\"name\":");
        put_str(&o, extra_assessments[i].name);
        putf(&o, ",\"assessmentId\":\"%s\"}", extra_assessments[i].id);
    }
    put(&o, "]}");
    return finish(&o, resp);
}

static int h_groups(const struct sb_dataset *ds, struct sb_resp *resp)
{
    struct out o = {&resp->body, 0};
    char id[37];
    put(&o, "{\"groups\":[");
    for (int g = 0; g < SB_NGROUPS; g++) {
        sb_group_id(ds, g, id);
        put(&o, g ? ",{\"name\":" : "{\"name\":");
        put_str(&o, sb_group_name(g));
        putf(&o, ",\"groupId\":\"%s\"}", id);
    }
    put(&o, "]}");
    return finish(&o, resp);
}

static int h_scores(const struct sb_dataset *ds, const struct sb_req *req, struct sb_resp *resp)
{
    struct filters f;
    memset(&f, 0, sizeof f);
    uint64_t *keys = NULL;
    int rc = 0;
    json_object *body = parse_body(req, resp), *v;
    if (!body)
        return 0;
    if (get_time(body, "startedOnOrAfter", &f.started_after, resp) ||
        get_time(body, "startedOnOrBefore", &f.started_before, resp) ||
        get_time(body, "completedOnOrAfter", &f.completed_after, resp) ||
        get_time(body, "completedOnOrBefore", &f.completed_before, resp))
        goto out;
    if (json_object_object_get_ex(body, "includeIncompleteAssessments", &v) && v) {
        if (!json_object_is_type(v, json_type_boolean)) {
            sb_resp_error(resp, 400, "includeIncompleteAssessments: expected true or false");
            goto out;
        }
        f.include_incomplete = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(body, "groupIds", &v) && v) {
        if (!json_object_is_type(v, json_type_array)) {
            sb_resp_error(resp, 400, "groupIds: expected an array of group ids");
            goto out;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *g = json_object_array_get_idx(v, i);
            if (!json_object_is_type(g, json_type_string)) {
                sb_resp_error(resp, 400, "groupIds: expected an array of group ids");
                goto out;
            }
            char gid[37];
            for (int k = 0; k < SB_NGROUPS; k++) {
                sb_group_id(ds, k, gid);
                if (strcasecmp(gid, json_object_get_string(g)) == 0)
                    f.group_mask |= 1u << k;
            }
        }
        if (json_object_array_length(v) > 0)
            f.group_ids = v;
    }

    /* The completed filters pick a contiguous range of the sorted array and
     * override includeIncompleteAssessments (as documented). */
    int by_completed = f.completed_after != SB_NONE || f.completed_before != SB_NONE;
    size_t lo = 0, hi = ds->nreports;
    if (by_completed) {
        lo = f.completed_after == SB_NONE ? 0 : sb_data_completed_bound(ds, f.completed_after, 0);
        hi = f.completed_before == SB_NONE ? ds->ncompleted
                                           : sb_data_completed_bound(ds, f.completed_before, 1);
        if (hi < lo)
            hi = lo;
    }
    keys = malloc((hi - lo ? hi - lo : 1) * sizeof *keys);
    if (!keys) {
        sb_resp_error(resp, 500, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t p = lo; p < hi; p++) {
        const struct sb_report *r = &ds->reports[p];
        if (!by_completed && !f.include_incomplete && r->status != SB_ST_COMPLETED)
            continue;
        if (!in_range(r->started, f.started_after, f.started_before))
            continue;
        if (f.group_ids && !(ds->users[r->user].groups & f.group_mask))
            continue;
        keys[n++] = (uint64_t)r->user << 32 | (uint64_t)p;
    }
    qsort(keys, n, sizeof *keys, cmp_u64);

    struct out o = {&resp->body, 0};
    putf(&o, "{\"appliedFilters\":{\"includeIncompleteAssessments\":%s,\"groupIds\":",
         f.include_incomplete ? "true" : "false");
    if (f.group_ids)
        put(&o, json_object_to_json_string_ext(f.group_ids, JSON_C_TO_STRING_PLAIN));
    else
        put(&o, "null");
    put_filter_time(&o, "startedOnOrAfter", f.started_after);
    put_filter_time(&o, "startedOnOrBefore", f.started_before);
    put_filter_time(&o, "completedOnOrAfter", f.completed_after);
    put_filter_time(&o, "completedOnOrBefore", f.completed_before);
    put(&o, "},\"userScores\":[");
    render_user_groups(&o, ds, keys, n);
    put(&o, "]}");
    rc = finish(&o, resp);
out:
    free(keys);
    json_object_put(body);
    return rc;
}

static int h_score(const struct sb_dataset *ds, const struct sb_req *req, struct sb_resp *resp)
{
    json_object *body = parse_body(req, resp), *v;
    if (!body)
        return 0;
    long u = -1;
    int given = 0;
    if (json_object_object_get_ex(body, "uniqueIdentifier", &v) &&
        json_object_is_type(v, json_type_string)) {
        given = 1;
        u = sb_data_find_unique(ds, json_object_get_string(v));
    }
    if (u < 0 && json_object_object_get_ex(body, "userId", &v) &&
        json_object_is_type(v, json_type_string)) {
        given = 1;
        u = sb_data_find_user_id(ds, json_object_get_string(v));
    }
    json_object_put(body);
    if (!given) {
        sb_resp_error(resp, 400, "Either uniqueIdentifier or userId is required.");
        return 0;
    }
    if (u < 0) {
        resp->status = 204;
        return 0;
    }
    const struct sb_user *us = &ds->users[u];
    struct out o = {&resp->body, 0};
    render_user_head(&o, ds, (uint32_t)u);
    for (uint32_t i = 0; i < us->count; i++) {
        if (i)
            put(&o, ",");
        render_report(&o, ds, &ds->reports[ds->by_user[us->first + i]]);
    }
    put(&o, "]}");
    return finish(&o, resp);
}

/* 400 as an RFC 7807 problem detail, as the doc says for /assignments. */
static void problem(struct sb_resp *resp, const char *field, const char *msg)
{
    struct out o = {&resp->body, 0};
    buf_reset(&resp->body);
    put(&o, "{\"type\":\"https://tools.ietf.org/html/rfc7231#section-6.5.1\","
            "\"title\":\"One or more validation errors occurred.\",\"status\":400,"
            "\"errors\":{");
    put_str(&o, field);
    put(&o, ":[");
    put_str(&o, msg);
    put(&o, "]}}");
    resp->status = 400;
    resp->content_type = "application/problem+json; charset=utf-8";
}

static int h_assignments(const struct sb_dataset *ds, const struct sb_req *req,
                         struct sb_resp *resp)
{
    int64_t after, before;
    unsigned status_mask = 0;
    json_object *body = parse_body(req, resp), *v;
    if (!body)
        return 0;
    if (get_time(body, "assignedOnOrAfter", &after, resp) ||
        get_time(body, "assignedOnOrBefore", &before, resp))
        goto out;
    if (after == SB_NONE || before == SB_NONE) {
        problem(resp, after == SB_NONE ? "assignedOnOrAfter" : "assignedOnOrBefore",
                "The field is required.");
        goto out;
    }
    if (json_object_object_get_ex(body, "statuses", &v) && v) {
        if (!json_object_is_type(v, json_type_array)) {
            problem(resp, "statuses", "Expected an array of statuses.");
            goto out;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            const char *s = json_object_get_string(json_object_array_get_idx(v, i));
            if (s && strcmp(s, "NotStarted") == 0)
                status_mask |= 1u << SB_ST_NOT_STARTED;
            else if (s && strcmp(s, "InProgress") == 0)
                status_mask |= 1u << SB_ST_IN_PROGRESS;
            else if (s && strcmp(s, "Completed") == 0)
                status_mask |= 1u << SB_ST_COMPLETED;
            else {
                problem(resp, "statuses", "Valid values are NotStarted, InProgress and Completed.");
                goto out;
            }
        }
    }
    size_t lo = sb_data_assigned_bound(ds, after, 0);
    size_t hi = sb_data_assigned_bound(ds, before, 1);
    struct out o = {&resp->body, 0};
    put(&o, "{\"assignments\":[");
    int first = 1;
    for (size_t k = lo; k < hi && !o.failed; k++) {
        const struct sb_report *r = &ds->reports[ds->by_assigned[k]];
        if (status_mask && !(status_mask & (1u << r->status)))
            continue;
        char uid[37], id[37], uq[24];
        struct sb_user_names nm;
        sb_user_id(ds, r->user, uid);
        sb_user_names(ds, r->user, &nm);
        putf(&o, "%s{\"userId\":\"%s\"", first ? "" : ",", uid);
        first = 0;
        put_kv(&o, "uniqueIdentifier", sb_user_unique(ds, r->user, uq, sizeof uq) ? uq : NULL, 0);
        put_kv(&o, "email", nm.email[0] ? nm.email : NULL, 0);
        put_kv(&o, "username", nm.username, 0);
        put_kv(&o, "givenName", nm.given, 0);
        put_kv(&o, "surName", nm.surname, 0);
        put_kv(&o, "assessmentName", assessments[r->assessment].name, 0);
        if (r->bad != SB_BAD_NO_ID) {
            sb_report_id(ds, r->index, id);
            putf(&o, ",\"userAssessmentId\":\"%s\"", id);
        }
        put_kv(&o, "userAssessmentStatus", status_names[r->status], 0);
        put_ticks(&o, "assignedAt", r->assigned);
        put_ticks(&o, "expiresAt", r->assigned + 30 * 86400 * SB_TICKS_PER_SEC);
        put_ticks(&o, "startedAt", r->started);
        if (r->bad == SB_BAD_DATE)
            put(&o, ",\"completedAt\":\"31/13/2021 25:61\"}");
        else {
            put_ticks(&o, "completedAt", r->completed);
            put(&o, "}");
        }
    }
    put(&o, "]}");
    finish(&o, resp);
out:
    json_object_put(body);
    return 0;
}

static int emm_dispatch(const struct sb_req *req, struct sb_resp *resp)
{
    struct emm_state *st = req->state;
    const struct sb_dataset *ds = &st->ds[req->account_index];
    static const struct {
        const char *path, *method;
    } routes[] = {{"/assessments", "GET"},
                  {"/groups", "GET"},
                  {"/scores", "POST"},
                  {"/score", "POST"},
                  {"/assignments", "POST"}};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(req->path, routes[i].path) != 0)
            continue;
        if (strcmp(req->method, routes[i].method) != 0) {
            snprintf(resp->allow, sizeof resp->allow, "%s", routes[i].method);
            sb_resp_error(resp, 405, "Method Not Allowed");
            return 0;
        }
        switch (i) {
        case 0:
            return h_assessments(resp);
        case 1:
            return h_groups(ds, resp);
        case 2:
            return h_scores(ds, req, resp);
        case 3:
            return h_score(ds, req, resp);
        default:
            return h_assignments(ds, req, resp);
        }
    }
    sb_resp_error(resp, 404, "Not Found");
    return 0;
}

static int emm_handle(const struct sb_req *req, struct sb_resp *resp)
{
    struct emm_state *st = req->state;
    pthread_rwlock_rdlock(&st->lock);
    int rc = emm_dispatch(req, resp);
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

/* ---- admin ------------------------------------------------------------------ */

/* The vendor scores what was pending: ScorePending reports become Completed
 * with their generated score, keeping their completion time (as the real
 * API does), so a client that only follows completion dates misses them. */
static int emm_score_pending(struct emm_state *st, int account_index, struct sb_resp *resp)
{
    pthread_rwlock_wrlock(&st->lock);
    struct sb_dataset *ds = &st->ds[account_index];
    size_t n = 0;
    for (size_t p = 0; p < ds->nreports; p++) {
        if (ds->reports[p].status == SB_ST_SCORE_PENDING) {
            ds->reports[p].status = SB_ST_COMPLETED;
            n++;
        }
    }
    pthread_rwlock_unlock(&st->lock);
    struct out o = {&resp->body, 0};
    putf(&o, "{\"scored\":%zu}", n);
    return finish(&o, resp);
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void put_ids(struct out *o, const char *key, char (*ids)[37], size_t n)
{
    putf(o, ",\"%s\":[", key);
    for (size_t i = 0; i < n && !o->failed; i++)
        putf(o, "%s\"%s\"", i ? "," : "", ids[i]);
    put(o, "]");
}

/* What a full sync must end with: the Completed reports (all, good, bad). */
static int emm_expected(struct emm_state *st, int account_index, struct sb_resp *resp)
{
    const struct sb_dataset *ds = &st->ds[account_index];
    size_t n = 0, nbad = 0, users_completed = 0;
    for (size_t p = 0; p < ds->ncompleted; p++) {
        if (ds->reports[p].status == SB_ST_COMPLETED) {
            n++;
            nbad += ds->reports[p].bad != SB_BAD_NONE;
        }
    }
    char(*all)[37] = malloc((n ? n : 1) * sizeof *all);
    char(*good)[37] = malloc((n ? n : 1) * sizeof *good);
    char(*badv)[37] = malloc((nbad ? nbad : 1) * sizeof *badv);
    /* An unknown level label is loaded (with null ordinals and a note), not
     * quarantined: "loadable" is what a sync ends with as completed rows. */
    char(*load)[37] = malloc((n ? n : 1) * sizeof *load);
    unsigned char *seen = calloc(ds->nusers ? ds->nusers : 1, 1);
    if (!all || !good || !badv || !load || !seen) {
        free(all);
        free(load);
        free(good);
        free(badv);
        free(seen);
        sb_resp_error(resp, 500, "out of memory");
        return 0;
    }
    size_t i = 0, ig = 0, ib = 0, il = 0;
    for (size_t p = 0; p < ds->ncompleted; p++) {
        const struct sb_report *r = &ds->reports[p];
        if (!seen[r->user]) {
            seen[r->user] = 1;
            users_completed++;
        }
        if (r->status != SB_ST_COMPLETED)
            continue;
        sb_report_id(ds, r->index, all[i]);
        if (r->bad != SB_BAD_NONE)
            memcpy(badv[ib++], all[i], 37);
        else
            memcpy(good[ig++], all[i], 37);
        if (r->bad == SB_BAD_NONE || r->bad == SB_BAD_CEFR)
            memcpy(load[il++], all[i], 37);
        i++;
    }
    qsort(all, n, sizeof *all, cmp_id);
    qsort(good, ig, sizeof *good, cmp_id);
    qsort(badv, ib, sizeof *badv, cmp_id);
    qsort(load, il, sizeof *load, cmp_id);
    struct out o = {&resp->body, 0};
    putf(&o,
         "{\"completed\":%zu,\"completed_good\":%zu,\"completed_bad\":%zu,\"users\":%zu,"
         "\"users_total\":%zu,\"reports\":%zu",
         n, ig, ib, users_completed, ds->nusers, ds->nreports);
    put_ids(&o, "ids", all, n);
    put_ids(&o, "ids_good", good, ig);
    put_ids(&o, "bad_ids", badv, ib);
    put_ids(&o, "ids_loadable", load, il);
    put(&o, "}");
    free(all);
    free(load);
    free(good);
    free(badv);
    free(seen);
    return finish(&o, resp);
}

static int emm_admin(void *state, const char *what, int account_index, struct sb_resp *resp)
{
    struct emm_state *st = state;
    if (strcmp(what, "score-pending") == 0)
        return emm_score_pending(st, account_index, resp);
    if (strcmp(what, "expected") != 0) {
        sb_resp_error(resp, 404, "Not Found");
        return 0;
    }
    pthread_rwlock_rdlock(&st->lock);
    int rc = emm_expected(st, account_index, resp);
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------ */

static void emm_free(void *state)
{
    struct emm_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->naccounts; i++)
        sb_data_free(&st->ds[i]);
    pthread_rwlock_destroy(&st->lock);
    free(st->ds);
    free(st);
}

static int emm_init(const struct sb_init *in, void **state, struct ss_err *err)
{
    struct emm_state *st = calloc(1, sizeof *st);
    if (!st || !(st->ds = calloc(in->naccounts ? in->naccounts : 1, sizeof *st->ds))) {
        free(st);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    pthread_rwlock_init(&st->lock, NULL);
    for (size_t i = 0; i < in->naccounts; i++) {
        if (sb_data_generate(in->seed, in->accounts[i], in->reports, in->p_bad_record, &st->ds[i],
                             err) != 0) {
            emm_free(st);
            return err_prefix(err, "emmersion/%s", in->accounts[i]);
        }
        st->naccounts = i + 1;
        if (!in->quiet)
            log_info("sandbox: emmersion/%s: %zu score reports (%zu with a completed time), "
                     "%zu users",
                     in->accounts[i], st->ds[i].nreports, st->ds[i].ncompleted, st->ds[i].nusers);
    }
    *state = st;
    return 0;
}

const struct sb_vendor sb_emmersion_vendor = {
    .name = "emmersion",
    .version_prefix = "/emmersion/2020q3",
    .init = emm_init,
    .free_state = emm_free,
    .handle = emm_handle,
    .admin = emm_admin,
};
