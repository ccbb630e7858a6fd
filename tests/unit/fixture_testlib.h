/* Shared by the vendor parser tests: reading a fixture of the source tree.
 * Header-only, included after <cmocka.h>: each test is its own program. */
#ifndef SS_FIXTURE_TESTLIB_H
#define SS_FIXTURE_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>

/* The source tree: $SS_SOURCE_DIR (ctest sets it), else the build's. */
static const char *source_dir(void)
{
    const char *d = getenv("SS_SOURCE_DIR");
    return d && *d ? d : SS_SOURCE_DIR;
}

/* The whole file rel (relative to the source tree), NUL-terminated, in a
 * malloc'd buffer the caller frees; fails the test if it cannot be read. */
static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", source_dir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

#endif
