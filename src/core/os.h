/* SPDX-License-Identifier: MIT */
/*
 * os.h — the only interface between liboffheap and the operating system's
 * memory calls.  Exactly one os_<platform>.c implements it.
 *
 * Contract for every function: addresses are page aligned, sizes are
 * non-zero multiples of the page size (the caller rounds), results are 0 or
 * an errno value, errno itself is left as it was.  Nothing here allocates
 * through malloc, so the interposer may call any of it.
 */
#ifndef OH_OS_H
#define OH_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* Page size and huge page size in bytes (huge: 0 when unknown). */
size_t oh_os_page_size(void);
size_t oh_os_huge_page_size(void);

/* Reserve `size` bytes of readable-writable address space aligned to `align`
 * (a power of two >= page size) without committing memory (MAP_NORESERVE).
 * With huge set, try MAP_HUGETLB first, then fall back to normal pages with
 * transparent huge pages requested; *got_huge tells which (may be NULL).
 * Returns the base or NULL (ENOMEM or the refusal's errno in *err). */
void *oh_os_reserve(size_t size, size_t align, bool huge, bool *got_huge, int *err);

/* Side tables: `bytes` rounded up to whole pages, page-aligned, not huge,
 * untouched until used.  NULL when the address space is refused. */
void *oh_os_reserve_pages(size_t bytes);

/* Unmap a reservation made by oh_os_reserve (whole or part). */
void oh_os_unreserve(void *addr, size_t size);

/* Make the pages resident now (prealloc).  0 or ENOMEM. */
int oh_os_commit(void *addr, size_t size);

/* Give the pages back: contents become zero on next touch.  0 or errno. */
int oh_os_decommit(void *addr, size_t size);

/* Change protection.  0 or errno (errno itself is kept). */
enum oh_os_prot { OH_PROT_NONE, OH_PROT_READ, OH_PROT_RW };
int oh_os_protect(void *addr, size_t size, enum oh_os_prot prot);

/* madvise with a raw advice value; 0 or errno. */
int oh_os_advise(void *addr, size_t size, int advice);

/* Bytes currently mapped through oh_os_reserve and not unmapped (for tests
 * that prove a rollback gave everything back). */
size_t oh_os_mapped_bytes(void);

/* Map a whole file read-only (private) for reading: its address and, in
 * *len, its size, or NULL (the file cannot be opened, is empty or cannot
 * be mapped).  Unmap it with oh_os_unmap_file.  The size contract above
 * does not apply: any file size is accepted. */
const void *oh_os_map_file(const char *path, size_t *len);
void oh_os_unmap_file(const void *map, size_t len);

/* One mapping of the process, as /proc/self/maps describes it. */
struct oh_os_mapping {
    uintptr_t lo, hi;   /* [lo, hi) */
    bool read, write;   /* protection */
    bool shared;        /* MAP_SHARED (else private) */
    bool file;          /* backed by a file (else anonymous or special) */
    bool special;       /* a kernel area: [stack], [vvar], [vdso], [heap] is not special */
};

/* Call fn for every mapping of the process, in address order, until it
 * returns false.  Reads /proc/self/maps in pieces through a stack buffer:
 * no malloc, and the list may change while it is read (each line is a
 * mapping that existed at some instant).  0, or the errno of a failed
 * open/read. */
int oh_os_each_mapping(bool (*fn)(const struct oh_os_mapping *m, void *arg), void *arg);

/* Copy len bytes of this process's memory at src to dst, like memcpy, but
 * a range that is not mapped (any more) is not a fault: returns the bytes
 * copied before the first unreadable page (process_vm_readv on Linux).
 * Returns (size_t)-1 when the system refuses the call itself (seccomp,
 * old kernel): the caller must not read such memory directly. */
size_t oh_os_read_self(void *dst, const void *src, size_t len);

/* Which pages of [addr, addr + n pages) are resident: vec[i] & 1 for page
 * i (mincore).  addr page aligned.  0 or errno (ENOMEM: part of the range
 * is not mapped). */
int oh_os_resident(const void *addr, size_t pages, unsigned char *vec);

/* Resident set size of the process in bytes, 0 when unreadable. */
size_t oh_os_rss(void);

#pragma GCC visibility pop

#endif
