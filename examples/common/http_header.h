/* SPDX-License-Identifier: MIT */
/*
 * http_header.h — the one HTTP/1.1 header lookup the hand-written servers
 * share (examples/http-server, examples/uv-server).  Header-only.
 */
#ifndef HTTP_HEADER_H
#define HTTP_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* Case-insensitive search for header `name` in the header lines [h, end);
 * its value, trimmed, in *v and *vlen. */
static inline bool http_find_header(const char *h, const char *end, const char *name, const char **v, size_t *vlen)
{
    size_t nl = strlen(name);
    while (h < end) {
        const char *eol = memchr(h, '\n', (size_t)(end - h));
        if (!eol) eol = end;
        if ((size_t)(eol - h) > nl && strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *s = h + nl + 1, *e = eol;
            while (s < e && (*s == ' ' || *s == '\t')) s++;
            while (e > s && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) e--;
            *v = s;
            *vlen = (size_t)(e - s);
            return true;
        }
        h = eol + 1;
    }
    return false;
}

#endif
