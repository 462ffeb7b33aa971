/* SPDX-License-Identifier: MIT */
/* preload.h — what the C++ operators (new_delete.cc) and the libc helpers
 * (libc_transients.c) need from malloc_glibc.c.  Valid C and C++. */
#ifndef OH_PRELOAD_H
#define OH_PRELOAD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One attempt to allocate for operator new (no new_handler loop): NULL on
 * failure.  align: a power of two; ra: the caller of operator new. */
void *oh_cxx_alloc(size_t n, size_t align, void *ra);

/* operator delete: size 0 when unknown, align 0 or <= 16 for default; ra:
 * the caller of operator delete. */
void oh_cxx_free(void *p, size_t size, size_t align, void *ra);

#ifndef __cplusplus
#pragma GCC visibility push(hidden)
/* malloc_glibc.c's own malloc, calloc and free under names the process
 * cannot rebind (init.c hands them to the PLT code). */
void *oh_malloc_self(size_t n);
void *oh_calloc_self(size_t count, size_t size);
void oh_free_self(void *p);
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
