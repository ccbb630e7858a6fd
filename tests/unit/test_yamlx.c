/* yamlx: loading with file:line errors, node access, key paths, strict
 * scalars, key checks and the "did you mean" suggestion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/yamlx.h"

static const char *const doc_text = "name: demo\n"      /* 1 */
                                    "count: 3\n"        /* 2 */
                                    "quoted: \"3\"\n"   /* 3 */
                                    "ratio: 2.5\n"      /* 4 */
                                    "on: yes\n"         /* 5 */
                                    "nothing: ~\n"      /* 6 */
                                    "list: [a, b, c]\n" /* 7 */
                                    "map:\n"            /* 8 */
                                    "  inner: 1\n"      /* 9 */
                                    "  other: [x]\n";   /* 10 */

static void load(struct yx_doc *d, struct ss_err *err, const char *text)
{
    if (yx_load_string(d, text, strlen(text), "t.yaml", err) != 0)
        print_error("%s\n", err->msg);
    assert_int_equal(d->loaded, 1);
}

static void test_load(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct yx_doc d;

    load(&d, &err, doc_text);
    assert_non_null(yx_root(&d));
    assert_string_equal(d.file, "t.yaml");
    yx_doc_free(&d);
    yx_doc_free(&d); /* twice is harmless */

    /* a syntax error names file and line */
    assert_int_equal(yx_load_string(&d, "a: 1\nb: [\n", 10, "bad.yaml", &err), -1);
    assert_int_equal(err.code, SS_ECONFIG);
    assert_non_null(strstr(err.msg, "bad.yaml:"));
    assert_non_null(strstr(err.msg, "YAML syntax error"));
    yx_doc_free(&d);

    /* an empty input loads, without a root */
    assert_int_equal(yx_load_string(&d, "", 0, "empty.yaml", &err), 0);
    assert_null(yx_root(&d));
    yx_doc_free(&d);

    /* files: missing, too big, fine */
    assert_int_equal(yx_load_file(&d, "/nonexistent/x.yaml", 1024, &err), -1);
    assert_int_equal(err.code, SS_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/x.yaml"));
    yx_doc_free(&d);
    char path[] = "/tmp/test_yamlx.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, doc_text, strlen(doc_text)), (ssize_t)strlen(doc_text));
    close(fd);
    assert_int_equal(yx_load_file(&d, path, 10, &err), -1);
    assert_int_equal(err.code, SS_ETOOBIG);
    yx_doc_free(&d);
    assert_int_equal(yx_load_file(&d, path, strlen(doc_text), &err), 0);
    assert_string_equal(yx_scalar(yx_map_get(&d, yx_root(&d), "name")), "demo");
    yx_doc_free(&d);
    char *buf;
    size_t len;
    assert_int_equal(yx_read_file(path, 4096, &buf, &len, &err), 0);
    assert_int_equal(len, strlen(doc_text));
    assert_string_equal(buf, doc_text);
    free(buf);
    unlink(path);
}

static void test_nodes(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct yx_doc d;
    load(&d, &err, doc_text);
    yaml_node_t *root = yx_root(&d), *k, *v;
    assert_string_equal(yx_kind(root), "a mapping");
    assert_int_equal(yx_len(root), 8);
    assert_int_equal(yx_pair(&d, root, 1, &k, &v), 0);
    assert_string_equal(yx_key(k), "count");
    assert_string_equal(yx_scalar(v), "3");
    assert_int_equal(yx_line(v), 2);
    assert_int_equal(yx_pair(&d, root, 8, &k, &v), -1);

    yaml_node_t *list = yx_map_get(&d, root, "list");
    assert_string_equal(yx_kind(list), "a list");
    assert_int_equal(yx_len(list), 3);
    assert_string_equal(yx_scalar(yx_item(&d, list, 2)), "c");
    assert_null(yx_item(&d, list, 3));
    assert_null(yx_item(&d, root, 0)); /* not a list */
    assert_null(yx_scalar(list));
    assert_string_equal(yx_key(list), "");

    yaml_node_t *map = yx_map_get(&d, root, "map");
    assert_int_equal(yx_len(map), 2);
    assert_string_equal(yx_scalar(yx_map_get(&d, map, "inner")), "1");
    assert_null(yx_map_get(&d, map, "nope"));
    assert_string_equal(yx_kind(yx_map_get(&d, root, "name")), "a scalar");
    assert_string_equal(yx_kind(NULL), "nothing");
    assert_int_equal(yx_len(yx_map_get(&d, root, "name")), 0);

    assert_true(yx_is_null(yx_map_get(&d, root, "nothing")));
    assert_true(yx_is_null(NULL));
    assert_false(yx_is_null(yx_map_get(&d, root, "name")));
    assert_false(yx_is_null(list));
    assert_int_equal(yx_line(NULL), 0);
    yx_doc_free(&d);
}

static void test_paths(void **state)
{
    (void)state;
    char p[YX_PATH_MAX] = "";
    assert_int_equal(yx_path_key(p, "a"), 0);
    size_t b = yx_path_key(p, "b");
    assert_int_equal(b, 1);
    yx_path_idx(p, 2);
    yx_path_key(p, "c");
    assert_string_equal(p, "a.b[2].c");
    p[b] = '\0'; /* pop back to "a" */
    assert_string_equal(p, "a");
    yx_path(p, "%s[%d]", "list", 7);
    assert_string_equal(p, "list[7]");
    /* a long path is cut, never overrun */
    char big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    yx_path(p, "%s", big);
    assert_int_equal(strlen(p), YX_PATH_MAX - 1);
    yx_path_key(p, "more");
    assert_int_equal(strlen(p), YX_PATH_MAX - 1);
}

static void test_scalars(void **state)
{
    (void)state;
    long long i;
    double x;
    int b;
    assert_int_equal(yx_text_int("42", &i), 0);
    assert_int_equal(i, 42);
    assert_int_equal(yx_text_int("-7", &i), 0);
    assert_int_equal(i, -7);
    static const char *const bad_int[] = {"", "1.5", "0x10", "12a", "99999999999999999999", NULL};
    for (size_t k = 0; bad_int[k]; k++)
        assert_int_equal(yx_text_int(bad_int[k], &i), -1);
    assert_int_equal(yx_text_int(NULL, &i), -1);
    assert_int_equal(yx_text_number("2.5", &x), 0);
    assert_float_equal(x, 2.5, 0);
    static const char *const bad_num[] = {"", "inf", "nan", "1e999", "2,5", "1.5x", NULL};
    for (size_t k = 0; bad_num[k]; k++)
        assert_int_equal(yx_text_number(bad_num[k], &x), -1);
    assert_int_equal(yx_text_bool("yes", &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(yx_text_bool("false", &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(yx_text_bool("True", &b), -1);
    assert_int_equal(yx_text_bool("1", &b), -1);

    struct ss_err err = {0};
    struct yx_doc d;
    load(&d, &err, doc_text);
    yaml_node_t *root = yx_root(&d);
    assert_int_equal(yx_int(yx_map_get(&d, root, "count"), &i), 0);
    assert_int_equal(i, 3);
    /* quoted is a string, not a number */
    assert_int_equal(yx_int(yx_map_get(&d, root, "quoted"), &i), -1);
    assert_int_equal(yx_number(yx_map_get(&d, root, "quoted"), &x), -1);
    assert_int_equal(yx_number(yx_map_get(&d, root, "ratio"), &x), 0);
    assert_float_equal(x, 2.5, 0);
    assert_int_equal(yx_bool(yx_map_get(&d, root, "on"), &b), 0);
    assert_int_equal(b, 1);
    assert_int_equal(yx_int(yx_map_get(&d, root, "list"), &i), -1);
    assert_int_equal(yx_int(NULL, &i), -1);
    yx_doc_free(&d);
}

static void test_want(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct yx_doc d;
    load(&d, &err, doc_text);
    yaml_node_t *root = yx_root(&d);
    const char *str;
    int i, b;
    double x;

    assert_int_equal(yx_fail(&d, yx_map_get(&d, root, "ratio"), "ratio", "too %s", "big"), -1);
    assert_int_equal(err.code, SS_ECONFIG);
    assert_string_equal(err.msg, "t.yaml:4: ratio: too big");
    assert_int_equal(yx_fail(&d, root, NULL, "plain"), -1);
    assert_string_equal(err.msg, "t.yaml:1: plain");
    assert_int_equal(yx_oom(&d), -1);
    assert_int_equal(err.code, SS_ENOMEM);

    assert_int_equal(yx_want_string(&d, yx_map_get(&d, root, "name"), "name", &str), 0);
    assert_string_equal(str, "demo");
    assert_int_equal(yx_want_string(&d, yx_map_get(&d, root, "nothing"), "nothing", &str), -1);
    assert_non_null(strstr(err.msg, "t.yaml:6: nothing: expected a string, not null"));
    assert_int_equal(yx_want_string(&d, yx_map_get(&d, root, "list"), "list", &str), -1);
    assert_non_null(strstr(err.msg, "t.yaml:7: list: expected a string"));
    assert_int_equal(yx_want_type(&d, root, YAML_MAPPING_NODE, "(top)"), 0);
    assert_int_equal(yx_want_type(&d, yx_map_get(&d, root, "map"), YAML_SEQUENCE_NODE, "map"), -1);
    assert_non_null(strstr(err.msg, "map: expected a list"));
    assert_int_equal(yx_want_int(&d, yx_map_get(&d, root, "count"), "count", &i), 0);
    assert_int_equal(i, 3);
    assert_int_equal(yx_want_int(&d, yx_map_get(&d, root, "ratio"), "ratio", &i), -1);
    assert_non_null(strstr(err.msg, "expected an integer, got \"2.5\""));
    assert_int_equal(yx_want_int(&d, yx_map_get(&d, root, "quoted"), "quoted", &i), -1);
    assert_non_null(strstr(err.msg, "t.yaml:3: quoted: expected an integer"));
    assert_int_equal(yx_want_number(&d, yx_map_get(&d, root, "ratio"), "ratio", &x), 0);
    assert_int_equal(yx_want_number(&d, yx_map_get(&d, root, "name"), "name", &x), -1);
    assert_non_null(strstr(err.msg, "expected a number, got \"demo\""));
    assert_int_equal(yx_want_bool(&d, yx_map_get(&d, root, "on"), "on", &b), 0);
    assert_int_equal(yx_want_bool(&d, yx_map_get(&d, root, "count"), "count", &b), -1);
    assert_non_null(strstr(err.msg, "true or false"));

    assert_int_equal(yx_need(&d, root, root, "x", "y"), 0);
    assert_int_equal(yx_need(&d, yx_map_get(&d, root, "map"), NULL, "map", "colour"), -1);
    assert_string_equal(err.msg, "t.yaml:9: map.colour: missing");
    yx_doc_free(&d);
}

static void test_keys(void **state)
{
    (void)state;
    struct ss_err err = {0};
    struct yx_doc d;
    static const char *const names[] = {"rank", "label", "aliases", NULL};
    const yaml_node_t *vals[3];

    assert_int_equal(yx_edit_distance("colour", "color"), 1);
    assert_int_equal(yx_edit_distance("", "abc"), 3);
    assert_int_equal(yx_edit_distance("same", "same"), 0);
    assert_int_equal(yx_edit_distance("kitten", "sitting"), 3);
    char longkey[50];
    memset(longkey, 'k', 49);
    longkey[49] = '\0';
    assert_int_equal(yx_edit_distance(longkey, "k"), SIZE_MAX);
    assert_string_equal(yx_suggest("lable", names), "label");
    assert_string_equal(yx_suggest("ranks", names), "rank");
    assert_null(yx_suggest("colour", names));
    struct yx_suggest sg = {NULL, SIZE_MAX};
    yx_suggest_try(&sg, "alias", "aliases");
    yx_suggest_try(&sg, "alias", "label");
    assert_string_equal(sg.best, "aliases");

    load(&d, &err,
         "a: {rank: 1, lable: x}\nb: {rank: 1, colour: red}\nc: {rank: 1, label: y}\n"
         "d: {rank: 1, rank: 2}\n");
    yaml_node_t *root = yx_root(&d);
    assert_int_equal(yx_check_keys(&d, root, ""), 0);
    assert_int_equal(yx_take_keys(&d, yx_map_get(&d, root, "a"), "a", names, vals), -1);
    assert_string_equal(err.msg,
                        "t.yaml:1: a.lable: unknown key \"lable\" (did you mean \"label\"?)");
    assert_int_equal(yx_take_keys(&d, yx_map_get(&d, root, "b"), "b", names, vals), -1);
    assert_string_equal(err.msg, "t.yaml:2: b.colour: unknown key (expected rank, label, aliases)");
    assert_int_equal(yx_take_keys(&d, yx_map_get(&d, root, "c"), "c", names, vals), 0);
    assert_string_equal(yx_scalar(vals[0]), "1");
    assert_string_equal(yx_scalar(vals[1]), "y");
    assert_null(vals[2]);
    assert_int_equal(yx_check_keys(&d, yx_map_get(&d, root, "d"), "d"), -1);
    assert_string_equal(err.msg, "t.yaml:4: d.rank: duplicate key (first on line 4)");
    assert_int_equal(yx_take_keys(&d, yx_map_get(&d, root, "d"), "d", names, vals), -1);
    /* a list is not a mapping */
    yx_doc_free(&d);
    load(&d, &err, "- 1\n");
    assert_int_equal(yx_check_keys(&d, yx_root(&d), "top"), -1);
    assert_non_null(strstr(err.msg, "top: expected a mapping"));
    yx_doc_free(&d);
    /* keys must be strings */
    load(&d, &err, "? [a]\n: 1\n");
    assert_int_equal(yx_check_keys(&d, yx_root(&d), "top"), -1);
    assert_non_null(strstr(err.msg, "keys must be strings"));
    yx_doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),    cmocka_unit_test(test_nodes), cmocka_unit_test(test_paths),
        cmocka_unit_test(test_scalars), cmocka_unit_test(test_want),  cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
