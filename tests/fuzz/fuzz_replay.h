/* fuzz_replay: the main() every fuzz target shares. Built with -DSS_FUZZ
 * (clang, libFuzzer) a target has libFuzzer's main; without it, this one
 * replays the files given on the command line through
 * LLVMFuzzerTestOneInput (ctest runs it over tests/fuzz/corpus/<name>/).
 * Include it once, at the end of the target's file. */
#ifndef SS_FUZZ_REPLAY_H
#define SS_FUZZ_REPLAY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

#endif
