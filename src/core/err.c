/* err: caller-carried error code and message. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "redact.h"

int err_set(struct ss_err *err, enum ss_errcode code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    redact_apply(err->msg, sizeof err->msg);
    return -1;
}

int err_prefix(struct ss_err *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char pre[sizeof err->msg];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    /* Concatenate by hand: truncation is expected and fine here. */
    size_t cap = sizeof err->msg - 1, n = strlen(pre);
    if (n > cap)
        n = cap;
    memcpy(err->msg, pre, n);
    if (old[0]) {
        for (const char *s = ": "; *s && n < cap; s++)
            err->msg[n++] = *s;
        size_t m = strlen(old);
        if (m > cap - n)
            m = cap - n;
        memcpy(err->msg + n, old, m);
        n += m;
    }
    err->msg[n] = '\0';
    redact_apply(err->msg, sizeof err->msg);
    if (err->code == SS_OK)
        err->code = SS_EINVAL; /* a prefix on nothing still means failure */
    return -1;
}

void err_clear(struct ss_err *err)
{
    if (!err)
        return;
    err->code = SS_OK;
    err->msg[0] = '\0';
}

const char *err_code_name(enum ss_errcode code)
{
    switch (code) {
    case SS_OK:
        return "ok";
    case SS_EINVAL:
        return "invalid input";
    case SS_ECONFIG:
        return "configuration";
    case SS_EHTTP:
        return "http";
    case SS_ERATE:
        return "rate limited";
    case SS_ETOOBIG:
        return "too big";
    case SS_EDB:
        return "database";
    case SS_EIO:
        return "i/o";
    case SS_ENOMEM:
        return "out of memory";
    case SS_EAUTH:
        return "authentication";
    }
    return "unknown";
}
