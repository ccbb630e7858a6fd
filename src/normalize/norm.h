/* norm: applying the tables of scales.h to results, and explaining how one
 * value normalises. Pure functions: no network, no database. Loading and
 * lookups are in scales.h (included here for the callers' convenience);
 * that side never calls into this one.
 *
 * Ownership: see scales.h. norm_result() writes into the caller's result
 * (its notes and rule strings are owned by the result); struct norm_explain
 * is caller storage. */
#ifndef SS_NORM_H
#define SS_NORM_H

#include "../core/err.h"
#include "../core/record.h"
#include "scales.h"

/* Fills r->status, cefr/actfl ranks, band numbers, score scale and
 * percentage from the labels the vendor parser left in r. Never fails on an
 * unknown label: the rank stays 0 and a note is added to r->norm_notes.
 * A score on a result whose canonical status is not "completed" is dropped
 * (a not-started attempt's "score": 0.0 is no score). Where the result has
 * no CEFR label, the vendor's vendor_levels tables (scales.yaml) may supply
 * one from its level name or score, then the ACTFL crosswalk. */
void norm_result(const struct scales *s, const char *vendor, struct ss_result *r);

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

/* scale: cefr, actfl, toefl, ielts, toeic; a level scale from scales.yaml
 * (a vendor_levels entry, or the tables <scale>_levels / <scale>_scores: a
 * score or a level name); or a score scale from score_scales. vendor and
 * skill may be NULL. Returns 0 when the scale exists (out->known says
 * whether the value was recognised), -1 for an unknown scale name (err says
 * which scales exist). */
int norm_explain(const struct scales *s, const char *scale, const char *value, const char *vendor,
                 const char *skill, struct norm_explain *out, struct ss_err *err);

#endif
