/* SPDX-License-Identifier: MIT */
/*
 * block.h — the layout of a scope block, defined once for the inline path,
 * the engine, check mode and the statistics.
 *
 * An 8-byte header right before every user pointer holds the block's span:
 * its usable size plus the header itself, so the inline path stores the
 * rounded size it already has.  Spans are multiples of 16 and the bump
 * position is kept at 8 mod 16, so header + user pointer need no padding
 * and user pointers are 16-byte aligned.
 */
#ifndef OH_BLOCK_H
#define OH_BLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

#define OH_BLOCK_HDR 8u    /* bytes of header before each user pointer */
#define OH_BLOCK_ALIGN 16u /* alignment of every user pointer */

/* The span of a block of n bytes: n + header, rounded to the alignment.
 * The caller makes sure n + OH_BLOCK_HDR + 15 does not overflow (the
 * inline path's n < route does, thread.h). */
static inline size_t oh_block_span(size_t n)
{
    return (n + OH_BLOCK_HDR + OH_BLOCK_ALIGN - 1) & ~(size_t)(OH_BLOCK_ALIGN - 1);
}

/* Write the header of the block whose header is at h and return its user
 * pointer. */
static inline void *oh_block_set(char *h, size_t span)
{
    *(uint64_t *)(void *)h = span;
    return h + OH_BLOCK_HDR;
}

/* Usable bytes of the block at user pointer p. */
static inline size_t oh_block_usable(const void *p)
{
    return (size_t)((const uint64_t *)p)[-1] - OH_BLOCK_HDR;
}

/* Header address of user pointer p. */
static inline char *oh_block_header(void *p)
{
    return (char *)p - OH_BLOCK_HDR;
}

#pragma GCC visibility pop

#endif
