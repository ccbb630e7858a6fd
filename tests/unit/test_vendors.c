/* Conformance of every vendor in vendor_registry: a new vendor is checked by
 * just being listed there.
 *   vendor_ops   name, title, streams, config schema (name, streams, secrets,
 *                options with docs), auth, extract/reparse, vendor_find and
 *                vendor_stream, cfg_vendor_schemas in step with the registry.
 *   fixtures     every tests/vendors/<vendor>/<stream>*.json (stream = the
 *                file name up to the first '_' or '.') goes through the
 *                vendor's real parse path: results are keyed, tied to a
 *                candidate and their stream, carry raw JSON; quarantine
 *                entries have a key and a reason; reparse() of each result's
 *                raw JSON gives the same result back. Every stream of every
 *                vendor has at least one fixture.
 * The parse path is the vendor's own parse_body(), the streaming path its
 * extract() uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeparse.h"
#include "vendors/emmersion.h"
#include "vendors/vendor.h"

#include "fixture_testlib.h"

static size_t count_vendors(void)
{
    size_t n = 0;
    while (vendor_registry[n])
        n++;
    return n;
}

/* Lower-case letters, digits and '_': names end up in config keys,
 * checkpoints, file names and log fields. */
static int is_identifier(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int in_choices(const char *value, const char *choices)
{
    size_t n = strlen(value);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return 1;
        p = bar ? bar + 1 : p + len;
    }
    return 0;
}

static void test_registry(void **state)
{
    (void)state;
    size_t n = count_vendors();
    assert_true(n > 0);
    assert_null(vendor_find("no-such-vendor"));
    for (size_t i = 0; i < n; i++) {
        const struct vendor_ops *v = vendor_registry[i];
        print_message("vendor %s\n", v->name ? v->name : "(null)");
        assert_true(is_identifier(v->name));
        assert_non_null(v->title);
        assert_true(v->title[0] != '\0');
        assert_ptr_equal(vendor_find(v->name), v);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(vendor_registry[j]->name, v->name);
        assert_non_null(v->extract);
        assert_non_null(v->reparse);
        /* config.c knows vendors only through cfg_vendor_schemas: the same
         * schemas, in the same order. */
        assert_ptr_equal(cfg_vendor_schemas[i], &v->config);

        /* Streams, and the schema's list of them in the same (sync) order. */
        const struct cfg_vendor_schema *c = &v->config;
        assert_non_null(c->name);
        assert_string_equal(c->name, v->name);
        assert_non_null(v->streams);
        assert_non_null(v->streams[0].name);
        assert_non_null(c->streams);
        size_t k = 0;
        for (const struct vendor_stream *s = v->streams; s->name; s++, k++) {
            assert_true(is_identifier(s->name));
            assert_ptr_equal(vendor_stream(v, s->name), s);
            assert_non_null(c->streams[k]);
            assert_string_equal(c->streams[k], s->name);
            for (const struct vendor_stream *t = v->streams; t < s; t++)
                assert_string_not_equal(t->name, s->name);
            if (s->recheck_statuses) {
                assert_non_null(s->recheck_statuses[0]);
                assert_non_null(s->recheck_column);
                assert_true(strcmp(s->recheck_column, "completed_at") == 0 ||
                            strcmp(s->recheck_column, "started_at") == 0);
            }
        }
        assert_null(c->streams[k]);
        assert_null(vendor_stream(v, "no-such-stream"));
        for (const char *const *d = c->default_streams; d && *d; d++)
            assert_non_null(vendor_stream(v, *d));

        assert_non_null(c->secrets);
        assert_non_null(c->secrets[0]);
        for (const char *const *s = c->secrets; *s; s++)
            assert_true(is_identifier(*s));

        for (const struct cfg_opt_def *o = c->opts; o && o->key; o++) {
            assert_true(is_identifier(o->key));
            assert_non_null(o->doc);
            assert_true(o->doc[0] != '\0');
            for (const struct cfg_opt_def *q = c->opts; q < o; q++)
                assert_string_not_equal(q->key, o->key);
            if (o->type == CFG_OPT_ENUM) {
                assert_non_null(o->choices);
                assert_true(o->choices[0] != '\0');
                if (o->def)
                    assert_true(in_choices(o->def, o->choices));
            }
            if (o->type == CFG_OPT_BOOL && o->def)
                assert_true(strcmp(o->def, "true") == 0 || strcmp(o->def, "false") == 0);
        }

        switch (v->auth) {
        case VA_BEARER:
            break;
        case VA_API_KEY:
            assert_non_null(v->auth_setup);
            break;
        case VA_SIGNED:
            assert_non_null(v->sign);
            break;
        }
        for (const struct vendor_status *st = v->statuses; st && st->status; st++)
            assert_true(st->status >= 100 && st->status <= 599);

        assert_non_null(v->parse_body);
    }
    assert_null(cfg_vendor_schemas[n]);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* One fixture through the vendor's parse path and back through reparse(). */
static void check_fixture(const struct vendor_ops *v, const char *stream, const char *path)
{
    print_message("  %s (stream %s)\n", path, stream);
    size_t len;
    char *body = slurp(path, &len);
    struct ss_batch b;
    batch_init(&b);
    struct ss_err err = {0};
    long records = 0;
    if (v->parse_body(v, stream, body, len, &b, &records, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    assert_true(records > 0);
    assert_true(b.n_res > 0);
    for (size_t i = 0; i < b.n_cand; i++)
        assert_non_null(b.cand[i].vendor_key);
    for (size_t i = 0; i < b.n_quar; i++) {
        assert_non_null(b.quar[i].record_key);
        assert_true(b.quar[i].record_key[0] != '\0');
        assert_non_null(b.quar[i].reason);
        assert_true(b.quar[i].reason[0] != '\0');
    }
    for (size_t i = 0; i < b.n_res; i++) {
        const struct ss_result *r = &b.res[i];
        assert_non_null(r->vendor_key);
        assert_true(r->vendor_key[0] != '\0');
        assert_non_null(r->candidate_key);
        /* ... of a candidate in the same batch */
        size_t c = 0;
        while (c < b.n_cand && strcmp(b.cand[c].vendor_key, r->candidate_key) != 0)
            c++;
        assert_true(c < b.n_cand);
        assert_non_null(r->stream);
        assert_string_equal(r->stream, stream);
        assert_non_null(r->raw_json);

        struct ss_result back;
        result_init(&back);
        if (v->reparse(v, stream, r->raw_json, strlen(r->raw_json), &back, &err) != 0)
            fail_msg("%s: reparse of %s: %s", path, r->vendor_key, err.msg);
        assert_non_null(back.vendor_key);
        assert_string_equal(back.vendor_key, r->vendor_key);
        assert_true(same_str(back.status_label, r->status_label));
        assert_int_equal(back.has_score, r->has_score);
        if (r->has_score)
            assert_true(back.score == r->score || (isnan(back.score) && isnan(r->score)));
        assert_true(back.completed_at == r->completed_at);
        assert_true(back.started_at == r->started_at);
        result_clear(&back);
    }
    batch_free(&b);
    free(body);
}

/* The stream a fixture is for: its name up to the first '_' or '.'. */
static void fixture_stream(const char *file, char *out, size_t n)
{
    size_t len = strcspn(file, "_.");
    snprintf(out, n, "%.*s", (int)len, file);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_fixtures(void **state)
{
    (void)state;
    char dir[1024], path[512], stream[128];
    for (size_t i = 0; vendor_registry[i]; i++) {
        const struct vendor_ops *v = vendor_registry[i];
        size_t n_streams = 0;
        while (v->streams[n_streams].name)
            n_streams++;
        int *seen = calloc(n_streams, sizeof *seen);
        assert_non_null(seen);
        snprintf(dir, sizeof dir, "%s/tests/vendors/%s", source_dir(), v->name);
        DIR *d = opendir(dir);
        if (!d)
            fail_msg("vendor %s has no fixtures: add %s/<stream>*.json", v->name, dir);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".json"))
                continue;
            fixture_stream(e->d_name, stream, sizeof stream);
            const struct vendor_stream *s = vendor_stream(v, stream);
            if (!s)
                fail_msg("%s/%s: vendor %s has no stream \"%s\"", dir, e->d_name, v->name, stream);
            seen[s - v->streams]++;
            snprintf(path, sizeof path, "tests/vendors/%s/%s", v->name, e->d_name);
            check_fixture(v, stream, path);
        }
        closedir(d);
        for (size_t k = 0; k < n_streams; k++)
            if (!seen[k])
                fail_msg("vendor %s stream %s has no fixture %s/%s*.json", v->name,
                         v->streams[k].name, dir, v->streams[k].name);
        free(seen);
    }

    /* No fixtures left behind for a vendor that is gone. */
    snprintf(dir, sizeof dir, "%s/tests/vendors", source_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (!vendor_find(e->d_name))
            fail_msg("%s/%s: no such vendor in vendor_registry", dir, e->d_name);
    }
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
