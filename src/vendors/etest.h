/* etest: DynEd eTest API (neo), whose only document is a changelog
 * (seeds/001). The wire format is our assumption, written down with the
 * changelog line behind each choice in docs/vendors/etest.md; every path,
 * parameter name, page-size limit, the auth scheme and every response field
 * name is a vendor option (config), so a deployment corrects a wrong guess
 * in YAML without a rebuild.
 *
 * Streams, in sync order:
 *   candidates  the candidates list of the account's organisation (`uic`,
 *               sub-organisations included), page by page, whole every sync:
 *               one candidate row each (uic and hide flag kept in its raw
 *               JSON), plus the PT result stored on it (v1.6.6). Authoritative
 *               for candidate rows, so a moved candidate is updated.
 *   pt          the same list filtered by the date the PT was taken
 *               (v1.4.21), in date windows from the checkpoint: for accounts
 *               too big to list whole every sync. Supplementary.
 *   ct          certification test results with their correct / incorrect /
 *               answered totals (v1.3.4, v1.5.3), page by page. Supplementary
 *               for candidates (a CT's copy of its candidate never overwrites
 *               the candidates list's).
 *
 * The parsers are pure (bytes in, batch out) and exposed for unit tests. */
#ifndef SS_ETEST_H
#define SS_ETEST_H

#include <stddef.h>
#include "../config/config.h"
#include "../core/record.h"

/* Parses one response body of `stream` ("candidates", "pt", "ct") with the
 * field names and container of `acct`'s options (NULL: the defaults) into
 * b. *records = elements of the list. -1 when the body as a whole is
 * unusable (not JSON, no list). */
int etest_parse(const char *stream, const struct cfg_account *acct, const char *body, size_t len,
                struct ss_batch *b, long *records, struct ss_err *err) SS_MUSTCHECK;

/* The page number a 0-based offset asks for, with pages of `limit` records
 * numbered from `first` (1 by default). */
long etest_page_number(long offset, long limit, long first);

#endif
