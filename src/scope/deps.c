/* SPDX-License-Identifier: MIT */
/*
 * deps.c — DT_NEEDED walks over the loaded objects (deps.h).  A snapshot of
 * dl_iterate_phdr's records is taken per question, so the walk never runs
 * inside the loader's callback (which holds the loader's lock).
 */
#include "scope/deps.h"

#include "core/elf_dyn.h"
#include "core/util.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#define MAX_OBJS 512u
#define MAX_DEPTH 3

static struct dl_phdr_info objs[MAX_OBJS];
static uint32_t nobjs;
static uint64_t visited[MAX_OBJS / 64];

static int snapshot(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (nobjs < MAX_OBJS) objs[nobjs++] = *info;
    return 0;
}

/* The strings of the object's dynamic section (oh_elf_dyn_read). */
static const char *strtab_of(const struct dl_phdr_info *o)
{
    struct oh_elf_dyn d;
    return oh_elf_dyn_read(o, &d) ? d.strtab : NULL;
}

/* Does object i answer to the DT_NEEDED name n (file name or soname)? */
static bool named(uint32_t i, const char *n)
{
    const char *path = objs[i].dlpi_name;
    if (path && *path && strcmp(oh_base_name(path), n) == 0) return true;
    const ElfW(Dyn) *d = oh_elf_dynamic(&objs[i]);
    const char *str = strtab_of(&objs[i]);
    for (; str && d->d_tag != DT_NULL; d++)
        if (d->d_tag == DT_SONAME && strcmp(str + d->d_un.d_val, n) == 0) return true;
    return false;
}

static int32_t index_of_pc(uintptr_t pc)
{
    for (uint32_t i = 0; i < nobjs; i++)
        if (oh_elf_load_span(&objs[i], pc, NULL, NULL)) return (int32_t)i;
    return -1;
}

static bool needs(uint32_t a, uint32_t b, int depth)
{
    visited[a / 64] |= 1ull << (a % 64);
    const ElfW(Dyn) *d = oh_elf_dynamic(&objs[a]);
    const char *str = strtab_of(&objs[a]);
    if (!str) return false;
    for (const ElfW(Dyn) *e = d; e->d_tag != DT_NULL; e++) {
        if (e->d_tag != DT_NEEDED) continue;
        const char *n = str + e->d_un.d_val;
        if (named(b, n)) return true;
        if (depth >= MAX_DEPTH) continue;
        for (uint32_t j = 0; j < nobjs; j++) {
            if (visited[j / 64] & (1ull << (j % 64)) || !named(j, n)) continue;
            if (needs(j, b, depth + 1)) return true;
            break;
        }
    }
    return false;
}

bool oh_object_needs(const void *a, const void *b)
{
    nobjs = 0;
    (void)dl_iterate_phdr(snapshot, NULL);
    int32_t ia = index_of_pc((uintptr_t)a), ib = index_of_pc((uintptr_t)b);
    if (ia < 0 || ib < 0 || ia == ib) return false;
    memset(visited, 0, sizeof visited);
    return needs((uint32_t)ia, (uint32_t)ib, 0);
}
