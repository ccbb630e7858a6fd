/* scales_priv: the in-memory form of config/scales.yaml, shared by scales.c
 * (loading, table lookups) and norm.c (label parsers, norm_result). Private
 * to src/normalize. Everything is owned by the struct scales and released by
 * scales_free(). */
#ifndef SS_SCALES_PRIV_H
#define SS_SCALES_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "norm.h"

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

struct sc_scale {
    char *vendor;
    char *type;       /* normalised assessment type, or "*" */
    char *type_label; /* as written (for export) */
    char *name;
    double min, max;
    int linear;
};

struct sc_name_level {
    char *key;  /* normalised vendor level name */
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

/* A row of CEPA's score table. */
struct sc_cepa_score {
    double min, max;
    char *level; /* vendor's level name, as written */
    int rank;
};

struct sc_pass {
    char *vendor;
    char *type;       /* normalised assessment type */
    char *type_label; /* as written */
    double mark;
    int64_t from, until;          /* microseconds, INT64_MIN / INT64_MAX = open */
    char from_s[11], until_s[11]; /* "2022-01-20" or "" */
    char *rule;                   /* "pass_marks: etest CT >= 70 from 2022-01-20 (...)" */
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
    struct sc_name_level *cepa;
    size_t n_cepa;
    struct sc_xgroup xw[2]; /* SC_RECEPTIVE, SC_PRODUCTIVE */
    struct sc_test *tests;
    size_t n_tests;
    struct sc_cepa_score *cepa_sc; /* ascending min */
    size_t n_cepa_sc;
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
/* The CEPA level-name entry for name, or NULL. */
const struct sc_name_level *sc_cepa_level(const struct scales *s, const char *name);
/* Shared by the range parser and the loader: "B2", "B2-C1" -> ranks.
 * Returns 0, -1 for an unknown part, -2 for a descending range. */
int sc_parse_levels(const struct sc_levels *t, const char *label, int *lo, int *hi);

/* The publisher table of test/skill, or NULL. */
const struct sc_test *sc_test_find(const struct scales *s, const char *test, const char *skill);
/* The CEFR level(s) a score falls in: *lo..*hi are ranks; both 0 when the
 * score is below every published cut. hi > lo only across an unpublished cut.
 * Returns -1 (outputs untouched) when v is outside the skill's scale. */
int sc_test_lookup(const struct sc_test *t, double v, int *lo, int *hi, const struct sc_cut **row);
/* CEPA's score row for v (0-100; between rows -> the lower row), or NULL. */
const struct sc_cepa_score *sc_cepa_score(const struct scales *s, double v);
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
