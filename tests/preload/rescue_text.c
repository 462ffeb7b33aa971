/* SPDX-License-Identifier: MIT */
/*
 * rescue_text.c — libph_text.so for rescue.c: a library that knows nobody
 * (no DT_NEEDED on the others) and returns results its callers own, from
 * two call sites: one whose result the program hands to libph_keep, one
 * whose results die in their scope.
 */
#include <stdlib.h>
#include <string.h>

__attribute__((visibility("default"))) char *text_make(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

__attribute__((visibility("default"))) char *text_temp(size_t n)
{
    char *p = malloc(n);
    if (p) memset(p, 't', n);
    return p;
}
