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
