/* account: limiter, ledger, HTTP client and credentials of one account. */
#include "account.h"

#include <stdio.h>
#include <string.h>

#include "../core/clock.h"

struct rate_limiter *account_limiter(const struct cfg_account *a)
{
    struct rl_window w[CFG_MAX_WINDOWS];
    for (int i = 0; i < a->n_rate; i++) {
        w[i].limit = (uint32_t)a->rate[i].requests;
        w[i].period_us = (int64_t)(a->rate[i].per_seconds * 1e6);
    }
    return rl_new(w, (size_t)a->n_rate, (int64_t)a->rate_margin_ms * 1000);
}

int account_io_open(struct account_io *io, struct db *db, const struct vendor_ops *v,
                    const struct cfg_account *a, int64_t account_id, struct ss_err *err)
{
    memset(io, 0, sizeof *io);
    snprintf(io->prefix, sizeof io->prefix, "%s/%s", v->name, a->name);
    struct ledger_window lw[CFG_MAX_WINDOWS];
    for (int i = 0; i < a->n_rate; i++) {
        lw[i].period_us = (int64_t)(a->rate[i].per_seconds * 1e6);
        lw[i].limit = a->rate[i].requests;
    }
    const int64_t margin_us = (int64_t)a->rate_margin_ms * 1000;
    io->rl = account_limiter(a);
    if (!io->rl)
        return err_set(err, SS_ECONFIG, "invalid rate_limits");
    if (db && a->n_rate > 0) {
        const struct ledger_opts lo = {
            .account_id = account_id,
            .windows = lw,
            .n_windows = (size_t)a->n_rate,
            .margin_us = margin_us,
            .log_prefix = io->prefix,
        };
        if (ledger_open(db, &lo, &io->lg, err) != 0)
            return -1;
    }
    struct http_opts o;
    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = (long)a->connect_timeout_s * 1000;
    o.timeout_ms = (long)a->timeout_s * 1000;
    o.max_body = (size_t)a->max_response_bytes;
    o.retry.max_attempts = a->max_attempts;
    o.retry.base_us = (int64_t)a->backoff_base_ms * 1000;
    o.retry.max_us = (int64_t)a->backoff_max_ms * 1000;
    o.log_prefix = io->prefix;
    if (io->lg) {
        o.admit = ledger_admit;
        o.refused = ledger_refused;
        o.admit_arg = io->lg;
    }
    io->http = http_new(&o, io->rl, clock_system(), err);
    if (!io->http)
        return -1;
    return vendor_auth(v, a, &io->auth, err);
}

void account_io_close(struct account_io *io)
{
    http_free(io->http);
    ledger_close(io->lg);
    rl_free(io->rl);
    memset(io, 0, sizeof *io);
}
