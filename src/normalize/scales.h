/* scales: the mapping tables of config/scales.yaml, loaded at run time (so an
 * operator can change them without a rebuild), and the lookups over them.
 * Reading only: nothing here applies a table to a result (that is norm.h,
 * which depends on this header, never the other way round).
 *
 * Ownership: scales_load() -> scales_free(). Strings returned by lookups
 * (canonical status, scale names, level codes, table names) point into the
 * scales object and live as long as it does. */
#ifndef SS_SCALES_H
#define SS_SCALES_H

#include <stddef.h>

#include "../core/err.h"

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
    const char *name; /* the scale's name in score_scales */
    double min, max;
    int linear; /* a percentage is meaningful */
};
/* The scale of a vendor's assessment type (NULL type: the vendor's "*"
 * entry). -1 if none. */
int norm_score_scale(const struct scales *s, const char *vendor, const char *assessment_type,
                     struct score_scale *out);

/* ---- reference tables ---- */

/* Hands every row of every mapping table to cb, as text values in the column
 * order of the matching SQL reference table (sql/002_reference.sql):
 *   "ref_cefr_levels"     code, label, rank
 *   "ref_actfl_levels"    label, rank
 *   "ref_actfl_cefr"      skill_group (receptive|productive), actfl_label, actfl_rank,
 *                         cefr_sublevel ("B2.2", "0"), cefr_code (NULL for "0"), cefr_rank (NULL)
 *   "ref_test_cefr"       test (toefl_ibt|ielts|toeic), skill (reading|listening|speaking|
 *                         writing|total|overall), cefr_code, cefr_rank, min_score,
 *                         max_score (NULL = open)
 *   scales_band_sql_table(s, i), one per score-band table that declares one:
 *                         min_score, max_score, cefr_code, cefr_rank, level_name
 *   "ref_status_map"      vendor, vendor_status, status
 *   "ref_score_scales"    vendor, assessment_type, scale, min, max, linear (true|false)
 *   "ref_pass_marks"      vendor, assessment_type, pass_mark, valid_from (NULL = always),
 *                         valid_until
 *   "ref_sources"         table_name, source (the publication it comes from)
 * NULL entries are SQL NULL. cb returns 0 to go on, non-zero to stop (returned). */
typedef int (*scales_row_fn)(void *arg, const char *table, const char *const *values, int n);
int scales_export(const struct scales *s, scales_row_fn cb, void *arg);

/* Score-band rows go to SQL tables named in scales.yaml (vendor_levels.*.
 * sql_table, checked to be ref_[a-z0-9_]+). The i-th such table, counting
 * from 0, or NULL past the last; each name once. Their columns are
 * SCALES_BAND_COLUMNS, in that order. */
const char *scales_band_sql_table(const struct scales *s, size_t i);
#define SCALES_BAND_COLUMNS "min_score, max_score, cefr_code, cefr_rank, level_name"
#define SCALES_BAND_NCOLS   5

#endif
