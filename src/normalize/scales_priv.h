/* scales_priv: the in-memory form of config/scales.yaml, shared by scales.c
 * (loading, table lookups) and norm.c (label parsers, norm_result). Private
 * to src/normalize. Everything is owned by the struct scales and released by
 * scales_free(). */
#ifndef SS_SCALES_PRIV_H
#define SS_SCALES_PRIV_H

#include <stddef.h>

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
    const char *canon; /* static canonical name */
};

struct sc_status_map {
    char *vendor; /* "default" for the shared table */
    struct sc_status *v;
    size_t n;
};

struct sc_scale {
    char *vendor;
    char *type; /* normalised assessment type, or "*" */
    char *name;
    double min, max;
    int linear;
};

struct sc_name_level {
    char *key;  /* normalised vendor level name */
    char *cefr; /* CEFR code it maps to, as written */
    int lo, hi; /* its ranks, resolved at load time */
};

struct scales {
    struct sc_levels cefr, actfl;
    struct sc_status_map *st;
    size_t n_st;
    struct sc_scale *sc;
    size_t n_sc;
    struct sc_name_level *cepa;
    size_t n_cepa;
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

#endif
