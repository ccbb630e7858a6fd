/* redact: a small process-wide list of secrets, applied to every message. */
#include "redact.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define REDACT_MAX 64

static pthread_mutex_t redact_mu = PTHREAD_MUTEX_INITIALIZER;
/* Longest first: a secret that contains another must be masked whole, not
 * have its shorter part masked and the rest left readable. */
static char *secrets[REDACT_MAX];
static size_t n_secrets;
static char *params[REDACT_MAX];
static size_t n_params;

static void add(char **list, size_t *n, const char *s, int by_length)
{
    pthread_mutex_lock(&redact_mu);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], s) == 0)
            goto out;
    if (*n < REDACT_MAX) {
        char *c = strdup(s);
        if (!c)
            goto out;
        size_t at = *n, len = strlen(c);
        while (by_length && at > 0 && strlen(list[at - 1]) < len)
            at--;
        memmove(list + at + 1, list + at, (*n - at) * sizeof *list);
        list[at] = c;
        (*n)++;
    }
out:
    pthread_mutex_unlock(&redact_mu);
}

void redact_add(const char *secret)
{
    if (secret && strlen(secret) >= REDACT_MIN_LEN)
        add(secrets, &n_secrets, secret, 1);
}

void redact_add_param(const char *name)
{
    if (name && *name)
        add(params, &n_params, name, 0);
}

/* Replaces [at, at+len) of s with rep; s has capacity cap. */
static void splice(char *s, size_t cap, char *at, size_t len, const char *rep)
{
    size_t rl = strlen(rep), tail = strlen(at + len);
    if ((size_t)(at - s) + rl + tail + 1 > cap) /* shrinking only ever: rl <= len here */
        tail = cap - (size_t)(at - s) - rl - 1;
    memmove(at + rl, at + len, tail);
    at[rl + tail] = '\0';
    memcpy(at, rep, rl);
}

/* Characters of a parameter name: "api_key=" must not match inside
 * "x_api_key=" or "my.api_key=". */
static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '%' || c == '[' || c == ']';
}

/* A text that filled its buffer was probably cut by snprintf, maybe in the
 * middle of a secret: a tail that starts a secret (REDACT_MIN_LEN or more of
 * its characters) is masked too. Caller holds redact_mu. */
static void mask_cut_tail(char *s, size_t cap)
{
    size_t len = strlen(s);
    if (len + 1 < cap)
        return;
    for (size_t i = 0; i < n_secrets; i++) {
        size_t sl = strlen(secrets[i]);
        for (size_t k = sl - 1; k >= REDACT_MIN_LEN && k > 0; k--) {
            if (k > len || memcmp(s + len - k, secrets[i], k) != 0)
                continue;
            splice(s, cap, s + len - k, k, REDACT_MASK);
            len = strlen(s);
            break;
        }
    }
}

void redact_apply(char *s, size_t cap)
{
    if (!s || cap == 0)
        return;
    pthread_mutex_lock(&redact_mu);
    for (size_t i = 0; i < n_secrets; i++) {
        size_t len = strlen(secrets[i]);
        char *p = s;
        while ((p = strstr(p, secrets[i])) != NULL) {
            splice(s, cap, p, len, REDACT_MASK);
            p += strlen(REDACT_MASK);
        }
    }
    mask_cut_tail(s, cap);
    for (size_t i = 0; i < n_params; i++) {
        size_t nl = strlen(params[i]);
        for (char *p = s; (p = strstr(p, params[i])) != NULL; p += nl) {
            if ((p > s && name_char(p[-1])) || p[nl] != '=')
                continue;
            char *v = p + nl + 1;
            size_t vl = strcspn(v, "&# \t\r\n\"'");
            if (vl == 0 || (vl == strlen(REDACT_MASK) && strncmp(v, REDACT_MASK, vl) == 0))
                continue;
            if (vl < strlen(REDACT_MASK)) {
                memset(v, '*', vl); /* never grows the text */
                continue;
            }
            splice(s, cap, v, vl, REDACT_MASK);
        }
    }
    pthread_mutex_unlock(&redact_mu);
}

void redact_reset(void)
{
    pthread_mutex_lock(&redact_mu);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    for (size_t i = 0; i < n_params; i++)
        free(params[i]);
    n_secrets = n_params = 0;
    pthread_mutex_unlock(&redact_mu);
}
