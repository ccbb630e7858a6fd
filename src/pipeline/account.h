/* account: what every run of one vendor account sends its requests
 * through, built one way for sync, backfill and plan: the account's rate
 * limiter (the vendor's windows, in this process), its request ledger (the
 * same windows across processes, load/ledger.h), its HTTP client and its
 * credentials.
 *
 * Ownership: account_io_open() fills caller storage that
 * account_io_close() releases (also after a failed open); it must not move
 * while open (the client and ledger point at its prefix). The config
 * account and vendor are borrowed and must outlive it; db is only used to
 * clone the ledger's own connection. */
#ifndef SS_ACCOUNT_H
#define SS_ACCOUNT_H

#include <stdint.h>
#include "../config/config.h"
#include "../http/http.h"
#include "../load/db.h"
#include "../load/ledger.h"
#include "../vendors/vendor.h"

struct account_io {
    struct rate_limiter *rl;
    struct ledger *lg; /* NULL when the account declares no rate limits */
    struct http_client *http;
    struct http_auth auth;
    char prefix[160]; /* "vendor/account", for log lines and errors */
};

/* A limiter with the account's rate windows and margin (rl_free());
 * NULL when they are invalid. */
struct rate_limiter *account_limiter(const struct cfg_account *a);

/* account_id is the account's vendor_accounts id (the ledger counts by it).
 * db NULL: no ledger, this process's limiter only (`check` when the
 * database is unreachable). Errors carry no prefix; the caller adds
 * io->prefix. */
int account_io_open(struct account_io *io, struct db *db, const struct vendor_ops *v,
                    const struct cfg_account *a, int64_t account_id,
                    struct ss_err *err) SS_MUSTCHECK;
void account_io_close(struct account_io *io);

#endif
