/* redact: the one path that keeps secrets out of every output. Whoever
 * resolves a secret (config: API keys, signing secrets; http: per-attempt
 * signatures) registers it here; err_set/err_prefix and every log line pass
 * their text through redact_apply(), so a vendor file that prints a response
 * body or a URL cannot leak a key by forgetting to redact it.
 *
 * Registered strings are copied and kept for the life of the process (a few
 * per account). Thread-safe. Strings shorter than REDACT_MIN_LEN are ignored:
 * masking "a" everywhere would make messages unreadable, and no real key is
 * that short. */
#ifndef SS_REDACT_H
#define SS_REDACT_H

#include <stddef.h>

#define REDACT_MIN_LEN 4
#define REDACT_MASK    "***"

void redact_add(const char *secret);
/* Replaces every registered secret in s (NUL-terminated, capacity cap bytes,
 * edited in place) with REDACT_MASK. Also masks the value of URL query or
 * form parameters named in redact_add_param() ("signed_request=..." ->
 * "signed_request=***"). */
void redact_apply(char *s, size_t cap);
/* A parameter whose value is always secret (a signed request, an api_key
 * query parameter), whatever its value is. */
void redact_add_param(const char *name);
/* Forgets everything (tests). */
void redact_reset(void);

#endif
