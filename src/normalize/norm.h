/* norm: mapping vendor labels and scores onto one schema, driven by the
 * tables in config/scales.yaml (loaded at run time, so an operator can change
 * them without a rebuild). Pure functions: no network, no database.
 *
 * Ownership: scales_load() -> scales_free(). Strings returned by lookups
 * (canonical status, scale names, level codes) point into the scales object
 * and live as long as it does. */
#ifndef SS_NORM_H
#define SS_NORM_H

#include "../core/err.h"
#include "../core/record.h"

struct scales;

int scales_load(const char *path, struct scales **out, struct ss_err *err) SS_MUSTCHECK;
int scales_load_string(const char *yaml, const char *name, struct scales **out,
                       struct ss_err *err) SS_MUSTCHECK;
void scales_free(struct scales *s);
/* A short digest of the tables' content, stored with every result so a
 * change of mapping is visible and `renormalize` knows what is stale. */
const char *scales_version(const struct scales *s);

/* Canonical statuses: not_started, in_progress, score_pending, completed,
 * needs_review, expired, unknown. Returns the canonical name for a vendor's
 * status label ("unknown" if the label is not mapped). */
const char *norm_status(const struct scales *s, const char *vendor, const char *label);

/* "B2", "B2+", "Pre A1", "B2-C1", "B2 - C1" -> ranks. Returns 0 and sets
 * lo/hi, or -1 if any part is not a known level. */
int norm_cefr(const struct scales *s, const char *label, int *lo, int *hi);
/* "Advanced Mid", "Advanced Mid - Advanced High" -> ranks; -1 if unknown. */
int norm_actfl(const struct scales *s, const char *label, int *lo, int *hi);
/* "25-27", "7 - 7.5", "170-180", "6.5" -> numbers; -1 if not a number band. */
int norm_band(const char *label, double *lo, double *hi);
/* Code/label for a rank ("B2+"); NULL for an unknown rank. */
const char *norm_cefr_code(const struct scales *s, int rank);
const char *norm_actfl_code(const struct scales *s, int rank);

struct score_scale {
    const char *name; /* "truenorth", "webcape", ... */
    double min, max;
    int linear; /* a percentage is meaningful */
};
/* The scale of a vendor's assessment type ("emmersion", "WebCAPE"). -1 if none. */
int norm_score_scale(const struct scales *s, const char *vendor, const char *assessment_type,
                     struct score_scale *out);

/* Fills r->status, cefr/actfl ranks, band numbers, score scale and
 * percentage from the labels the vendor parser left in r. Never fails on an
 * unknown label: the rank stays 0 and a note is added to r->norm_notes.
 * A score on a result whose canonical status is not "completed" is dropped
 * (Emmersion's NotStarted "score": 0.0 is no score). */
void norm_result(const struct scales *s, const char *vendor, struct ss_result *r);

/* ---- reference tables and explain (issue: one scale for every result) ---- */

/* Hands every row of every mapping table to cb, as text values in the column
 * order of the matching SQL reference table (sql/002_reference.sql):
 *   "ref_cefr_levels"     code, label, rank
 *   "ref_actfl_levels"    label, rank
 *   "ref_actfl_cefr"      skill_group (receptive|productive), actfl_label, actfl_rank,
 *                         cefr_sublevel ("B2.2", "0"), cefr_code (NULL for "0"), cefr_rank (NULL)
 *   "ref_test_cefr"       test (toefl_ibt|ielts|toeic), skill (reading|listening|speaking|
 *                         writing|total|overall), cefr_code, cefr_rank, min_score, max_score (NULL
 * = open) "ref_cepa_levels"     min_score, max_score, cefr_code, cefr_rank, level_name
 *   "ref_status_map"      vendor, vendor_status, status
 *   "ref_score_scales"    vendor, assessment_type, scale, min, max, linear (true|false)
 *   "ref_pass_marks"      vendor, assessment_type, pass_mark, valid_from (NULL = always),
 * valid_until "ref_sources"         table_name, source (the publication it comes from) NULL entries
 * are SQL NULL. cb returns 0 to go on, non-zero to stop (returned). */
typedef int (*scales_row_fn)(void *arg, const char *table, const char *const *values, int n);
int scales_export(const struct scales *s, scales_row_fn cb, void *arg);

/* What `scoresync explain` prints: how one label or score normalises. Text
 * fields point into the scales or into the struct's own buffers; valid until
 * the next call with the same struct. */
struct norm_explain {
    int known;               /* 0: the value is not in the tables (exit non-zero) */
    char message[256];       /* why not, or a note ("IELTS maps only the overall band") */
    const char *scale;       /* echo of the scale */
    int cefr_low, cefr_high; /* ranks, 0 = none */
    int actfl_low, actfl_high;
    double low, high;     /* numeric band or score, NAN if none */
    double pct;           /* NAN if not linear */
    const char *category; /* categorical label (placement, personality type) or NULL */
    char rule[256];       /* which table/row decided it */
    const char *source;   /* the published source of that table */
    const char *version;  /* scales_version() */
};

/* scale: cefr, actfl, toefl, ielts, toeic, cepa (0-100 score or level name),
 * or a vendor score scale from score_scales (truenorth, webcape, testello,
 * etest_ct, ...). vendor and skill may be NULL. Returns 0 when the scale
 * exists (out->known says whether the value was recognised), -1 for an
 * unknown scale name (err says which scales exist). */
int norm_explain(const struct scales *s, const char *scale, const char *value, const char *vendor,
                 const char *skill, struct norm_explain *out, struct ss_err *err);

#endif
