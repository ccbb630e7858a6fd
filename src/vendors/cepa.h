/* cepa: CEPA Test API v2 (seeds/000, cepatest.org/api/v2). Exposed for unit
 * tests: the parsers of each method's response, bytes in, batch out, no
 * network, no database.
 *
 * Ownership: results, candidates and groups go into the caller's batch. */
#ifndef SS_CEPA_H
#define SS_CEPA_H

#include <stddef.h>
#include "../core/buf.h"
#include "../core/record.h"
#include "vendor.h"

/* How records are read (from the account's options; cepa_opts_default()
 * gives the documented defaults). */
struct cepa_opts {
    int utc_offset_min; /* dates carry no zone: minutes east of UTC (180) */
    int lower_email;    /* candidate key = lower-cased e-mail (1) or exact (0) */
};

void cepa_opts_default(struct cepa_opts *o);

/* Parses a response of any method the sync reads (the root's "method"
 * member says which): GetCandidates, GetCandidateByEmail, GetTestByToken
 * (candidate_key names its candidate, which that response does not),
 * GetOverallResultByEmail, GetTests. *records: candidates (GetCandidates),
 * tests or groups seen. -1 when the body as a whole is unusable. */
int cepa_parse(const struct cepa_opts *o, const char *body, size_t len, const char *candidate_key,
               struct ss_batch *b, long *records, struct ss_err *err) SS_MUSTCHECK;

/* The content member of GetSingleResultByPDF / GetOverallResultByPDF: json
 * is the member's JSON text (a string: base64 in the standard alphabet, as
 * a PHP encoder writes it, "\/" for "/"; "\r" and "\n" escapes of a
 * line-wrapped encoding are skipped). Appends the decoded bytes to out (its
 * limit applies: SS_ETOOBIG) and checks their count against `size`, the
 * response's size field: -1 with SS_EINVAL when it is not a string, not
 * base64, or decodes to another number of bytes (out is then emptied). */
int cepa_pdf_decode(const char *json, size_t len, long long size, struct buf *out,
                    struct ss_err *err) SS_MUSTCHECK;

/* A CEPA score as a number: 50, "71.0", "49" (a string in
 * GetOverallResultByEmail). 0 and *out set, or -1 if it is no number. */
int cepa_score(const char *text, double *out);

#endif
