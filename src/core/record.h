/* record: the normalised form every vendor parser produces and the loader
 * consumes. Data flows one way: HTTP bytes -> vendor parser (fills the
 * vendor's own labels) -> norm_result() (fills ordinals, canonical status,
 * scale) -> loader batch -> PostgreSQL.
 *
 * Ownership: every char * in these structs is heap memory owned by the struct
 * that holds it (strdup'd), except fields documented "static". A batch owns
 * its records; batch_free()/batch_reset() release everything. */
#ifndef SS_RECORD_H
#define SS_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "err.h"

/* An ordinal level range (CEFR or ACTFL): ranks from config/scales.yaml,
 * 0 = absent or not recognised. low == high for a single level. */
struct ss_level {
    char *label;   /* the vendor's label, verbatim; NULL if none */
    int low, high; /* ordinal ranks */
    char *rule;    /* how it was derived when not reported directly, else NULL */
};

/* A numeric band kept as the vendor's low/high ("25-27", "7 - 7.5"). */
struct ss_band {
    char *label;      /* verbatim; NULL if none */
    double low, high; /* NAN when absent or unparseable */
};

struct ss_subscore {
    char *name;   /* "reading" */
    double value; /* e.g. correct items; NAN if absent */
    double max;   /* e.g. total items; NAN if absent */
};

struct ss_candidate {
    char *vendor_key; /* the vendor's own id (a user id, an e-mail) */
    char *email;
    char *given_name;
    char *family_name;
    char *username;
    char *student_id;
    char *unique_identifier;
    char *raw_json; /* the vendor's user object without nested results */
};

struct ss_result {
    char *vendor_key;    /* the vendor's id of this attempt (userAssessmentId) */
    char *candidate_key; /* ss_candidate.vendor_key of its candidate */
    char *stream;        /* which stream produced it ("scores", "assignments") */
    char *assessment_name;
    char *assessment_type; /* the vendor's test family or name */
    char *assessment_version;
    char *status_label; /* the vendor's status text */
    const char *status; /* canonical, static: set by norm_result() */
    int64_t assigned_at, started_at, completed_at, expires_at; /* TS_NULL if none */
    int64_t duration_us;                                       /* TS_NULL if none */

    int has_score;
    double score;            /* raw value as the vendor sent it */
    char *score_label;       /* the raw score text where the vendor sends text ("ESTJ") */
    const char *score_scale; /* static name from scales.yaml, NULL if unknown */
    double scale_min, scale_max, score_pct; /* NAN when unknown / not linear */
    char *placement;                        /* WebCAPE account-specific placement label */

    struct ss_level cefr;
    struct ss_level actfl;
    struct ss_band toefl, ielts, toeic;

    struct ss_subscore *subscores;
    size_t n_subscores;

    char *skill; /* "speaking", "writing", "reading", "listening"; NULL = overall/unknown */
    int passed;  /* 1 pass, 0 fail, -1 no pass mark known (set by norm_result) */
    const char *pass_rule; /* static/scales-owned: which pass mark decided it, or NULL */

    char *certificate_url;
    char *raw_json;   /* the vendor's record, compact JSON text */
    char *norm_notes; /* unknown labels etc., "; "-separated; NULL if none */
};

/* A record that could not be loaded, with why. */
struct ss_quarantine {
    char *record_key; /* vendor id if known, else a locator ("userScores[3]") */
    char *field;      /* offending field, or NULL for the whole record */
    char *reason;
    char *raw; /* raw text as received (may be invalid JSON); NULL if none */
};

/* A test of the vendor's catalogue ("GET tests", "GetTests"): one row of
 * `assessments`, whether or not a result uses it yet. */
struct ss_assessment {
    char *vendor_key; /* the vendor's id of the test (its name where it has none) */
    char *name;
    char *assessment_type; /* product family or kind, NULL if none */
    char *raw_json;        /* the vendor's catalogue entry, compact JSON */
};

/* A group of results the vendor reports together with an overall score and
 * level (an overall result over a reading & listening, a speaking and a
 * writing test). */
struct ss_group {
    char *vendor_key;    /* the vendor's id of the group (an overall id) */
    char *candidate_key; /* ss_candidate.vendor_key of its candidate */
    int has_score;
    double score;                      /* overall score as the vendor sent it; NAN if none */
    char *score_label;                 /* the score as text where the vendor sends text */
    struct ss_level cefr;              /* label verbatim; ranks filled by the sink */
    char *level_name;                  /* the vendor's own level name ("Advance Low") */
    int64_t assigned_at, completed_at; /* TS_NULL if none */
    char **member_keys;                /* ss_result.vendor_key of the results it groups */
    size_t n_members;
    char *raw_json; /* the vendor's group object, compact JSON */
};

struct ss_batch {
    struct ss_candidate *cand;
    size_t n_cand, cap_cand;
    struct ss_result *res;
    size_t n_res, cap_res;
    struct ss_quarantine *quar;
    size_t n_quar, cap_quar;
    struct ss_assessment *assess; /* the vendor's test catalogue */
    size_t n_assess, cap_assess;
    struct ss_group *groups; /* grouped (overall) results */
    size_t n_groups, cap_groups;
    /* Set by extractors of streams that carry less than the main one
     * (a list of assignments beside the scores): their rows are inserted when new
     * but never overwrite a candidate, or a result another stream loaded. */
    int supplementary;
};

void batch_init(struct ss_batch *b);
/* Returns a zeroed slot inside the batch (timestamps set to TS_NULL, bands
 * and percentages to NAN); the batch owns it. NULL on out of memory. */
struct ss_candidate *batch_add_candidate(struct ss_batch *b);
struct ss_result *batch_add_result(struct ss_batch *b);
/* Zeroed slots owned by the batch (a group's times TS_NULL, score NAN). */
struct ss_assessment *batch_add_assessment(struct ss_batch *b);
struct ss_group *batch_add_group(struct ss_batch *b);
/* Appends a copy of key to g's members; -1 on out of memory. */
int group_add_member(struct ss_group *g, const char *key) SS_MUSTCHECK;
void assessment_clear(struct ss_assessment *a);
void group_clear(struct ss_group *g);
/* Gives r the same empty state as a batch_add_result() slot (TS_NULL times,
 * NAN scores and bands, passed -1), for a result that lives outside a batch.
 * Owns nothing yet; release what a parser put in it with result_clear(). */
void result_init(struct ss_result *r);
/* Copies all strings. */
int batch_add_quarantine(struct ss_batch *b, const char *key, const char *field, const char *reason,
                         const char *raw, struct ss_err *err) SS_MUSTCHECK;
/* Drops the last result added (after a parse failure mid-record). */
void batch_drop_last_result(struct ss_batch *b);
void batch_drop_last_candidate(struct ss_batch *b);
/* Appends to r->norm_notes ("; "-separated). */
void result_add_note(struct ss_result *r, const char *fmt, ...) SS_PRINTF(2, 3);
struct ss_subscore *result_add_subscore(struct ss_result *r);
void result_clear(struct ss_result *r);
void candidate_clear(struct ss_candidate *c);
void batch_reset(struct ss_batch *b); /* frees contents, keeps arrays */
void batch_free(struct ss_batch *b);

/* strdup that accepts NULL. */
char *ss_strdup(const char *s);

#endif
