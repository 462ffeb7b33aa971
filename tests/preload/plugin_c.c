/* SPDX-License-Identifier: MIT */
/* plugin_c.c — a C library scope_safety dlopens inside a scope: code, data
 * and dynamic TLS (allocated by ld.so on a thread's first access). */
#include <string.h>

static __thread char tls_buf[4096];
static __thread int tls_count;

__attribute__((visibility("default"))) int plug_c_add(int a, int b)
{
    return a + b;
}

__attribute__((visibility("default"))) int plug_c_tls(int v)
{
    tls_count += v;
    memset(tls_buf, 'x', sizeof tls_buf);
    return tls_count + (tls_buf[100] == 'x');
}

/* A lazily built global table, the kind of state a library caches on its
 * first use (README: not protected automatically; OFFHEAP_EXCLUDE or the
 * escape hatch protect it). */
#include <stdlib.h>
static char *table;

__attribute__((visibility("default"))) const char *plug_c_table(void)
{
    if (!table) {
        table = malloc(4096);
        if (table)
            for (int i = 0; i < 4096; i++) table[i] = (char)('A' + i % 26);
    }
    return table;
}

__attribute__((visibility("default"))) char *plug_c_strdup_like(const char *s)
{
    /* Returned to the caller: scoped unless the library is excluded. */
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}
