/* sb_emm_family: the Emmersion/TrueNorth API family (see sb_emm_family.h).
 * Data comes from sb_data; this file parses filters and renders JSON in the
 * documented field order, with .NET-style timestamps. Time filters compare
 * at microsecond resolution, the finest a client can name without ambiguity
 * (see sb_data.h). */
#include "sb_emm_family.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../core/clock.h"
#include "../core/jsonw.h"
#include "../core/log.h"
#include "../core/timeparse.h"
#include "sb_data.h"

/* The version table: what each version of the API has. */
const struct emf_version emf_emmersion_2020q3 = {
    .vendor = "emmersion",
    .api = "2020q3",
    .salt = 0,
    .features =
        EMF_COMPLETED_FILTERS | EMF_ASSIGNMENTS | EMF_WRITING_RESPONSES | EMF_CERTIFICATE_URL,
};
/* 2020q1: started filters only, no /assignments, no writing responses or
 * certificates; its data is generated on first use, so a sandbox that only
 * serves Emmersion does not pay for it. */
const struct emf_version emf_truenorth_2020q1 = {
    .vendor = "truenorth",
    .api = "2020q1",
    .salt = 0x7a2020c1ULL,
    .features = EMF_LAZY_DATA,
};

struct emf_acct {
    struct sb_dataset ds;
    int ready;              /* ds generated */
    size_t ip_cursor;       /* by_started: no InProgress report before this */
    int64_t last_completed; /* ticks of the latest complete-in-progress */
    int hostile;            /* serve the hostile-input cases (admin "hostile") */
};

struct emf_state {
    const struct emf_version *v;
    uint64_t seed;
    long reports;
    double p_bad_record;
    int quiet;
    const char *const *accounts; /* borrowed from sb_init */
    size_t naccounts;
    struct emf_acct *acct; /* one per account */
    /* Requests read the data; lazy generation and the admin endpoints that
     * change it write. */
    pthread_rwlock_t lock;
};

static int by_start(const struct emf_version *v)
{
    return !(v->features & EMF_COMPLETED_FILTERS);
}

static const char *const json_ctype = "application/json; charset=utf-8";

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

static void put_ticks(struct jsonw *w, const char *key, int64_t t)
{
    char ts[48];
    if (t == SB_NONE) {
        jw_knull(w, key);
        return;
    }
    sb_fmt_ticks(t, ts, sizeof ts);
    jw_kstr(w, key, ts);
}

static void render_report(struct jsonw *w, const struct emf_version *v, const struct sb_dataset *ds,
                          const struct sb_report *r)
{
    char id[37], sub[37];
    int tn = r->assessment <= SB_AS_ES_SPEAKING;
    int done = r->status == SB_ST_COMPLETED;
    uint64_t h = sb_hash3(ds->key, 0x77, r->index);
    sb_report_id(ds, r->index, id);

    jw_open(w, '{');
    if (r->bad != SB_BAD_NO_ID)
        jw_kstr(w, "userAssessmentId", id);
    jw_kstr(w, "assessmentType", assessments[r->assessment].type);
    jw_kstr(w, "assessmentName", assessments[r->assessment].name);
    jw_kstr(w, "status", status_names[r->status]);
    put_ticks(w, "started", r->started);
    if (r->bad == SB_BAD_DATE)
        jw_kstr(w, "completed", "31/13/2021 25:61");
    else
        put_ticks(w, "completed", r->completed);
    if (r->started != SB_NONE && r->completed != SB_NONE) {
        char d[40];
        sb_fmt_duration(r->completed - r->started, d, sizeof d);
        jw_kstr(w, "duration", d);
    } else {
        jw_knull(w, "duration");
    }
    if (r->bad == SB_BAD_SCORE_TYPE)
        jw_kstr(w, "score", "eight");
    else if (done && tn)
        jw_krawf(w, "score", "%d.%d0", r->score / 10, r->score % 10);
    else if (done)
        jw_krawf(w, "score", "%d.00", r->score);
    else if (r->status == SB_ST_NEEDS_REVIEW)
        jw_knull(w, "score");
    else
        jw_kraw(w, "score", "0.0"); /* NotStarted and the like: 0.0, not a score */

    if (done && !tn) {
        const char *pl = r->score < 300   ? "Semester 1"
                         : r->score < 500 ? "Semester 2"
                         : r->score < 700 ? "Semester 3"
                                          : "Semester 4";
        jw_kstr(w, "placement", pl);
    } else {
        jw_knull(w, "placement");
    }
    static const char *const level_keys[] = {
        "proficiencyLevelDescription", "actflSpeakingLevel", "actflDescription",
        "cefrSpeakingLevel",           "cefrDescription",    "toeflSpeakingLevel",
        "ieltsSpeakingLevel",          "toeicSpeakingLevel",
    };
    if (done && tn) {
        const struct band *b = band_for(r->score);
        const char *vals[] = {
            b->prof,      b->actfl, b->actfl_desc, r->bad == SB_BAD_CEFR ? "B7" : b->cefr,
            b->cefr_desc, b->toefl, b->ielts,      b->toeic};
        for (size_t i = 0; i < sizeof level_keys / sizeof level_keys[0]; i++)
            jw_kstr(w, level_keys[i], vals[i]);
        size_t nd = 1 + h % 5, start = (h >> 4) % 5;
        jw_key(w, "diagnosticInfo");
        jw_open(w, '[');
        for (size_t i = 0; i < nd; i++)
            jw_str(w, diagnostics[(start + i) % 5]);
        jw_close(w, ']');
    } else {
        for (size_t i = 0; i < sizeof level_keys / sizeof level_keys[0]; i++)
            jw_knull(w, level_keys[i]);
        jw_kraw(w, "diagnosticInfo", "[]");
    }

    jw_key(w, "openResponses");
    jw_open(w, '[');
    if (done && (r->assessment == SB_AS_EN_SPEAKING || r->assessment == SB_AS_ES_SPEAKING)) {
        for (unsigned i = 0; i < 3; i++) {
            sb_uuid(ds->key, 0x80 + i, r->index, sub);
            jw_open(w, '{');
            jw_kstr(w, "question", speaking_questions[(h + i) % 4]);
            jw_krawf(w, "responseAudioUrl", "\"%s/response-audio/%s/%s\"", v->api, id, sub);
            jw_close(w, '}');
        }
    }
    jw_close(w, ']');
    if (v->features & EMF_WRITING_RESPONSES) {
        jw_key(w, "writingOpenResponses");
        jw_open(w, '[');
        if (done && r->assessment == SB_AS_EN_WRITING) {
            unsigned nw = 1 + (unsigned)((h >> 8) % 2);
            for (unsigned i = 0; i < nw; i++) {
                sb_uuid(ds->key, 0x90 + i, r->index, sub);
                jw_open(w, '{');
                jw_kstr(w, "question", writing_questions[i]);
                jw_krawf(w, "responseTextUrl", "\"%s/response-text/%s/item/%s\"", v->api, id, sub);
                jw_close(w, '}');
            }
        }
        jw_close(w, ']');
    }
    jw_key(w, "surveyItems");
    jw_open(w, '[');
    if (done && !tn) {
        char q[80], years[8];
        snprintf(q, sizeof q, "How many years have you been learning %s? (in years)",
                 r->assessment == SB_AS_EN_GRAMMAR ? "English" : "Spanish");
        snprintf(years, sizeof years, "%u", (unsigned)((h >> 24) % 12));
        const char *items[4][2] = {
            {"What is the highest level of education that you have completed?",
             survey_education[(h >> 12) % 4]},
            {"Please list any additional languages you speak", survey_languages[(h >> 16) % 4]},
            {"What is your native language?", survey_native[(h >> 20) % 5]},
            {q, years},
        };
        for (size_t i = 0; i < 4; i++) {
            jw_open(w, '{');
            jw_kstr(w, "question", items[i][0]);
            jw_kstr(w, "answer", items[i][1]);
            jw_close(w, '}');
        }
    }
    jw_close(w, ']');
    if (done && !tn) {
        /* Sub-scores roughly track the overall score. */
        static const char *const parts[] = {"reading", "grammar", "listening", "vocabulary"};
        jw_key(w, "subScores");
        jw_open(w, '{');
        for (unsigned i = 0; i < 4; i++) {
            unsigned total = (unsigned)((h >> (28 + 6 * i)) % 17);
            jw_key(w, parts[i]);
            jw_open(w, '{');
            jw_kint(w, "correct", total * r->score / 1000);
            jw_kint(w, "total", total);
            jw_close(w, '}');
        }
        jw_close(w, '}');
    } else {
        jw_knull(w, "subScores");
    }
    if (r->status == SB_ST_NOT_STARTED)
        jw_knull(w, "assessmentVersion");
    else
        jw_kstr(w, "assessmentVersion", !tn ? "A.20.01" : (h >> 60) % 2 ? "C.21.02" : "C.19.04");
    if (v->features & EMF_CERTIFICATE_URL) {
        if (done && tn)
            jw_krawf(w, "certificateUrl", "\"%s/certificate/%s\"", v->api, id);
        else
            jw_knull(w, "certificateUrl");
    }
    jw_close(w, '}');
}

/* Opens a user object and its scoreReports array. */
static void render_user_head(struct jsonw *w, const struct sb_dataset *ds, uint32_t u)
{
    char id[37], uq[24], sid[24];
    struct sb_user_names nm;
    sb_user_id(ds, u, id);
    sb_user_names(ds, u, &nm);
    jw_open(w, '{');
    jw_kstr(w, "userId", id);
    jw_kstr(w, "givenName", nm.given);
    jw_kstr(w, "surname", nm.surname);
    jw_kstr(w, "username", nm.username);
    jw_kstr(w, "email", nm.email[0] ? nm.email : NULL);
    jw_kstr(w, "studentId", sb_user_student(ds, u, sid, sizeof sid) ? sid : NULL);
    jw_kstr(w, "uniqueIdentifier", sb_user_unique(ds, u, uq, sizeof uq) ? uq : NULL);
    jw_key(w, "scoreReports");
    jw_open(w, '[');
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

static void put_filter_time(struct jsonw *w, const char *key, int64_t us)
{
    if (us == SB_NONE) {
        jw_knull(w, key);
        return;
    }
    /* .NET omits a zero fraction, as in the documented appliedFilters. */
    char ts[48];
    sb_fmt_ticks(us * SB_TICKS_PER_US, ts, sizeof ts);
    char *dot = strchr(ts, '.');
    if (dot && strncmp(dot, ".0000000", 8) == 0)
        memmove(dot, dot + 8, strlen(dot + 8) + 1);
    jw_kstr(w, key, ts);
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
static void render_user_groups(struct jsonw *w, const struct emf_version *v,
                               const struct sb_dataset *ds, const uint64_t *keys, size_t n)
{
    uint32_t cur = UINT32_MAX;
    for (size_t i = 0; i < n && !w->failed; i++) {
        uint32_t u = (uint32_t)(keys[i] >> 32), pos = (uint32_t)keys[i];
        if (u != cur) {
            if (cur != UINT32_MAX) {
                jw_close(w, ']');
                jw_close(w, '}');
            }
            render_user_head(w, ds, u);
            cur = u;
        }
        render_report(w, v, ds, &ds->reports[pos]);
    }
    if (cur != UINT32_MAX) {
        jw_close(w, ']');
        jw_close(w, '}');
    }
}

static int finish(struct jsonw *w, struct sb_resp *resp)
{
    if (w->failed) {
        buf_reset(&resp->body);
        sb_resp_error(resp, 500,
                      "The sandbox cannot build a response this large; narrow the date range.");
        return 0;
    }
    resp->status = 200;
    resp->content_type = json_ctype;
    return 0;
}

/* ---- endpoints ------------------------------------------------------------ */

static void put_named_ids(struct jsonw *w, const char *name, const char *id)
{
    jw_open(w, '{');
    jw_kstr(w, "name", name);
    jw_kstr(w, "assessmentId", id);
    jw_close(w, '}');
}

static int h_assessments(struct sb_resp *resp)
{
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_key(&w, "assessments");
    jw_open(&w, '[');
    for (int i = 0; i < SB_AS_COUNT; i++)
        put_named_ids(&w, assessments[i].name, assessments[i].id);
    for (size_t i = 0; i < sizeof extra_assessments / sizeof extra_assessments[0]; i++)
        put_named_ids(&w, extra_assessments[i].name, extra_assessments[i].id);
    jw_close(&w, ']');
    jw_close(&w, '}');
    return finish(&w, resp);
}

static int h_groups(const struct sb_dataset *ds, struct sb_resp *resp)
{
    struct jsonw w;
    char id[37];
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_key(&w, "groups");
    jw_open(&w, '[');
    for (int g = 0; g < SB_NGROUPS; g++) {
        sb_group_id(ds, g, id);
        jw_open(&w, '{');
        jw_kstr(&w, "name", sb_group_name(g));
        jw_kstr(&w, "groupId", id);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    return finish(&w, resp);
}

/* Parses the /scores filters this version knows; members it does not know
 * are ignored, as the real API ignores unknown members. -1 after a 400. */
static int parse_filters(const struct emf_version *ver, const struct sb_dataset *ds,
                         json_object *body, struct filters *f, struct sb_resp *resp)
{
    json_object *v;
    memset(f, 0, sizeof *f);
    f->completed_after = f->completed_before = SB_NONE;
    if (get_time(body, "startedOnOrAfter", &f->started_after, resp) ||
        get_time(body, "startedOnOrBefore", &f->started_before, resp))
        return -1;
    if ((ver->features & EMF_COMPLETED_FILTERS) &&
        (get_time(body, "completedOnOrAfter", &f->completed_after, resp) ||
         get_time(body, "completedOnOrBefore", &f->completed_before, resp)))
        return -1;
    if (json_object_object_get_ex(body, "includeIncompleteAssessments", &v) && v) {
        if (!json_object_is_type(v, json_type_boolean)) {
            sb_resp_error(resp, 400, "includeIncompleteAssessments: expected true or false");
            return -1;
        }
        f->include_incomplete = json_object_get_boolean(v);
    }
    if (json_object_object_get_ex(body, "groupIds", &v) && v) {
        if (!json_object_is_type(v, json_type_array)) {
            sb_resp_error(resp, 400, "groupIds: expected an array of group ids");
            return -1;
        }
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *g = json_object_array_get_idx(v, i);
            if (!json_object_is_type(g, json_type_string)) {
                sb_resp_error(resp, 400, "groupIds: expected an array of group ids");
                return -1;
            }
            char gid[37];
            for (int k = 0; k < SB_NGROUPS; k++) {
                sb_group_id(ds, k, gid);
                if (strcasecmp(gid, json_object_get_string(g)) == 0)
                    f->group_mask |= 1u << k;
            }
        }
        if (json_object_array_length(v) > 0)
            f->group_ids = v;
    }
    return 0;
}

static void hostile_users(struct jsonw *w, int64_t after, int64_t before, const char *account);

static int h_scores(const struct emf_version *ver, const struct sb_dataset *ds,
                    const struct sb_req *req, struct sb_resp *resp, int hostile)
{
    struct filters f;
    uint64_t *keys = NULL;
    int rc = 0;
    json_object *body = parse_body(req, resp);
    if (!body)
        return 0;
    if (parse_filters(ver, ds, body, &f, resp) != 0)
        goto out;

    /* Candidates: the completed filters pick a contiguous range of the
     * completed-sorted array and override includeIncompleteAssessments (as
     * documented); a started filter picks a range of by_started where there
     * is one; otherwise every report. */
    int by_completed = f.completed_after != SB_NONE || f.completed_before != SB_NONE;
    int by_started = !by_completed && ds->by_started &&
                     (f.started_after != SB_NONE || f.started_before != SB_NONE);
    size_t lo = 0, hi = ds->nreports;
    if (by_completed) {
        lo = f.completed_after == SB_NONE ? 0 : sb_data_completed_bound(ds, f.completed_after, 0);
        hi = f.completed_before == SB_NONE ? ds->ncompleted
                                           : sb_data_completed_bound(ds, f.completed_before, 1);
    } else if (by_started) {
        lo = f.started_after == SB_NONE ? 0 : sb_data_started_bound(ds, f.started_after, 0);
        hi = f.started_before == SB_NONE ? ds->nstarted
                                         : sb_data_started_bound(ds, f.started_before, 1);
    }
    if (hi < lo)
        hi = lo;
    keys = malloc((hi - lo ? hi - lo : 1) * sizeof *keys);
    if (!keys) {
        sb_resp_error(resp, 500, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t k = lo; k < hi; k++) {
        size_t p = by_started ? ds->by_started[k] : k;
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

    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_key(&w, "appliedFilters");
    jw_open(&w, '{');
    jw_kbool(&w, "includeIncompleteAssessments", f.include_incomplete);
    if (f.group_ids)
        jw_kraw(&w, "groupIds",
                json_object_to_json_string_ext(f.group_ids, JSON_C_TO_STRING_PLAIN));
    else
        jw_knull(&w, "groupIds");
    put_filter_time(&w, "startedOnOrAfter", f.started_after);
    put_filter_time(&w, "startedOnOrBefore", f.started_before);
    if (ver->features & EMF_COMPLETED_FILTERS) {
        put_filter_time(&w, "completedOnOrAfter", f.completed_after);
        put_filter_time(&w, "completedOnOrBefore", f.completed_before);
    }
    jw_close(&w, '}');
    jw_key(&w, "userScores");
    jw_open(&w, '[');
    render_user_groups(&w, ver, ds, keys, n);
    if (hostile && by_completed)
        hostile_users(&w, f.completed_after, f.completed_before, req->account);
    jw_close(&w, ']');
    jw_close(&w, '}');
    rc = finish(&w, resp);
out:
    free(keys);
    json_object_put(body);
    return rc;
}

static int h_score(const struct emf_version *ver, const struct sb_dataset *ds,
                   const struct sb_req *req, struct sb_resp *resp)
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
    struct jsonw w;
    jw_init(&w, &resp->body);
    render_user_head(&w, ds, (uint32_t)u);
    for (uint32_t i = 0; i < us->count; i++)
        render_report(&w, ver, ds, &ds->reports[ds->by_user[us->first + i]]);
    jw_close(&w, ']');
    jw_close(&w, '}');
    return finish(&w, resp);
}

/* 400 as an RFC 7807 problem detail, as the doc says for /assignments. */
static void problem(struct sb_resp *resp, const char *field, const char *msg)
{
    struct jsonw w;
    buf_reset(&resp->body);
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kstr(&w, "type", "https://tools.ietf.org/html/rfc7231#section-6.5.1");
    jw_kstr(&w, "title", "One or more validation errors occurred.");
    jw_kint(&w, "status", 400);
    jw_key(&w, "errors");
    jw_open(&w, '{');
    jw_key(&w, field);
    jw_open(&w, '[');
    jw_str(&w, msg);
    jw_close(&w, ']');
    jw_close(&w, '}');
    jw_close(&w, '}');
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
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_key(&w, "assignments");
    jw_open(&w, '[');
    for (size_t k = lo; k < hi && !w.failed; k++) {
        const struct sb_report *r = &ds->reports[ds->by_assigned[k]];
        if (status_mask && !(status_mask & (1u << r->status)))
            continue;
        char uid[37], id[37], uq[24];
        struct sb_user_names nm;
        sb_user_id(ds, r->user, uid);
        sb_user_names(ds, r->user, &nm);
        jw_open(&w, '{');
        jw_kstr(&w, "userId", uid);
        jw_kstr(&w, "uniqueIdentifier", sb_user_unique(ds, r->user, uq, sizeof uq) ? uq : NULL);
        jw_kstr(&w, "email", nm.email[0] ? nm.email : NULL);
        jw_kstr(&w, "username", nm.username);
        jw_kstr(&w, "givenName", nm.given);
        jw_kstr(&w, "surName", nm.surname);
        jw_kstr(&w, "assessmentName", assessments[r->assessment].name);
        if (r->bad != SB_BAD_NO_ID) {
            sb_report_id(ds, r->index, id);
            jw_kstr(&w, "userAssessmentId", id);
        }
        jw_kstr(&w, "userAssessmentStatus", status_names[r->status]);
        put_ticks(&w, "assignedAt", r->assigned);
        put_ticks(&w, "expiresAt", r->assigned + 30 * 86400 * SB_TICKS_PER_SEC);
        put_ticks(&w, "startedAt", r->started);
        if (r->bad == SB_BAD_DATE)
            jw_kstr(&w, "completedAt", "31/13/2021 25:61");
        else
            put_ticks(&w, "completedAt", r->completed);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    finish(&w, resp);
out:
    json_object_put(body);
    return 0;
}

/* ---- state and lazy data -------------------------------------------------- */

/* Generates an account's data if not done yet. Caller holds the write lock. */
static int acct_generate(struct emf_state *st, size_t ai, struct ss_err *err)
{
    struct emf_acct *a = &st->acct[ai];
    if (a->ready)
        return 0;
    const struct emf_version *v = st->v;
    uint64_t seed = v->salt ? sb_hash3(st->seed, v->salt, 0x5eed) : st->seed;
    if (sb_data_generate(seed, st->accounts[ai], st->reports, st->p_bad_record, &a->ds, err) != 0)
        return err_prefix(err, "%s/%s", v->vendor, st->accounts[ai]);
    if (by_start(v) && sb_data_index_started(&a->ds, err) != 0) {
        sb_data_free(&a->ds);
        return err_prefix(err, "%s/%s", v->vendor, st->accounts[ai]);
    }
    a->ready = 1;
    if (!st->quiet)
        log_info("sandbox: %s/%s: %zu score reports (%zu with a completed time, %zu started), "
                 "%zu users",
                 v->vendor, st->accounts[ai], a->ds.nreports, a->ds.ncompleted,
                 by_start(v) ? a->ds.nstarted : a->ds.ncompleted, a->ds.nusers);
    return 0;
}

/* Takes the read lock with the account's data ready; on failure answers 500
 * and returns -1 without the lock. */
static int read_acct(struct emf_state *st, int ai, struct sb_resp *resp)
{
    pthread_rwlock_rdlock(&st->lock);
    if (st->acct[ai].ready)
        return 0;
    pthread_rwlock_unlock(&st->lock);
    struct ss_err err;
    err_clear(&err);
    pthread_rwlock_wrlock(&st->lock);
    int rc = acct_generate(st, (size_t)ai, &err);
    pthread_rwlock_unlock(&st->lock);
    if (rc != 0) {
        log_error("sandbox: %s", err.msg);
        sb_resp_error(resp, 500, "The sandbox could not generate this account's data.");
        return -1;
    }
    /* Data, once generated, stays until emf_free(). */
    pthread_rwlock_rdlock(&st->lock);
    return 0;
}

static int dispatch(const struct emf_version *v, const struct sb_dataset *ds,
                    const struct sb_req *req, struct sb_resp *resp, int hostile)
{
    enum { R_ASSESSMENTS, R_GROUPS, R_SCORES, R_SCORE, R_ASSIGNMENTS };
    static const struct {
        const char *path, *method;
        unsigned needs; /* features the route needs */
    } routes[] = {
        [R_ASSESSMENTS] = {"/assessments", "GET", 0},
        [R_GROUPS] = {"/groups", "GET", 0},
        [R_SCORES] = {"/scores", "POST", 0},
        [R_SCORE] = {"/score", "POST", 0},
        [R_ASSIGNMENTS] = {"/assignments", "POST", EMF_ASSIGNMENTS},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(req->path, routes[i].path) != 0 || (routes[i].needs & ~v->features))
            continue;
        if (strcmp(req->method, routes[i].method) != 0) {
            snprintf(resp->allow, sizeof resp->allow, "%s", routes[i].method);
            sb_resp_error(resp, 405, "Method Not Allowed");
            return 0;
        }
        switch (i) {
        case R_ASSESSMENTS:
            return h_assessments(resp);
        case R_GROUPS:
            return h_groups(ds, resp);
        case R_SCORES:
            return h_scores(v, ds, req, resp, hostile);
        case R_SCORE:
            return h_score(v, ds, req, resp);
        default:
            return h_assignments(ds, req, resp);
        }
    }
    sb_resp_error(resp, 404, "Not Found");
    return 0;
}

int emf_handle(const struct sb_req *req, struct sb_resp *resp)
{
    struct emf_state *st = req->state;
    if (read_acct(st, req->account_index, resp) != 0)
        return 0;
    int rc = dispatch(st->v, &st->acct[req->account_index].ds, req, resp,
                      st->acct[req->account_index].hostile);
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

/* ---- admin ------------------------------------------------------------------ */

/* The vendor scores what was pending: ScorePending reports become Completed
 * with their generated score, keeping their completion time (as the real
 * API does), so a client that only follows completion dates misses them.
 * Caller holds the write lock. */
static int admin_score_pending(struct sb_dataset *ds, struct sb_resp *resp)
{
    size_t n = 0;
    for (size_t p = 0; p < ds->nreports; p++) {
        if (ds->reports[p].status == SB_ST_SCORE_PENDING) {
            ds->reports[p].status = SB_ST_COMPLETED;
            n++;
        }
    }
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kint(&w, "scored", (long long)n);
    jw_close(&w, '}');
    return finish(&w, resp);
}

/* The test takers finish the n oldest InProgress attempts (by started
 * time) now: Completed, with the score and levels their index derives. Their
 * start may lie months before a client's checkpoint. Caller holds the write
 * lock. */
static int admin_complete_in_progress(struct emf_acct *a, const struct sb_admin_req *req,
                                      struct sb_resp *resp)
{
    struct sb_dataset *ds = &a->ds;
    const char *ns = sb_param(&req->query, "n");
    long want = 1;
    if (ns) {
        char *end;
        want = strtol(ns, &end, 10);
        if (end == ns || *end || want < 1 || want > 1000000) {
            sb_resp_error(resp, 400, "n: expected a whole number from 1 to 1000000");
            return 0;
        }
    }
    /* "Now" is the wall clock, kept strictly increasing and after the start. */
    int64_t now = clock_wall_us() * SB_TICKS_PER_US;
    size_t *done = malloc((size_t)want * sizeof *done);
    if (!done) {
        sb_resp_error(resp, 500, "out of memory");
        return 0;
    }
    size_t k = 0, p = a->ip_cursor;
    for (; p < ds->nstarted && k < (size_t)want; p++) {
        size_t pos = ds->by_started[p];
        const struct sb_report *r = &ds->reports[pos];
        if (r->status != SB_ST_IN_PROGRESS)
            continue;
        int64_t t = now;
        if (t <= a->last_completed)
            t = a->last_completed + SB_TICKS_PER_US;
        if (t <= r->started)
            t = r->started + 60 * SB_TICKS_PER_SEC;
        a->last_completed = t;
        sb_data_complete(ds, pos, t);
        done[k++] = pos;
    }
    a->ip_cursor = p; /* nothing before p is InProgress any more */
    size_t left = 0;
    for (size_t q = p; q < ds->nstarted; q++)
        left += ds->reports[ds->by_started[q]].status == SB_ST_IN_PROGRESS;

    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kint(&w, "completed", (long long)k);
    jw_kint(&w, "in_progress_left", (long long)left);
    jw_key(&w, "reports");
    jw_open(&w, '[');
    for (size_t i = 0; i < k; i++) {
        const struct sb_report *r = &ds->reports[done[i]];
        char id[37], uid[37], uq[24];
        sb_report_id(ds, r->index, id);
        sb_user_id(ds, r->user, uid);
        jw_open(&w, '{');
        jw_kstr(&w, "userAssessmentId", id);
        jw_kstr(&w, "userId", uid);
        jw_kstr(&w, "uniqueIdentifier", sb_user_unique(ds, r->user, uq, sizeof uq) ? uq : NULL);
        jw_kstr(&w, "assessmentName", assessments[r->assessment].name);
        put_ticks(&w, "started", r->started);
        put_ticks(&w, "completed", r->completed);
        if (r->assessment <= SB_AS_ES_SPEAKING)
            jw_krawf(&w, "score", "%d.%d0", r->score / 10, r->score % 10);
        else
            jw_krawf(&w, "score", "%d.00", r->score);
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    free(done);
    return finish(&w, resp);
}

/* One report in the expected lists: its id and the lists it belongs to. */
struct exp_id {
    char id[37];
    uint8_t lists; /* bit per L_* */
};

enum { L_ALL, L_GOOD, L_BAD, L_LOAD, L_STARTED, L_INCOMPLETE, L_IN_PROGRESS };

static int cmp_exp_id(const void *a, const void *b)
{
    return strcmp(((const struct exp_id *)a)->id, ((const struct exp_id *)b)->id);
}

/* The ids of one list, in id order (the array is sorted once for all). */
static void put_ids(struct jsonw *w, const char *key, const struct exp_id *e, size_t n, int list)
{
    jw_key(w, key);
    jw_open(w, '[');
    for (size_t i = 0; i < n && !w->failed; i++)
        if (e[i].lists & (1u << list))
            jw_str(w, e[i].id);
    jw_close(w, ']');
}

/* What a full sync must end with. Completed reports (all, good, bad,
 * loadable) as ever; "users" are those a full sync meets: with a completed
 * time where windows go by completion, with a start where they go by start.
 * Start-date versions add the unfinished attempts a sync with
 * includeIncompleteAssessments loads. Caller holds the read lock. */
static int admin_expected(const struct emf_version *v, const struct sb_dataset *ds,
                          struct sb_resp *resp)
{
    int start = by_start(v);
    size_t nstatus[SB_ST_NEEDS_REVIEW + 1] = {0}, count[L_IN_PROGRESS + 1] = {0};
    size_t users_seen = 0, n = 0;
    unsigned char *seen = calloc(ds->nusers ? ds->nusers : 1, 1);
    struct exp_id *e = malloc((ds->nreports ? ds->nreports : 1) * sizeof *e);
    if (!seen || !e) {
        sb_resp_error(resp, 500, "out of memory");
        goto out;
    }
    for (size_t p = 0; p < ds->nreports; p++) {
        const struct sb_report *r = &ds->reports[p];
        unsigned lists = 0;
        nstatus[r->status]++;
        int met = start ? r->started != SB_NONE : r->completed != SB_NONE;
        if (met && !seen[r->user]) {
            seen[r->user] = 1;
            users_seen++;
        }
        if (start && r->started != SB_NONE) {
            lists |= 1u << L_STARTED;
            if (r->status != SB_ST_COMPLETED)
                lists |= 1u << L_INCOMPLETE;
            if (r->status == SB_ST_IN_PROGRESS)
                lists |= 1u << L_IN_PROGRESS;
        }
        if (r->status == SB_ST_COMPLETED) {
            lists |= 1u << L_ALL;
            lists |= 1u << (r->bad != SB_BAD_NONE ? L_BAD : L_GOOD);
            /* An unknown level label is loaded (with null ordinals and a
             * note), not quarantined: "loadable" is what a sync ends with as
             * completed rows. */
            if (r->bad == SB_BAD_NONE || r->bad == SB_BAD_CEFR)
                lists |= 1u << L_LOAD;
        }
        if (!lists)
            continue;
        for (int l = 0; l <= L_IN_PROGRESS; l++)
            count[l] += (lists >> l) & 1;
        sb_report_id(ds, r->index, e[n].id);
        e[n++].lists = (uint8_t)lists;
    }
    qsort(e, n, sizeof *e, cmp_exp_id);
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_kint(&w, "completed", (long long)count[L_ALL]);
    jw_kint(&w, "completed_good", (long long)count[L_GOOD]);
    jw_kint(&w, "completed_bad", (long long)count[L_BAD]);
    jw_kint(&w, "users", (long long)users_seen);
    jw_kint(&w, "users_total", (long long)ds->nusers);
    jw_kint(&w, "reports", (long long)ds->nreports);
    put_ids(&w, "ids", e, n, L_ALL);
    put_ids(&w, "ids_good", e, n, L_GOOD);
    put_ids(&w, "bad_ids", e, n, L_BAD);
    put_ids(&w, "ids_loadable", e, n, L_LOAD);
    if (start) {
        jw_kint(&w, "started", (long long)count[L_STARTED]);
        jw_kint(&w, "incomplete", (long long)count[L_INCOMPLETE]);
        jw_kint(&w, "not_started", (long long)nstatus[SB_ST_NOT_STARTED]);
        jw_key(&w, "statuses");
        jw_open(&w, '{');
        for (int st = 0; st <= SB_ST_NEEDS_REVIEW; st++)
            jw_kint(&w, status_names[st], (long long)nstatus[st]);
        jw_close(&w, '}');
        put_ids(&w, "ids_started", e, n, L_STARTED);
        put_ids(&w, "ids_incomplete", e, n, L_INCOMPLETE);
        put_ids(&w, "ids_in_progress", e, n, L_IN_PROGRESS);
    }
    jw_close(&w, '}');
    finish(&w, resp);
out:
    free(e);
    free(seen);
    return 0;
}

static int admin_hostile(struct emf_acct *a, struct sb_resp *resp);

int emf_admin(void *state, const struct sb_admin_req *req, struct sb_resp *resp)
{
    struct emf_state *st = state;
    int ai = req->account_index;
    int write = strcmp(req->what, "score-pending") == 0 || strcmp(req->what, "hostile") == 0 ||
                (by_start(st->v) && strcmp(req->what, "complete-in-progress") == 0);
    if (!write && strcmp(req->what, "expected") != 0) {
        sb_resp_error(resp, 404, "Not Found");
        return 0;
    }
    if (read_acct(st, ai, resp) != 0)
        return 0;
    if (!write) {
        int rc = admin_expected(st->v, &st->acct[ai].ds, resp);
        pthread_rwlock_unlock(&st->lock);
        return rc;
    }
    /* The data is ready and stays so: swap the read lock for the write lock. */
    pthread_rwlock_unlock(&st->lock);
    pthread_rwlock_wrlock(&st->lock);
    int rc = strcmp(req->what, "hostile") == 0 ? admin_hostile(&st->acct[ai], resp)
             : strcmp(req->what, "score-pending") == 0
                 ? admin_score_pending(&st->acct[ai].ds, resp)
                 : admin_complete_in_progress(&st->acct[ai], req, resp);
    pthread_rwlock_unlock(&st->lock);
    return rc;
}

/* ---- hostile input -----------------------------------------------------
 * /_sandbox/<vendor>/hostile?account=A turns the account's hostile mode on:
 * each case below is then served in POST /scores (completed-date windows)
 * as one good user with three good reports plus the case's crafted
 * record(s), all completed at noon UTC of its own day (20 days ago + the
 * case's index), so a window that reads one case reads its good reports in
 * the same response. Every crafted object carries "note":
 * "hostile-case:<name>" first, so a client's quarantine rows can be traced
 * back. The admin call answers the cases: name, completion time, the good
 * report ids and how many quarantine rows a client should write. */

#define HOSTILE_BIG   3000  /* an id longer than any btree entry holds */
#define HOSTILE_EMAIL 10240 /* a 10 KB e-mail */

static const struct hostile_case {
    const char *name;
    int bad; /* quarantine rows a careful client writes */
} hostile_cases[] = {
    {"long_report_id", 1},     {"long_user_id", 2}, {"long_email", 2},     {"year0", 1},
    {"year0_utc", 1},          {"bad_utf8_ids", 2}, {"nul_report_ids", 2}, {"nul_user_ids", 2},
    {"lone_surrogate_ids", 2}, {"deep", 1},         {"dup_report", 1},     {"dup_two_users", 1},
    {"big_number", 0},         {"newline_id", 0},   {"key_echo", 0},
};
#define N_HOSTILE (sizeof hostile_cases / sizeof hostile_cases[0])

static int64_t hostile_time(size_t i)
{
    int64_t day = 86400LL * 1000000LL;
    int64_t today = (int64_t)time(NULL) * 1000000LL / day * day;
    return today - 20 * day + (int64_t)i * day + day / 2;
}

/* One report object; extra is more members ("" or ",\"k\":v"). */
static void hostile_report(struct buf *o, const char *name, const char *id, const char *started,
                           const char *completed, const char *extra, int bad)
{
    struct ss_err e = {0};
    int rc = buf_appendf(o, &e,
                         "{%s%s%s\"userAssessmentId\":\"%s\",\"assessmentType\":\"TrueNorth\","
                         "\"assessmentName\":\"English Speaking\",\"status\":\"Completed\","
                         "\"started\":\"%s\",\"completed\":\"%s\",\"score\":7.5%s}",
                         bad ? "\"note\":\"hostile-case:" : "", bad ? name : "", bad ? "\"," : "",
                         id, started, completed, extra);
    (void)rc; /* a failed append leaves the body short: the client sees a bad response */
}

static void hostile_user(struct buf *o, const char *name, const char *uid, const char *email,
                         int bad)
{
    struct ss_err e = {0};
    int rc = buf_appendf(o, &e,
                         "{%s%s%s\"userId\":\"%s\",\"givenName\":\"Hostile\","
                         "\"surname\":\"%s\",\"email\":\"%s\",\"scoreReports\":[",
                         bad ? "\"note\":\"hostile-case:" : "", bad ? name : "", bad ? "\"," : "",
                         uid, name, email);
    (void)rc;
}

static void hostile_append(struct buf *o, const char *s)
{
    struct ss_err e = {0};
    if (buf_append(o, s, strlen(s), &e) != 0)
        return;
}

/* Writes case i's user elements into w's open userScores array. */
static void hostile_write(struct jsonw *w, size_t i, const char *account)
{
    const char *name = hostile_cases[i].name;
    char started[48], completed[48], id[160], uid[160], mail[160];
    int64_t t = hostile_time(i);
    ts_format(t - 600LL * 1000000LL, started, sizeof started);
    ts_format(t, completed, sizeof completed);
    char *big = malloc(HOSTILE_EMAIL + 32);
    if (!big)
        return;
    struct buf o;
    buf_init(&o, 0);

    /* The good user: three good reports (big_number, newline_id and key_echo
     * put their payload in the third). */
    snprintf(uid, sizeof uid, "hg-%s", name);
    snprintf(mail, sizeof mail, "good-%s@example.com", name);
    hostile_user(&o, name, uid, mail, 0);
    for (int k = 1; k <= 3; k++) {
        char extra[200] = "";
        snprintf(id, sizeof id, "hostile-%s-good-%d", name, k);
        if (k == 3 && strcmp(name, "big_number") == 0)
            snprintf(extra, sizeof extra, ",\"big\":18446744073709551616,\"tiny\":1e-400");
        if (k == 3 && strcmp(name, "newline_id") == 0)
            snprintf(id, sizeof id, "hostile-%s-good-3\\n2020-01-01T00:00:00Z ERROR forged", name);
        if (k == 3 && strcmp(name, "key_echo") == 0)
            snprintf(extra, sizeof extra, ",\"echo\":\"Authorization: Bearer sandbox-%.60s\"",
                     account);
        hostile_report(&o, name, id, started, completed, extra, 0);
        hostile_append(&o, k < 3 ? "," : "]}");
    }
    jw_raw(w, o.data);
    buf_reset(&o);

    /* The crafted record(s). */
    snprintf(uid, sizeof uid, "hb-%s", name);
    snprintf(id, sizeof id, "hb-%s-1", name);
    if (strcmp(name, "long_report_id") == 0) {
        memset(big, 'L', HOSTILE_BIG);
        big[HOSTILE_BIG] = '\0';
        hostile_user(&o, name, uid, "", 0);
        hostile_report(&o, name, big, started, completed, "", 1);
        hostile_append(&o, "]}");
    } else if (strcmp(name, "long_user_id") == 0) {
        memset(big, 'U', HOSTILE_BIG);
        big[HOSTILE_BIG] = '\0';
        hostile_user(&o, name, big, "", 1);
        hostile_report(&o, name, id, started, completed, "", 1);
        hostile_append(&o, "]}");
    } else if (strcmp(name, "long_email") == 0) {
        memset(big, 'e', HOSTILE_EMAIL);
        memcpy(big + HOSTILE_EMAIL - 12, "@example.com", 13);
        hostile_user(&o, name, uid, big, 1);
        hostile_report(&o, name, id, started, completed, "", 1);
        hostile_append(&o, "]}");
    } else if (strcmp(name, "year0") == 0 || strcmp(name, "year0_utc") == 0) {
        int utc = strcmp(name, "year0_utc") == 0;
        hostile_user(&o, name, uid, "", 0);
        hostile_report(&o, name, id, utc ? "0001-01-01T00:00:00+14:00" : started,
                       utc ? completed : "0000-01-01T00:00:00Z", "", 1);
        hostile_append(&o, "]}");
    } else if (strcmp(name, "bad_utf8_ids") == 0 || strcmp(name, "nul_report_ids") == 0 ||
               strcmp(name, "lone_surrogate_ids") == 0 || strcmp(name, "dup_report") == 0) {
        /* Two ids that differ only in what a careless reader loses. */
        const char *a = "-\xff", *b = "-\xfe";
        if (name[0] == 'n')
            a = "-\\u0000a", b = "-\\u0000b";
        else if (name[0] == 'l')
            a = "-\\ud800", b = "-\\udbff";
        else if (name[0] == 'd')
            a = b = "";
        hostile_user(&o, name, uid, "", 0);
        snprintf(id, sizeof id, "hb-%s%s", name, a);
        hostile_report(&o, name, id, started, completed, "", 1);
        hostile_append(&o, ",");
        snprintf(id, sizeof id, "hb-%s%s", name, b);
        hostile_report(&o, name, id, started, completed, name[0] == 'd' ? ",\"x\":2" : "", 1);
        hostile_append(&o, "]}");
    } else if (strcmp(name, "nul_user_ids") == 0 || strcmp(name, "dup_two_users") == 0) {
        int nul = name[0] == 'n';
        for (int k = 0; k < 2; k++) {
            snprintf(uid, sizeof uid, "hb-%s%s%c", name, nul ? "\\u0000" : "-", 'a' + k);
            if (nul)
                snprintf(id, sizeof id, "hb-%s-%c", name, 'a' + k);
            hostile_user(&o, name, uid, "", 1);
            hostile_report(&o, name, id, started, completed, "", 1);
            hostile_append(&o, "]}");
            jw_raw(w, o.data);
            buf_reset(&o);
        }
    } else if (strcmp(name, "deep") == 0) {
        /* Valid JSON, nested deeper than a client's per-record limit (64). */
        hostile_append(&o, "{\"note\":\"hostile-case:deep\",\"userId\":\"hb-deep\",\"x\":");
        for (int k = 0; k < 70; k++)
            hostile_append(&o, "[");
        for (int k = 0; k < 70; k++)
            hostile_append(&o, "]");
        hostile_append(&o, ",\"scoreReports\":[]}");
    }
    if (o.len > 0)
        jw_raw(w, o.data);
    buf_free(&o);
    free(big);
}

/* The cases that fall in [after, before] (SB_NONE = open). */
static void hostile_users(struct jsonw *w, int64_t after, int64_t before, const char *account)
{
    for (size_t i = 0; i < N_HOSTILE; i++) {
        int64_t t = hostile_time(i);
        if ((after == SB_NONE || t >= after) && (before == SB_NONE || t <= before))
            hostile_write(w, i, account);
    }
}

static int admin_hostile(struct emf_acct *a, struct sb_resp *resp)
{
    a->hostile = 1;
    struct jsonw w;
    jw_init(&w, &resp->body);
    jw_open(&w, '{');
    jw_key(&w, "cases");
    jw_open(&w, '[');
    for (size_t i = 0; i < N_HOSTILE; i++) {
        char t[48], id[160];
        ts_format(hostile_time(i), t, sizeof t);
        jw_open(&w, '{');
        jw_kstr(&w, "name", hostile_cases[i].name);
        jw_kstr(&w, "completed", t);
        jw_kint(&w, "bad", hostile_cases[i].bad);
        jw_key(&w, "good");
        jw_open(&w, '[');
        for (int k = 1; k <= 3; k++) {
            snprintf(id, sizeof id, "hostile-%s-good-%d", hostile_cases[i].name, k);
            if (k == 3 && strcmp(hostile_cases[i].name, "newline_id") == 0)
                snprintf(id, sizeof id,
                         "hostile-newline_id-good-3\n2020-01-01T00:00:00Z ERROR forged");
            jw_str(&w, id);
        }
        jw_close(&w, ']');
        jw_close(&w, '}');
    }
    jw_close(&w, ']');
    jw_close(&w, '}');
    return finish(&w, resp);
}

/* ---- lifecycle ------------------------------------------------------------ */

void emf_free(void *state)
{
    struct emf_state *st = state;
    if (!st)
        return;
    for (size_t i = 0; i < st->naccounts; i++)
        sb_data_free(&st->acct[i].ds);
    pthread_rwlock_destroy(&st->lock);
    free(st->acct);
    free(st);
}

int emf_init(const struct emf_version *v, const struct sb_init *in, void **state,
             struct ss_err *err)
{
    if (in->reports < 0 || in->reports > 50000000L)
        return err_set(err, SS_EINVAL, "%s: reports must be 0..50000000, not %ld", v->vendor,
                       in->reports);
    struct emf_state *st = calloc(1, sizeof *st);
    if (!st || !(st->acct = calloc(in->naccounts ? in->naccounts : 1, sizeof *st->acct))) {
        free(st);
        return err_set(err, SS_ENOMEM, "out of memory");
    }
    if (pthread_rwlock_init(&st->lock, NULL) != 0) {
        free(st->acct);
        free(st);
        return err_set(err, SS_ENOMEM, "cannot create a lock");
    }
    st->v = v;
    st->seed = in->seed;
    st->reports = in->reports;
    st->p_bad_record = in->p_bad_record;
    st->quiet = in->quiet;
    st->accounts = in->accounts;
    st->naccounts = in->naccounts;
    for (size_t i = 0; i < in->naccounts && !(v->features & EMF_LAZY_DATA); i++) {
        if (acct_generate(st, i, err) != 0) {
            emf_free(st);
            return -1;
        }
    }
    *state = st;
    return 0;
}
