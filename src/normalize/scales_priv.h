/* scales_priv: the in-memory form of config/scales.yaml. Written by scales.c
 * (loading, lookups) and export.c; read by norm.c and explain.c, which apply
 * it. Private to src/normalize. Everything is owned by the struct scales and
 * released by scales_free(); lookups return pointers into it. */
#ifndef SS_SCALES_PRIV_H
#define SS_SCALES_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "scales.h"

/* Longest label (after normalisation) a lookup considers; longer is unknown. */
#define SC_KEY_MAX 128

struct sc_level {
    char *code;  /* "B2+" */
    char *label; /* "Vantage plus" */
    int rank;
    char **names; /* normalised code and aliases, the match keys */
    size_t n_names;
};

struct sc_levels {
    struct sc_level *v; /* sorted by rank */
    size_t n;
};

struct sc_status {
    char *key;         /* normalised vendor label */
    char *label;       /* the label as written in the file (for export) */
    const char *canon; /* static canonical name */
};

struct sc_status_map {
    char *vendor; /* "default" for the shared table */
    struct sc_status *v;
    size_t n;
};

/* What a score scale's non-numeric values mean (score_scales ... text:). */
enum sc_text {
    SC_TEXT_NONE = 0,    /* nothing: only numbers */
    SC_TEXT_PLACEMENT,   /* any text: the account's own placement label */
    SC_TEXT_PERSONALITY, /* a four-letter type (EI, SN, TF, JP): categorical */
};

struct sc_scale {
    char *vendor;
    char *type;       /* normalised assessment type, or "*" */
    char *type_label; /* as written (for export) */
    char *name;
    double min, max;
    int linear;
    enum sc_text text;
    int empty_not_done; /* an empty value means the test is not done (empty_means: not_done) */
};

struct sc_name_level {
    char *key;  /* normalised level name */
    char *cefr; /* CEFR code it maps to, as written */
    int lo, hi; /* its ranks, resolved at load time */
};

/* One cell of ACTFL's alignment table. */
struct sc_xwalk {
    int actfl; /* ACTFL rank */
    char *sub; /* ACTFL's CEFR cell verbatim: "B2.2", "0" */
    int cefr;  /* canonical CEFR rank; 0 for "0" (no rating) */
};

enum { SC_RECEPTIVE = 0, SC_PRODUCTIVE = 1 };

struct sc_xgroup {
    struct sc_xwalk *v; /* file order */
    size_t n;
};

/* One published cut: a score >= min is at rank (unless a higher cut is met). */
struct sc_cut {
    int rank;
    double min, max; /* max NAN = not published (display only) */
};

/* A publisher table for one skill of one test (toefl_ibt/reading, ...). */
struct sc_test {
    const char *test; /* static: "toefl_ibt", "ielts", "toeic" */
    char *skill;
    double smin, smax; /* the skill's score range */
    struct sc_cut *v;  /* sorted by min, descending */
    size_t n;
    int *unpub; /* ranks whose cut is not published, ascending */
    size_t n_unpub;
};

/* A level-name table (`<name>_levels`): a vendor's level names -> CEFR. */
struct sc_name_table {
    char *name; /* "x_levels", the section name */
    struct sc_name_level *v;
    size_t n;
};

/* A row of a score-band table. */
struct sc_band {
    double min, max;
    char *level; /* the level name, as written */
    int rank;
};

/* A score-band table (`<name>_scores`): score range -> level name and CEFR. */
struct sc_band_table {
    char *name;        /* "x_scores", the section name */
    struct sc_band *v; /* ascending min */
    size_t n;
    const char *sql_table; /* where export sends the rows (a vendor_levels entry's), or NULL */
};

/* vendor_levels.<vendor>: where a result of that vendor without a CEFR label
 * gets one: its level name through names, else its score through bands. */
struct sc_vendor_levels {
    char *vendor;
    char *label;                       /* how notes and explain name the vendor's tables */
    const struct sc_name_table *names; /* NULL = none */
    const struct sc_band_table *bands; /* NULL = none */
    char *sql_table;                   /* NULL = bands not exported */
};

struct sc_pass {
    char *vendor;
    char *type;       /* normalised assessment type */
    char *type_label; /* as written */
    double mark;
    int64_t from, until;          /* microseconds, INT64_MIN / INT64_MAX = open */
    char from_s[11], until_s[11]; /* "2022-01-20" or "" */
    char *rule;                   /* "pass_marks: v T >= 70 from 2022-01-20 (note)" */
    /* Optional condition: only for results whose CEFR label is this one
     * level (rank; 0 = any level). Such a row wins over one without. */
    int cefr;
    char *cefr_code; /* its code as written in `cefr`, or NULL */
};

struct sc_source {
    char *table;
    char *text;
};

struct scales {
    struct sc_levels cefr, actfl;
    struct sc_status_map *st;
    size_t n_st;
    struct sc_scale *sc;
    size_t n_sc;
    struct sc_name_table *names;
    size_t n_names;
    struct sc_xgroup xw[2]; /* SC_RECEPTIVE, SC_PRODUCTIVE */
    struct sc_test *tests;
    size_t n_tests;
    struct sc_band_table *bands;
    size_t n_bands;
    struct sc_vendor_levels *vl;
    size_t n_vl;
    struct sc_pass *pass;
    size_t n_pass;
    struct sc_source *src;
    size_t n_src;
    char version[13];
};

/* Lower-cases ASCII, trims and collapses whitespace runs into one space.
 * Reads n bytes of s. Returns -1 if the result does not fit in out. */
int sc_normkey(const char *s, size_t n, char *out, size_t outsz);
/* Rank of a level whose code or alias matches s[0..n) (normalised), or 0. */
int sc_level_rank(const struct sc_levels *t, const char *s, size_t n);
/* Level-name / score-band tables by section name ("x_levels"), or NULL. */
const struct sc_name_table *sc_name_table(const struct scales *s, const char *name);
const struct sc_band_table *sc_band_table(const struct scales *s, const char *name);
/* The entry for a level name in t (case-insensitive), or NULL; t may be NULL. */
const struct sc_name_level *sc_name_find(const struct sc_name_table *t, const char *name);
/* The row for score v (between rows -> the lower row), or NULL outside the
 * table; t may be NULL. */
const struct sc_band *sc_band_find(const struct sc_band_table *t, double v);
/* The vendor_levels entry of vendor, or NULL. */
const struct sc_vendor_levels *sc_vendor_levels(const struct scales *s, const char *vendor);
/* A score_scales entry by scale name (case-insensitive), or NULL. */
const struct sc_scale *sc_scale_named(const struct scales *s, const char *name);
/* Shared by the range parser and the loader: "B2", "B2-C1" -> ranks.
 * Returns 0, -1 for an unknown part, -2 for a descending range. */
int sc_parse_levels(const struct sc_levels *t, const char *label, int *lo, int *hi);

/* The publisher table of test/skill, or NULL. */
const struct sc_test *sc_test_find(const struct scales *s, const char *test, const char *skill);
/* The CEFR level(s) a score falls in: *lo..*hi are ranks; both 0 when the
 * score is below every published cut. hi > lo only across an unpublished cut.
 * Returns -1 (outputs untouched) when v is outside the skill's scale. */
int sc_test_lookup(const struct sc_test *t, double v, int *lo, int *hi, const struct sc_cut **row);
/* ACTFL alignment cell for an ACTFL rank in a group, or NULL if not rated. */
const struct sc_xwalk *sc_xwalk_find(const struct scales *s, int group, int actfl_rank);
/* The citation of a section, or NULL. */
const char *sc_source(const struct scales *s, const char *table);
/* "speaking" -> SC_PRODUCTIVE, "reading" -> SC_RECEPTIVE, else -1. */
int sc_skill_group(const char *skill);

/* ACTFL ranks lo..hi -> CEFR ranks through one column of actfl_cefr. Writes
 * the rule ("actfl_cefr productive: Advanced Mid -> B2.2 (B2+)") or, on -1,
 * why not (a level ACTFL gives no CEFR rating, or not in the column). */
int sc_crosswalk(const struct scales *s, int group, int lo, int hi, int *clo, int *chi, char *rule,
                 size_t n);

#endif
