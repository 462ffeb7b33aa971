/* SPDX-License-Identifier: MIT */
/*
 * log.c — a printf subset that formats on the stack and writes with one
 * write(2).  The interposer may run inside malloc, inside a signal handler or
 * after fork, where stdio can deadlock or recurse into malloc.
 */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t put_str(char *buf, size_t cap, size_t pos, const char *s)
{
    if (!s) s = "(null)";
    while (*s && pos + 1 < cap) buf[pos++] = *s++;
    return pos;
}

static size_t put_uint(char *buf, size_t cap, size_t pos, unsigned long long v, unsigned base)
{
    char tmp[32];
    size_t n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v && n < sizeof tmp);
    while (n && pos + 1 < cap) buf[pos++] = tmp[--n];
    return pos;
}

static size_t put_int(char *buf, size_t cap, size_t pos, long long v)
{
    if (v < 0) {
        if (pos + 1 < cap) buf[pos++] = '-';
        return put_uint(buf, cap, pos, (unsigned long long)(-(v + 1)) + 1u, 10);
    }
    return put_uint(buf, cap, pos, (unsigned long long)v, 10);
}

size_t oh_vformat(char *buf, size_t cap, const char *fmt, va_list ap)
{
    size_t pos = 0;
    if (cap == 0) return 0;
    for (const char *f = fmt; *f && pos + 1 < cap; f++) {
        if (*f != '%') {
            buf[pos++] = *f;
            continue;
        }
        f++;
        bool left = false;
        size_t width = 0;
        if (*f == '-') left = true, f++;
        while (*f >= '0' && *f <= '9') width = width * 10 + (size_t)(*f++ - '0');
        size_t start = pos;
        int longs = 0, sz = 0;
        while (*f == 'l') longs++, f++;
        if (*f == 'z') sz = 1, f++;
        switch (*f) {
        case 's': pos = put_str(buf, cap, pos, va_arg(ap, const char *)); break;
        case 'c':
            if (pos + 1 < cap) buf[pos++] = (char)va_arg(ap, int);
            break;
        case 'd':
            if (sz) pos = put_int(buf, cap, pos, (long long)va_arg(ap, ptrdiff_t));
            else if (longs == 2) pos = put_int(buf, cap, pos, va_arg(ap, long long));
            else if (longs == 1) pos = put_int(buf, cap, pos, va_arg(ap, long));
            else pos = put_int(buf, cap, pos, va_arg(ap, int));
            break;
        case 'u':
        case 'x': {
            unsigned base = *f == 'x' ? 16u : 10u;
            unsigned long long v;
            if (sz) v = va_arg(ap, size_t);
            else if (longs == 2) v = va_arg(ap, unsigned long long);
            else if (longs == 1) v = va_arg(ap, unsigned long);
            else v = va_arg(ap, unsigned);
            pos = put_uint(buf, cap, pos, v, base);
            break;
        }
        case 'p':
            pos = put_str(buf, cap, pos, "0x");
            pos = put_uint(buf, cap, pos, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case '%': buf[pos++] = '%'; break;
        case '\0': f--; break;
        default: buf[pos++] = '?'; break;
        }
        size_t used = pos - start;
        if (used < width) {
            size_t pad = width - used;
            if (pos + pad + 1 > cap) pad = cap - 1 - pos;
            if (!left) memmove(buf + start + pad, buf + start, used);
            memset(left ? buf + pos : buf + start, ' ', pad);
            pos += pad;
        }
    }
    buf[pos] = '\0';
    return pos;
}

size_t oh_format(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = oh_vformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

int oh_write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static void vlog(const char *fmt, va_list ap)
{
    int saved = errno;
    char line[1024];
    size_t n = oh_format(line, sizeof line, "liboffheap: ");
    n += oh_vformat(line + n, sizeof line - n - 1, fmt, ap);
    line[n++] = '\n';
    (void)oh_write_all(STDERR_FILENO, line, n);
    errno = saved;
}

void oh_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void oh_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
    abort();
}
