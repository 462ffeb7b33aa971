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

static struct {
    uintptr_t lo;
    uintptr_t len;
} ranges[OH_MAX_RANGES];
static unsigned nranges;

bool oh_caller_excluded(const void *ra)
{
    for (unsigned i = 0; i < nranges; i++) {
        if ((uintptr_t)ra - ranges[i].lo < ranges[i].len) return true;
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
        if (nranges == OH_MAX_RANGES) {
            oh_log("more than %d excluded code segments; %s is not excluded", OH_MAX_RANGES, name);
            return 0;
        }
        ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
        ranges[nranges].len = ph->p_memsz;
        nranges++;
    }
    return 0;
}

void oh_caller_init(const char *exclude)
{
    nranges = 0;
    dl_iterate_phdr(add_object, (void *)(uintptr_t)exclude);
}
