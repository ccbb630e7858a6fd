/* libFuzzer target for the response parsers of the Emmersion/TrueNorth
 * family (emmersion.h: /scores and /assignments bodies, used by both
 * emmersion and truenorth): bytes in, batch out, no network or database
 * (hiredis style). Each input goes the real parse path, jstream's element
 * reader then the per-record parser, and every result's raw JSON back through
 * reparse() (what `renormalize` does). Any crash, leak, sanitizer report or
 * broken invariant (check() below) is a bug; a clean failure (-1 with a
 * message) of a bad body is fine.
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSS_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_emmersion
 *   mkdir -p /tmp/fuzz-emmersion
 *   build-fuzz/fuzz_emmersion -max_total_time=60 /tmp/fuzz-emmersion tests/fuzz/corpus/emmersion
 * (libFuzzer writes new inputs into the first directory: keep the checked-in
 * corpus read-only and add an input there only when it is worth replaying.)
 * Built without -DSS_FUZZ it is a plain program that replays the files given
 * on the command line; ctest runs it over every file in tests/fuzz/corpus/emmersion. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/emmersion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every parse must guarantee, whatever the input: a failure says why;
 * a success yields only keyed candidates and keyed results, each tied to a
 * candidate and its stream, with raw JSON that reparses to the same result;
 * every quarantine entry has a key and a reason. */
static void check(int rc, const struct ss_batch *b, const struct ss_err *err, const char *stream)
{
    if (rc != 0) {
        if (!err->msg[0])
            abort();
        return;
    }
    for (size_t i = 0; i < b->n_cand; i++)
        if (!b->cand[i].vendor_key)
            abort();
    for (size_t i = 0; i < b->n_res; i++) {
        const struct ss_result *r = &b->res[i];
        if (!r->vendor_key || !r->candidate_key || !r->raw_json || !r->stream ||
            strcmp(r->stream, stream) != 0)
            abort();
        struct ss_result back;
        struct ss_err rerr = {0};
        result_init(&back);
        if (emm_family_reparse(NULL, stream, r->raw_json, strlen(r->raw_json), &back, &rerr) != 0 ||
            strcmp(back.vendor_key, r->vendor_key) != 0 || back.has_score != r->has_score ||
            back.started_at != r->started_at || back.completed_at != r->completed_at)
            abort();
        result_clear(&back);
    }
    for (size_t i = 0; i < b->n_quar; i++)
        if (!b->quar[i].record_key || !b->quar[i].reason || !b->quar[i].reason[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_batch b;
    struct ss_err err = {0};
    long n = 0;
    batch_init(&b);
    int rc = emmersion_parse_scores((const char *)data, size, &b, &n, &err);
    check(rc, &b, &err, "scores");
    batch_reset(&b);
    err_clear(&err);
    rc = emmersion_parse_assignments((const char *)data, size, &b, &n, &err);
    check(rc, &b, &err, "assignments");
    batch_free(&b);
    return 0;
}

#include "fuzz_replay.h"
