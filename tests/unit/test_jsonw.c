/* jsonw: commas between members, escaping, and sticky failure at the
 * buffer's cap; every document it writes must parse back with json-c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <json-c/json.h>
#include <string.h>

#include "core/jsonw.h"

static json_object *parse(const struct buf *b)
{
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, b->data, (int)b->len);
    if (o && (json_tokener_get_error(tok) != json_tokener_success ||
              (size_t)tok->char_offset != b->len)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static void test_structure(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    struct jsonw w;
    jw_init(&w, &b);
    jw_open(&w, '{');
    jw_kstr(&w, "a", "x");
    jw_kint(&w, "n", -42);
    jw_kbool(&w, "t", 1);
    jw_knull(&w, "z");
    jw_kstr(&w, "s", NULL);
    jw_krawf(&w, "score", "%d.%d0", 8, 0);
    jw_key(&w, "list");
    jw_open(&w, '[');
    jw_int(&w, 1);
    jw_str(&w, "two");
    jw_open(&w, '{');
    jw_close(&w, '}');
    jw_open(&w, '[');
    jw_close(&w, ']');
    jw_null(&w);
    jw_bool(&w, 0);
    jw_raw(&w, "[1,2]");
    jw_close(&w, ']');
    jw_key(&w, "empty");
    jw_open(&w, '{');
    jw_close(&w, '}');
    jw_close(&w, '}');
    assert_false(w.failed);
    assert_string_equal(b.data, "{\"a\":\"x\",\"n\":-42,\"t\":true,\"z\":null,\"s\":null,"
                                "\"score\":8.00,\"list\":[1,\"two\",{},[],null,false,[1,2]],"
                                "\"empty\":{}}");
    json_object *o = parse(&b);
    assert_non_null(o);
    json_object_put(o);
    buf_free(&b);
}

static void test_escaping(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    const char *s = "q\"b\\n\nt\tr\rc\x01\x1f utf8: Zoë 日本語 🙂 /";
    assert_int_equal(jsonw_str(&b, s), 0);
    assert_string_equal(b.data,
                        "\"q\\\"b\\\\n\\nt\\tr\\rc\\u0001\\u001f utf8: Zoë 日本語 🙂 /\"");
    json_object *o = parse(&b);
    assert_non_null(o);
    assert_string_equal(json_object_get_string(o), s); /* round trip */
    json_object_put(o);
    buf_reset(&b);
    assert_int_equal(jsonw_str(&b, NULL), 0);
    assert_string_equal(b.data, "null");
    buf_reset(&b);
    assert_int_equal(jsonw_str(&b, ""), 0);
    assert_string_equal(b.data, "\"\"");
    /* Keys are escaped too. */
    buf_reset(&b);
    struct jsonw w;
    jw_init(&w, &b);
    jw_open(&w, '{');
    jw_kstr(&w, "k\"ey", "v");
    jw_close(&w, '}');
    assert_string_equal(b.data, "{\"k\\\"ey\":\"v\"}");
    buf_free(&b);
}

static void test_sticky_failure(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16);
    struct jsonw w;
    jw_init(&w, &b);
    jw_open(&w, '[');
    for (int i = 0; i < 10; i++)
        jw_str(&w, "abcdef");
    assert_true(w.failed);
    size_t len = b.len;
    jw_close(&w, ']');
    jw_int(&w, 1);
    assert_true(w.failed);
    assert_true(b.len == len && len <= 16); /* nothing after the failure */
    assert_int_equal(jsonw_str(&b, "0123456789abcdefgh"), -1);
    buf_free(&b);

    /* Misuse fails too: closing what is not open, a wrong bracket, depth. */
    buf_init(&b, 0);
    jw_init(&w, &b);
    jw_close(&w, '}');
    assert_true(w.failed);
    jw_init(&w, &b);
    jw_open(&w, 'x');
    assert_true(w.failed);
    jw_init(&w, &b);
    for (int i = 0; i <= JSONW_MAX_DEPTH; i++)
        jw_open(&w, '[');
    assert_true(w.failed);
    /* A formatted value longer than 512 bytes. */
    char big[600];
    memset(big, '7', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    jw_init(&w, &b);
    jw_rawf(&w, "%s", big);
    assert_true(w.failed);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_sticky_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
