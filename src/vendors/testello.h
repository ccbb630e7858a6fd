/* Testello API v1 (seeds/004): what testello.c exposes beyond its
 * vendor_ops, for unit tests (signing, the follow-set cursor, the parsers).
 *
 * Ownership: functions writing a struct buf APPEND to it (the caller owns
 * it). struct tl_follows is caller storage released by tl_follows_free(). */
#ifndef SS_TESTELLO_H
#define SS_TESTELLO_H

#include <stddef.h>
#include "../core/buf.h"
#include "vendor.h"

extern const struct vendor_ops testello_vendor;

/* How a signed_request is made. The seed's appendix with the signing code
 * is missing; each choice is an account option (docs/vendors/testello.md). */
struct testello_signing {
    int over_json;  /* sign_over: 1 = the payload's JSON text, 0 = its base64 form */
    int raw_digest; /* signature_digest: 1 = the 32 MAC bytes, 0 = lowercase hex */
    int b64_flags;  /* SIGN_B64_URL or SIGN_B64_STD, | SIGN_B64_NOPAD (sign.h) */
};

/* The account's signing options (defaults: base64 form, hex, url, padded). */
int testello_signing_of(const struct cfg_account *a, struct testello_signing *out,
                        struct ss_err *err) SS_MUSTCHECK;
/* Appends base64(digest) "." base64(payload_json), the MAC keyed by secret
 * (its literal bytes). */
int testello_sign(const char *secret, const struct testello_signing *s, const char *payload_json,
                  struct buf *out, struct ss_err *err) SS_MUSTCHECK;
/* Appends the payload of one request: {"company_id":N} (a number when the
 * option is all digits, else a string), plus "id":<session_id> when
 * session_id is not NULL. */
int testello_payload(const struct cfg_account *a, const char *session_id, struct buf *out,
                     struct ss_err *err) SS_MUSTCHECK;
/* Splits a signed_request at its '.' and appends the decoded signature and
 * payload bytes (either base64 alphabet, padded or not). */
int testello_decode(const char *signed_request, struct buf *sig, struct buf *payload,
                    struct ss_err *err) SS_MUSTCHECK;

/* The stream's cursor: the sessions seen with taken tests not done, which
 * the next sync must find again among the active ones (or report expired). */
#define TL_ID_MAX 32
struct tl_pending {
    char id[TL_ID_MAX];      /* taken test id */
    char test_id[TL_ID_MAX]; /* its test */
};
struct tl_follow {
    char id[TL_ID_MAX]; /* session id */
    char expires_at[48];
    struct tl_pending *p;
    size_t n;
};
struct tl_follows {
    struct tl_follow *f;
    size_t n, cap;
};
/* NULL or "" is the empty set; -1 when the text is not such a cursor. */
int tl_follows_parse(const char *cursor, struct tl_follows *out, struct ss_err *err) SS_MUSTCHECK;
int tl_follows_format(const struct tl_follows *fs, struct buf *out,
                      struct ss_err *err) SS_MUSTCHECK;
void tl_follows_free(struct tl_follows *fs);

/* GET tests into b->assess (records = tests seen). */
int testello_parse_tests(const char *body, size_t len, struct ss_batch *b, long *records,
                         struct ss_err *err) SS_MUSTCHECK;

#endif
