/* SPDX-License-Identifier: MIT */
/* dormant_lib.c — a library the dormant test links (so it is loaded at
 * start, like any NEEDED library): its own PLT calls malloc and free. */
#include <stdlib.h>

__attribute__((visibility("default"))) void *dl_alloc(size_t n)
{
    return malloc(n);
}

__attribute__((visibility("default"))) void dl_free(void *p)
{
    free(p);
}
