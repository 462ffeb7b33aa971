/* SPDX-License-Identifier: MIT */
/*
 * strerror.c — offheap_strerror(): a static name for every code the API
 * returns.  No strerror(3): it may allocate (locale data) and its buffer is
 * not ours to hand out.
 */
#include "offheap_pool.h"

#include <errno.h>

const char *offheap_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case EINVAL: return "invalid argument";
    case ENOMEM: return "out of memory (pool cap or system refused)";
    case EBUSY: return "resource busy";
    case EAGAIN: return "resource temporarily unavailable";
    case ENOTSUP: return "operation not supported";
    case EDEADLK: return "operation would deadlock";
    case EPERM: return "operation not permitted";
    case ENOENT: return "no such setting";
    case ERANGE: return "result does not fit in the buffer";
    case ENOSYS: return "function not available (liboffheap.so not loaded)";
    default: return "unknown error";
    }
}
