/* SPDX-License-Identifier: MIT */
/*
 * elf_dyn.h — what caller.c (libstdc++'s string members) and plt.c (jump
 * slots) read from a loaded object's dynamic section, found through
 * dl_iterate_phdr.  Reads memory only: no allocation, no system call.
 */
#ifndef OH_ELF_DYN_H
#define OH_ELF_DYN_H

#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

struct oh_elf_dyn {
    const ElfW(Sym) * symtab;
    const char *strtab;
    const uint32_t *gnu_hash;
    const ElfW(Rela) * jmprel; /* NULL unless the PLT relocations are RELA */
    size_t njmprel;
    bool symbolic; /* DT_SYMBOLIC or DF_SYMBOLIC */
};

/* The loader rewrites dynamic entries to absolute addresses; an object whose
 * dynamic section is read-only (the vDSO) keeps them relative to its base. */
static inline uintptr_t oh_elf_dyn_addr(const struct dl_phdr_info *info, uintptr_t v)
{
    return v < info->dlpi_addr ? v + info->dlpi_addr : v;
}

/* The object's dynamic section, or NULL. */
static inline const ElfW(Dyn) * oh_elf_dynamic(const struct dl_phdr_info *info)
{
    const ElfW(Dyn) *dyn = NULL;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    return dyn;
}

/* Whether addr lies in one of the object's loaded segments; *lo and *hi
 * (each may be NULL) get the span of all of them. */
static inline bool oh_elf_load_span(const struct dl_phdr_info *info, uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t l = UINTPTR_MAX, h = 0;
    bool in = false;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < l) l = a;
        if (a + ph->p_memsz > h) h = a + ph->p_memsz;
        if (addr - a < ph->p_memsz) in = true;
    }
    if (lo) *lo = l;
    if (hi) *hi = h;
    return in;
}

/* Fill *d; false when the object has no dynamic section. */
static inline bool oh_elf_dyn_read(const struct dl_phdr_info *info, struct oh_elf_dyn *d)
{
    memset(d, 0, sizeof *d);
    const ElfW(Dyn) *dyn = oh_elf_dynamic(info);
    if (!dyn) return false;
    size_t pltrelsz = 0;
    bool rela = false;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: d->symtab = (const ElfW(Sym) *)oh_elf_dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_STRTAB: d->strtab = (const char *)oh_elf_dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_GNU_HASH: d->gnu_hash = (const uint32_t *)oh_elf_dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_JMPREL: d->jmprel = (const ElfW(Rela) *)oh_elf_dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
        case DT_PLTREL: rela = dyn->d_un.d_val == DT_RELA; break;
        case DT_SYMBOLIC: d->symbolic = true; break;
        case DT_FLAGS:
            if (dyn->d_un.d_val & DF_SYMBOLIC) d->symbolic = true;
            break;
        default: break;
        }
    }
    if (!rela) d->jmprel = NULL;
    if (d->jmprel) d->njmprel = pltrelsz / sizeof(ElfW(Rela));
    return true;
}

#pragma GCC visibility pop

#endif
