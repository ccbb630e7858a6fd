/* Shared by the scales tests: a scales file that must not load, and the
 * words its error must contain. Header-only: each test is its own program. */
#ifndef SS_SCALES_TESTLIB_H
#define SS_SCALES_TESTLIB_H

#include <string.h>

#include "normalize/norm.h"

static void load_bad(const char *yaml, const char *want1, const char *want2)
{
    struct ss_err err = {0};
    struct scales *s = (struct scales *)&err; /* must be reset to NULL */
    assert_int_equal(scales_load_string(yaml, "bad.yaml", &s, &err), -1);
    assert_null(s);
    assert_int_equal(err.code, SS_ECONFIG);
    if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
        print_error("message: %s\n", err.msg);
    assert_non_null(strstr(err.msg, want1));
    if (want2)
        assert_non_null(strstr(err.msg, want2));
}

#endif
