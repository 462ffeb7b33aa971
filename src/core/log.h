/* SPDX-License-Identifier: MIT */
/*
 * log.h — diagnostics on stderr without stdio or malloc (the interposer
 * cannot use either).  One call writes one line with one write(2).
 *
 * oh_log() understands %s %d %u %ld %lu %zu %zd %llu %x %lx %zx %p %c %%,
 * nothing else, with an optional '-' and width; the line is cut at 1 KiB.  Every line starts "liboffheap: ".
 */
#ifndef OH_LOG_H
#define OH_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

void oh_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Format into buf (always NUL-terminated); returns the length written. */
size_t oh_vformat(char *buf, size_t cap, const char *fmt, va_list ap);
size_t oh_format(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* write(2) all of buf to fd, retrying on EINTR; 0 or errno. */
int oh_write_all(int fd, const char *buf, size_t len);

/* Print a diagnostic and abort(): for misuse that would corrupt memory. */
__attribute__((noreturn)) void oh_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#pragma GCC visibility pop

#endif
