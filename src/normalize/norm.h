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

#endif
