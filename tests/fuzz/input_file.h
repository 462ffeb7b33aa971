/* SPDX-License-Identifier: MIT */
/*
 * input_file.h — reading one input file (an op script, a corpus seed), for
 * the drivers of the op interpreters: fuzz_main.c (fuzz_ops without
 * libFuzzer) and ops_replay.c.
 */
#ifndef INPUT_FILE_H
#define INPUT_FILE_H

#include <stdint.h>
#include <stdio.h>

/* The first MiB of the file at path, in a static buffer (valid until the
 * next call), with *n its length; NULL after perror(path) when the file
 * cannot be opened. */
static const uint8_t *read_input(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    static uint8_t buf[1 << 20];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

#endif
