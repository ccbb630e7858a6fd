/* libFuzzer target for jstream, the streaming element reader: bytes in,
 * callbacks out, no network or database. Each input is read in three shapes
 * (container member with small limits, root container, object container
 * without on_bad), each fed whole, in odd-sized chunks and (small inputs) a
 * byte at a time: all feedings must agree on every callback (bytes, keys,
 * indices), on the end and on the error message. Any crash, disagreement,
 * leak or sanitizer report is a bug; a clean failure of the document is fine.
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSS_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_jstream
 *   build-fuzz/fuzz_jstream -max_total_time=60 tests/fuzz/corpus/jstream
 * Built without -DSS_FUZZ it is a plain program that replays files given on
 * the command line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/jstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mode {
    const char *container;
    size_t max_element, max_member;
    int max_depth;
    int with_member, with_bad, missing_ok;
    long stop_at; /* on_element stops reading at this index; -1 = never */
};

static const struct mode MODES[] = {
    {"userScores", 64, 32, 4, 1, 1, 0, -1},
    {NULL, 0, 0, 0, 0, 1, 0, 3},
    {"candidates", 128, 0, 3, 1, 0, 1, -1},
};

/* What one feeding saw: a hash over every callback and its arguments. */
struct seen {
    const struct mode *m;
    const uint8_t *in; /* the one chunk, when fed whole (texts then point into it) */
    size_t in_len;
    uint64_t h;
    size_t n;
};

static void mix(struct seen *v, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        v->h = (v->h ^ b[i]) * 0x100000001b3ULL;
    v->h = (v->h ^ n) * 0x100000001b3ULL;
}

static void mix_key(struct seen *v, const char *key)
{
    if (key)
        mix(v, key, strlen(key));
    else
        mix(v, "(null)", 7);
}

static int on_element(void *arg, const char *key, size_t index, const char *json, size_t len,
                      struct ss_err *err)
{
    struct seen *v = arg;
    size_t max = v->m->max_element ? v->m->max_element : (size_t)16 << 20;
    if (len == 0 || len > max)
        abort();
    /* Fed whole, an element is handed over in place: its bytes are the input's. */
    if (v->in && ((const uint8_t *)json < v->in || (const uint8_t *)json + len > v->in + v->in_len))
        abort();
    mix(v, "E", 1);
    mix_key(v, key);
    mix(v, &index, sizeof index);
    mix(v, json, len);
    v->n++;
    if (v->m->stop_at >= 0 && (size_t)v->m->stop_at == index)
        return err_set(err, SS_EINVAL, "stopped at %zu", index);
    return 0;
}

static int on_member(void *arg, const char *key, const char *json, size_t len, struct ss_err *err)
{
    struct seen *v = arg;
    (void)err;
    if (!key || len == 0 || len > (v->m->max_member ? v->m->max_member : (size_t)64 << 10))
        abort();
    mix(v, "M", 1);
    mix_key(v, key);
    mix(v, json, len);
    return 0;
}

static int on_bad(void *arg, const char *key, size_t index, const char *reason, const char *prefix,
                  size_t prefix_len, struct ss_err *err)
{
    struct seen *v = arg;
    (void)err;
    if (!reason || !reason[0] || prefix_len == 0 || prefix_len > 256)
        abort();
    mix(v, "B", 1);
    mix_key(v, key);
    mix(v, &index, sizeof index);
    mix(v, reason, strlen(reason));
    mix(v, prefix, prefix_len);
    v->n++;
    return 0;
}

struct outcome {
    int rc_feed, rc_finish;
    char msg[sizeof((struct ss_err *)0)->msg];
    uint64_t h;
    size_t n, count, bytes;
};

/* Feeds data in chunks of `chunk` bytes (0 = whole). */
static void run(const struct mode *m, const uint8_t *data, size_t size, size_t chunk,
                struct outcome *o)
{
    struct seen v = {.m = m, .h = 0xcbf29ce484222325ULL};
    struct jstream_opts opts = {
        .container = m->container,
        .max_element = m->max_element,
        .max_member = m->max_member,
        .max_depth = m->max_depth,
        .on_element = on_element,
        .on_member = m->with_member ? on_member : NULL,
        .on_bad = m->with_bad ? on_bad : NULL,
        .arg = &v,
    };
    struct jstream *s = jstream_new(&opts);
    if (!s)
        abort();
    struct ss_err err = {0};
    memset(o, 0, sizeof *o);
    o->rc_finish = -2;
    for (size_t at = 0; at < size && o->rc_feed == 0;) {
        size_t n = chunk && chunk < size - at ? chunk : size - at;
        /* Each chunk in its own allocation, so ASan sees a read past it. */
        char *c = malloc(n);
        if (!c)
            abort();
        memcpy(c, data + at, n);
        if (chunk == 0) {
            v.in = (const uint8_t *)c;
            v.in_len = n;
        }
        o->rc_feed = jstream_feed(s, c, n, &err);
        free(c);
        at += n;
    }
    if (o->rc_feed == 0)
        o->rc_finish = jstream_finish(s, m->missing_ok, &err);
    if ((o->rc_feed || o->rc_finish) && !err.msg[0])
        abort();
    if (o->rc_feed || o->rc_finish)
        memcpy(o->msg, err.msg, sizeof o->msg);
    o->h = v.h;
    o->n = v.n;
    o->count = jstream_count(s);
    if (o->count != v.n)
        abort();
    if (o->rc_feed == 0 && jstream_bytes(s) != size)
        abort();
    /* Reset makes it usable again: a small good document reads cleanly. */
    jstream_reset(s);
    if (jstream_count(s) || jstream_bytes(s))
        abort();
    char good[64];
    int n = snprintf(good, sizeof good, m->container ? "{\"%s\":[1]}" : "[1]",
                     m->container ? m->container : "");
    v.in = NULL;
    if (jstream_feed(s, good, (size_t)n, &err) || jstream_finish(s, 0, &err) ||
        jstream_count(s) != 1)
        abort();
    jstream_free(s);
}

static void same(const struct outcome *a, const struct outcome *b)
{
    if (a->rc_feed != b->rc_feed || a->rc_finish != b->rc_finish || a->h != b->h || a->n != b->n ||
        strcmp(a->msg, b->msg) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof MODES / sizeof *MODES; i++) {
        struct outcome whole, part;
        run(&MODES[i], data, size, 0, &whole);
        run(&MODES[i], data, size, 1 + size % 13, &part);
        same(&whole, &part);
        run(&MODES[i], data, size, 1 + size % 4093, &part);
        same(&whole, &part);
        if (size <= 4096) {
            run(&MODES[i], data, size, 1, &part);
            same(&whole, &part);
        }
    }
    return 0;
}

#include "fuzz_replay.h"
