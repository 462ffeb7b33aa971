/* SPDX-License-Identifier: MIT */
/*
 * caller.c — scope safety by caller.  Inside a scope, an allocation whose
 * immediate caller is libc or the dynamic loader is the runtime allocating
 * state for itself (stdio buffers, TLS tables of new threads, locale and tz
 * data, atexit lists, link maps, NSS caches, strerror buffers): it must
 * outlive the scope, so it goes to the heap.  libc's helpers whose results
 * belong to the caller (strdup, asprintf, getline, realpath, ...) are
 * interposed in preload/libc_transients.c and allocate as the program.
 *
 * The ranges are the executable segments of those objects, found once with
 * dl_iterate_phdr (which does not allocate); OFFHEAP_EXCLUDE adds the
 * objects whose file name contains one of its ':' or ',' separated words.
 * The check is a short loop over at most OH_MAX_RANGES pairs, run only for
 * allocations inside scopes.
 */
#include "scope.h"

#include "log.h"

#include <link.h>
#include <string.h>

#define OH_MAX_RANGES 32

/* The first two ranges found (libc's and ld.so's code, in practice) are
 * checked inline by the fast path; any further ones only when
 * oh_rt_extra says there are some. */
struct oh_range oh_rt[2];
unsigned oh_rt_extra;
static struct oh_range extra[OH_MAX_RANGES];

bool oh_caller_excluded(const void *ra)
{
    if (oh_caller_runtime(ra)) return true;
    for (unsigned i = 0; i < oh_rt_extra; i++) {
        if ((uintptr_t)ra - extra[i].lo < extra[i].len) return true;
    }
    return false;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Does `name` contain one of the words of `list` (separated by ':' or ',')? */
static bool matches_list(const char *name, const char *list)
{
    if (!list) return false;
    const char *w = list;
    while (*w) {
        size_t len = strcspn(w, ":,");
        if (len) {
            for (const char *n = name; *n; n++) {
                if (!strncmp(n, w, len)) return true;
            }
        }
        w += len;
        if (*w) w++;
    }
    return false;
}

static bool is_runtime(const char *name)
{
    return !strncmp(name, "libc.so", 7) || !strncmp(name, "ld-linux", 8) || !strncmp(name, "ld64.so", 7) ||
           !strncmp(name, "ld-musl", 7) || !strncmp(name, "libpthread.so", 13) ||
           !strncmp(name, "libdl.so", 8) || !strncmp(name, "librt.so", 8);
}

static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const char *exclude = data;
    const char *name = base_name(info->dlpi_name ? info->dlpi_name : "");
    if (!*name || !(is_runtime(name) || matches_list(name, exclude))) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        struct oh_range r = {info->dlpi_addr + ph->p_vaddr, ph->p_memsz};
        if (!oh_rt[0].len) oh_rt[0] = r;
        else if (!oh_rt[1].len) oh_rt[1] = r;
        else if (oh_rt_extra < OH_MAX_RANGES) extra[oh_rt_extra++] = r;
        else oh_log("more than %d excluded code segments; %s is not excluded", OH_MAX_RANGES + 2, name);
    }
    return 0;
}

void oh_caller_init(const char *exclude)
{
    memset(oh_rt, 0, sizeof oh_rt);
    oh_rt_extra = 0;
    dl_iterate_phdr(add_object, (void *)(uintptr_t)exclude);
}
