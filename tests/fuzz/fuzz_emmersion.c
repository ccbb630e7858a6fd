/* libFuzzer target for the Emmersion response parsers: bytes in, batch out,
 * no network or database (hiredis style). Any crash, leak or sanitizer
 * report is a bug; a clean return (0 or -1) is fine.
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DSS_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_emmersion
 *   build-fuzz/fuzz_emmersion -max_total_time=60 tests/fuzz/corpus
 * Built without -DSS_FUZZ it is a plain program that replays files given on
 * the command line (ctest runs it over the corpus). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vendors/emmersion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every parse must guarantee, whatever the input: a failure says why;
 * a success yields only keyed results, each tied to a candidate, with raw
 * JSON; every quarantine entry has a key and a reason. */
static void check(int rc, const struct ss_batch *b, const struct ss_err *err)
{
    if (rc != 0) {
        if (!err->msg[0])
            abort();
        return;
    }
    for (size_t i = 0; i < b->n_res; i++)
        if (!b->res[i].vendor_key || !b->res[i].candidate_key || !b->res[i].raw_json)
            abort();
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
    check(rc, &b, &err);
    batch_reset(&b);
    err_clear(&err);
    rc = emmersion_parse_assignments((const char *)data, size, &b, &n, &err);
    check(rc, &b, &err);
    batch_free(&b);
    return 0;
}

#ifndef SS_FUZZ
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        char *buf = NULL;
        size_t len = 0, cap = 0, got;
        char chunk[65536];
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (len + got > cap) {
                cap = (len + got) * 2;
                char *nb = realloc(buf, cap);
                if (!nb) {
                    free(buf);
                    fclose(f);
                    return 1;
                }
                buf = nb;
            }
            memcpy(buf + len, chunk, got);
            len += got;
        }
        fclose(f);
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        free(buf);
    }
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
#endif
