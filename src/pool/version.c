/* SPDX-License-Identifier: MIT */
/*
 * version.c — offheap_version(), exported by both libraries (the explicit
 * API's liboffheap_pool.so and the preload liboffheap.so, which contains
 * it too): the version the library was built as, from the one place it is
 * kept (include/offheap_version.h).
 */
#include "offheap_pool.h"

const char *offheap_version(void)
{
    return OFFHEAP_VERSION;
}
