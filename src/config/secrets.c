/* secrets: where config values come from besides the file itself. */
#include "secrets_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A secret file larger than this is surely the wrong file. */
#define SEC_FILE_MAX (64 * 1024)

static int name_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int name_char(int c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Length of a variable name at s, 0 if none. */
static size_t name_len(const char *s)
{
    size_t n = 0;
    if (!name_start((unsigned char)s[0]))
        return 0;
    while (name_char((unsigned char)s[n]))
        n++;
    return n;
}

enum sec_ref sec_classify(const char *text, char **name)
{
    *name = NULL;
    if (strncmp(text, "${", 2) != 0)
        return SEC_LITERAL;
    size_t n = name_len(text + 2);
    if (n == 0)
        return SEC_LITERAL;
    const char *after = text + 2 + n;
    enum sec_ref kind;
    if (strcmp(after, "}") == 0)
        kind = SEC_ENV;
    else if (strncmp(after, ":-", 2) == 0 && strchr(after, '}') == after + strlen(after) - 1)
        kind = SEC_ENV_DEFAULT;
    else
        return SEC_LITERAL;
    *name = strndup(text + 2, n);
    return *name ? kind : SEC_LITERAL;
}

static int has_line_break(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\0')
            return 1;
    return 0;
}

int sec_from_env(const char *name, char **out, struct ss_err *err)
{
    *out = NULL;
    const char *v = getenv(name);
    if (!v)
        return err_set(err, SS_ECONFIG, "environment variable %s is not set", name);
    if (!v[0])
        return err_set(err, SS_ECONFIG, "environment variable %s is empty", name);
    /* A line break would end the HTTP header the key is sent in. */
    if (has_line_break(v, strlen(v)))
        return err_set(err, SS_ECONFIG, "environment variable %s contains a line break", name);
    *out = strdup(v);
    if (!*out)
        return err_set(err, SS_ENOMEM, "out of memory");
    return 0;
}

int sec_from_file(const char *path, char **out, int *loose_mode, struct ss_err *err)
{
    int rc = -1, fd = -1;
    char *buf = NULL;
    struct stat st;

    *out = NULL;
    *loose_mode = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(err, SS_ECONFIG, "cannot read secret file %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        err_set(err, SS_ECONFIG, "secret file %s is not a regular file", path);
        goto out;
    }
    if (st.st_size > SEC_FILE_MAX) {
        err_set(err, SS_ECONFIG, "secret file %s is larger than %d bytes", path, SEC_FILE_MAX);
        goto out;
    }
    *loose_mode = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
    buf = malloc(SEC_FILE_MAX + 1);
    if (!buf) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, SEC_FILE_MAX + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            err_set(err, SS_ECONFIG, "cannot read secret file %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > SEC_FILE_MAX) {
            err_set(err, SS_ECONFIG, "secret file %s is larger than %d bytes", path, SEC_FILE_MAX);
            goto out;
        }
    }
    /* Editors and `echo` add one newline; more than that is a different value. */
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n == 0) {
        err_set(err, SS_ECONFIG, "secret file %s is empty", path);
        goto out;
    }
    if (has_line_break(buf, n)) {
        err_set(err, SS_ECONFIG, "secret file %s holds more than one line", path);
        goto out;
    }
    buf[n] = '\0';
    *out = strdup(buf);
    if (!*out) {
        err_set(err, SS_ENOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    if (buf) {
        explicit_bzero(buf, SEC_FILE_MAX + 1);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Appends n bytes to a growing string. */
static int grow_append(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap : 64);
        while (nc < *len + n + 1)
            nc *= 2;
        char *ns = realloc(*s, nc);
        if (!ns)
            return -1;
        *s = ns;
        *cap = nc;
    }
    memcpy(*s + *len, p, n);
    *len += n;
    (*s)[*len] = '\0';
    return 0;
}

char *sec_expand(const char *text, struct ss_err *err)
{
    char *s = NULL, *name = NULL;
    size_t len = 0, cap = 0;
    const char *p = text;

    if (grow_append(&s, &len, &cap, "", 0) != 0)
        goto nomem;
    while (*p) {
        const char *d = strstr(p, "${");
        if (!d) {
            if (grow_append(&s, &len, &cap, p, strlen(p)) != 0)
                goto nomem;
            break;
        }
        if (grow_append(&s, &len, &cap, p, (size_t)(d - p)) != 0)
            goto nomem;
        size_t n = name_len(d + 2);
        const char *after = d + 2 + n;
        const char *close = strchr(after, '}');
        if (n == 0 || !close || (close != after && strncmp(after, ":-", 2) != 0)) {
            err_set(err, SS_ECONFIG,
                    "malformed variable reference (write ${NAME} or ${NAME:-default})");
            goto fail;
        }
        name = strndup(d + 2, n);
        if (!name)
            goto nomem;
        const char *v = getenv(name);
        free(name);
        name = NULL;
        if (v && v[0]) {
            if (grow_append(&s, &len, &cap, v, strlen(v)) != 0)
                goto nomem;
        } else if (close != after) {
            if (grow_append(&s, &len, &cap, after + 2, (size_t)(close - after - 2)) != 0)
                goto nomem;
        }
        p = close + 1;
    }
    return s;
nomem:
    err_set(err, SS_ENOMEM, "out of memory");
fail:
    free(name);
    free(s);
    return NULL;
}

void sec_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}
