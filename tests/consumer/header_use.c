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

static void header_use_sink(void *opaque, const char *text)
{
    (void)opaque;
    (void)text;
}

int header_use(void *p)
{
    offheap_stats st;
    offheap_scope_name_stats names[OFFHEAP_SCOPE_NAMES_MAX];
    size_t count = 0;
    char value[OFFHEAP_SCOPE_NAME_LEN + 1];
    const char *version;
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
    OFFHEAP_SCOPE_BEGIN_NAMED("header_use");
    OFFHEAP_SCOPE_END();
    r += OFFHEAP_THREAD_STATS_GET(&st);
    r += OFFHEAP_SCOPE_NAME_STATS_GET(names, OFFHEAP_SCOPE_NAMES_MAX, &count);
    r += OFFHEAP_STATS_PRINT_CB(header_use_sink, p, OFFHEAP_STATS_JSON);
    r += OFFHEAP_CONFIG_GET("pool_size", value, sizeof value);
    version = OFFHEAP_RUNTIME_VERSION();
    if (version && version[0] != OFFHEAP_VERSION[0]) r++;
#if OFFHEAP_VERSION_NUMBER >= 100
    r += OFFHEAP_VERSION_MAJOR + OFFHEAP_VERSION_MINOR + OFFHEAP_VERSION_PATCH;
#endif
#ifdef __cplusplus
    {
        offheap::scope s;
        offheap::escape e;
        r += offheap::loaded() ? 1 : 0;
    }
#endif
    return r + offheap_scope_depth();
}
