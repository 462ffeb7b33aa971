/* SPDX-License-Identifier: MIT */
/*
 * header_use.c — uses everything offheap.h (and, as C++, offheap.hpp)
 * offers, so that header_warnings.sh can compile it with a compiler's
 * strictest warnings and -Werror: as C11 with gcc and clang -Weverything, as
 * C++11 and C++17 with g++ (-Wzero-as-null-pointer-constant,
 * -Wold-style-cast, ...) and clang++ -Weverything.  Compiled, never run.
 */
#include <offheap.h>
#ifdef __cplusplus
#include <offheap.hpp>
#endif

int header_use(void *p);

int header_use(void *p)
{
    offheap_stats st;
    int r = 0;
    OFFHEAP_SCOPE_BEGIN();
    OFFHEAP_ESCAPE_BEGIN();
    OFFHEAP_ESCAPE_END();
    OFFHEAP_SCOPE_END();
    OFFHEAP_SCOPE
    {
        OFFHEAP_SCOPE
        {
            r += OFFHEAP_SCOPE_DEPTH();
            OFFHEAP_ESCAPE
            {
                r += OFFHEAP_OWNS(p);
            }
        }
    }
    r += OFFHEAP_THREAD_TAG();
    r += OFFHEAP_THREAD_RESET();
    r += OFFHEAP_THREAD_UNTAG();
    r += OFFHEAP_STATS_GET(&st);
    r += OFFHEAP_STATS_PRINT(2, 0);
    r += OFFHEAP_LOADED();
#ifdef __cplusplus
    {
        offheap::scope s;
        offheap::escape e;
        r += offheap::loaded() ? 1 : 0;
    }
#endif
    return r + offheap_scope_depth();
}
