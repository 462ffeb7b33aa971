/* SPDX-License-Identifier: MIT */
/*
 * plugin_ctor.c — preloaded next to liboffheap.so (before or after it in
 * LD_PRELOAD): its constructor allocates with every entry point, possibly
 * before liboffheap's own constructor ran; its destructor checks the blocks
 * and frees them (exit status 9 on corruption).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *early[64];
static void *aligned;

__attribute__((constructor)) static void early_allocs(void)
{
    for (int i = 0; i < 64; i++) {
        early[i] = i % 2 ? malloc(1 + (size_t)i * 100) : calloc(1, 1 + (size_t)i * 100);
        if (!early[i]) _exit(9);
        memset(early[i], i, 1 + (size_t)i * 100);
    }
    early[0] = realloc(early[0], 5000);
    free(early[1]);
    early[1] = strdup("early");
    aligned = aligned_alloc(4096, 4096);
    if (!early[0] || !early[1] || !aligned || ((size_t)aligned & 4095)) _exit(9);
    memset(aligned, 7, 4096);
}

__attribute__((destructor)) static void check_and_free(void)
{
    for (int i = 2; i < 64; i++) {
        for (size_t k = 0; k < 1 + (size_t)i * 100; k++)
            if (early[i][k] != (char)i) {
                fprintf(stderr, "FAIL: a block allocated before main (%d) changed\n", i);
                _exit(9);
            }
        if (malloc_usable_size(early[i]) < 1 + (size_t)i * 100) _exit(9);
        free(early[i]);
    }
    if (strcmp(early[1], "early") || ((unsigned char *)aligned)[4095] != 7) {
        fprintf(stderr, "FAIL: an early block changed\n");
        _exit(9);
    }
    early[0] = realloc(early[0], 10);
    free(early[0]);
    free(early[1]);
    free(aligned);
}
