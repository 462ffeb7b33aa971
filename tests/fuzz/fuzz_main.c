/* SPDX-License-Identifier: MIT */
/*
 * fuzz_main.c — a stand-in for libFuzzer's driver where the compiler is not
 * clang: runs LLVMFuzzerTestOneInput on every file named (directories are
 * walked one level) and then on -runs=N inputs from a seeded PRNG
 * (-seed=S, -max_len=L), so a gcc build still exercises the fuzz target.
 * Options it does not know (other libFuzzer flags) are ignored.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "input_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    size_t n;
    const uint8_t *buf = read_input(path, &n);
    if (!buf) return 1;
    /* Copy to an exact-size buffer so ASan sees overreads. */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) return 1;
    memcpy(copy, buf, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    return 0;
}

static int run_path(const char *path, unsigned *files)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        ++*files;
        return run_file(path);
    }
    DIR *d = opendir(path);
    if (!d) return 1;
    struct dirent *e;
    int rc = 0;
    char full[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        ++*files;
        rc |= run_file(full);
    }
    closedir(d);
    return rc;
}

static uint64_t rng;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    unsigned long runs = 1000, seed = 1, max_len = 4096;
    unsigned files = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6)) runs = strtoul(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-seed=", 6)) seed = strtoul(argv[i] + 6, NULL, 10);
        else if (!strncmp(argv[i], "-max_len=", 9)) max_len = strtoul(argv[i] + 9, NULL, 10);
        else if (!strncmp(argv[i], "-seed_inputs=", 13)) {
            char *list = strdup(argv[i] + 13);
            for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) rc |= run_path(tok, &files);
            free(list);
        } else if (argv[i][0] != '-') rc |= run_path(argv[i], &files);
    }
    if (rc) return rc;
    rng = seed * 0x9E3779B97F4A7C15ull + 1;
    if (max_len == 0) max_len = 1;
    uint8_t *buf = malloc(max_len);
    if (!buf) return 1;
    time_t t0 = time(NULL);
    const char *last = getenv("FUZZ_MAIN_LAST");
    for (unsigned long r = 0; r < runs; r++) {
        size_t n = (size_t)(next() % (max_len + 1));
        /* Mostly small op codes and arguments, as a mutator's inputs are. */
        for (size_t i = 0; i < n; i++) {
            uint64_t x = next();
            buf[i] = (x & 0x300) ? (uint8_t)x : (uint8_t)(x >> 16) & 0x1f;
        }
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy) return 1;
        memcpy(copy, buf, n);
        if (last) {
            /* FUZZ_MAIN_LAST=path: each input is written there first, so a
             * crash leaves its reproducer behind. */
            FILE *f = fopen(last, "wb");
            if (f) {
                fwrite(copy, 1, n, f);
                fclose(f);
            }
        }
        LLVMFuzzerTestOneInput(copy, n);
        free(copy);
    }
    free(buf);
    printf("fuzz_main: %u corpus files and %lu PRNG inputs (seed %lu) passed in %lds\n", files, runs, seed,
           (long)(time(NULL) - t0));
    return 0;
}
