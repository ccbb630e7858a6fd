/* emmersion: the Emmersion/TrueNorth API family. Emmersion Enterprise API
 * 2020q3 (emmersion.c) and its older TrueNorth 2020q1 (truenorth.c) share
 * one record format and one extractor; what differs between the versions is
 * one table, struct emm_version, passed as vendor_ops.variant.
 *
 * The parsers are exposed for unit tests and fuzzing: bytes in, batch out,
 * no network, no database. */
#ifndef SS_EMMERSION_H
#define SS_EMMERSION_H

#include <stddef.h>
#include "../core/record.h"
#include "vendor.h"

/* What one version of the API has. */
struct emm_version {
    /* POST /scores date filters the windows use: "completedOnOrAfter" ... */
    const char *after_key, *before_key;
    /* Sends includeIncompleteAssessments (config option include_incomplete). */
    int incomplete_filter;
    /* Has POST /assignments (the "assignments" stream). */
    int has_assignments;
};

/* Parses a /scores response body ({"userScores":[...]}) into b: one candidate
 * per user, one result per score report, and a quarantine entry for every
 * record that cannot be loaded (the others still are). *reports counts the
 * score reports seen. Returns -1 only when the body as a whole is unusable
 * (malformed JSON, no userScores array): the caller retries the request. */
int emmersion_parse_scores(const char *body, size_t len, struct ss_batch *b, long *reports,
                           struct ss_err *err) SS_MUSTCHECK;

/* Same for a /assignments response ({"assignments":[...]}). */
int emmersion_parse_assignments(const char *body, size_t len, struct ss_batch *b, long *records,
                                struct ss_err *err) SS_MUSTCHECK;

/* The family's extract and reparse, for the vendor_ops of each version. */
int emm_family_extract(struct vendor_ctx *ctx, struct ss_err *err);
int emm_family_parse_body(const struct vendor_ops *v, const char *stream, const char *body,
                          size_t len, struct ss_batch *b, long *records, struct ss_err *err);
/* The cheapest authenticated call (GET /assessments), for `scoresync check`. */
int emm_family_check(struct vendor_ctx *ctx, struct ss_err *err);
int emm_family_reparse(const struct vendor_ops *v, const char *stream, const char *raw, size_t len,
                       struct ss_result *r, struct ss_err *err);
/* `scoresync plan`: both versions read scores (and 2020q3 assignments) in
 * date windows. */
void emm_family_plan(const struct vendor_ops *v, const struct cfg_account *a, const char *stream,
                     struct vendor_plan *out);

#endif
