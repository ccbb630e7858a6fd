/* err: an error code plus a message, carried by the caller (hiredis style).
 * Functions that can fail take a `struct ss_err *` as their last argument,
 * return 0 on success and -1 on failure after filling it. The struct is
 * caller-owned storage; nothing in it needs freeing. */
#ifndef SS_ERR_H
#define SS_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define SS_MUSTCHECK    __attribute__((warn_unused_result))
#define SS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SS_MUSTCHECK
#define SS_PRINTF(a, b)
#endif

enum ss_errcode {
    SS_OK = 0,
    SS_EINVAL,  /* bad input: malformed JSON, unknown label, wrong type */
    SS_ECONFIG, /* configuration file or environment */
    SS_EHTTP,   /* transport or HTTP status error after retries */
    SS_ERATE,   /* rate limited and out of attempts */
    SS_ETOOBIG, /* a response or value exceeded its size cap */
    SS_EDB,     /* PostgreSQL */
    SS_EIO,     /* files, processes */
    SS_ENOMEM,
    SS_EAUTH, /* 401/403 from a vendor */
};

struct ss_err {
    enum ss_errcode code;
    char msg[1024];
};

/* Sets code and a formatted message; always returns -1 so callers can
 * `return err_set(err, ...)`. err may be NULL. */
int err_set(struct ss_err *err, enum ss_errcode code, const char *fmt, ...) SS_PRINTF(3, 4);

/* Prefixes the existing message with more context ("vendor/account: " ...). */
int err_prefix(struct ss_err *err, const char *fmt, ...) SS_PRINTF(2, 3);

void err_clear(struct ss_err *err);

const char *err_code_name(enum ss_errcode code);

#endif
