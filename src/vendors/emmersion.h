/* emmersion: the Emmersion Enterprise API 2020q3 (and its TrueNorth 2020q1
 * sibling, which shares the record format). The parsers are exposed for unit
 * tests and fuzzing: bytes in, batch out, no network, no database. */
#ifndef SS_EMMERSION_H
#define SS_EMMERSION_H

#include <stddef.h>
#include "../core/record.h"

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

#endif
