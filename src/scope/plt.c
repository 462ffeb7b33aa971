/* SPDX-License-Identifier: MIT */
/*
 * plt.c — the PLT slot walk behind plt.h.  One walk over the loaded
 * objects' jump-slot relocations serves both directions; it allocates
 * nothing (dl_iterate_phdr, and oh_os_protect for RELRO).
 */
#include "scope/plt.h"

#include "core/elf_dyn.h"
#include "core/log.h"
#include "core/os.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#define OH_JUMP_SLOT R_X86_64_JUMP_SLOT
#elif defined(__aarch64__)
#define OH_JUMP_SLOT R_AARCH64_JUMP_SLOT
#endif

#define MAX_FNS 8

static struct oh_plt_fn fns_kept[MAX_FNS];
static size_t nfns;

#if defined(OH_JUMP_SLOT)

enum walk_dir { TO_DIRECT, TO_OURS };

struct walk {
    enum walk_dir dir;
    size_t changed;
    int err; /* errno of a failed mprotect while arming, else 0 */
};

#define MAX_RW 4

struct object {
    ElfW(Addr) base;
    uintptr_t lo, hi;                       /* span of its loadable segments */
    uintptr_t rw_lo[MAX_RW], rw_hi[MAX_RW]; /* its writable segments */
    unsigned nrw;
    uintptr_t relro_lo, relro_hi; /* the part of RELRO the loader made
                                     read-only: whole pages from its start,
                                     cut at its last page boundary */
    struct oh_elf_dyn dyn;
};

static bool read_object(const struct dl_phdr_info *info, struct object *o)
{
    memset(o, 0, sizeof *o);
    if (!oh_elf_dyn_read(info, &o->dyn) || !o->dyn.jmprel || !o->dyn.symtab || !o->dyn.strtab) return false;
    o->base = info->dlpi_addr;
    o->lo = UINTPTR_MAX;
    uintptr_t page = oh_os_page_size();
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = o->base + ph->p_vaddr;
        if (ph->p_type == PT_LOAD) {
            if (a < o->lo) o->lo = a;
            if (a + ph->p_memsz > o->hi) o->hi = a + ph->p_memsz;
            if ((ph->p_flags & PF_W) && o->nrw < MAX_RW) {
                o->rw_lo[o->nrw] = a;
                o->rw_hi[o->nrw++] = a + ph->p_memsz;
            }
        } else if (ph->p_type == PT_GNU_RELRO) {
            o->relro_lo = a & ~(page - 1);
            o->relro_hi = (a + ph->p_memsz) & ~(page - 1);
        }
    }
    return o->dyn.njmprel > 0;
}

/* A slot we may write: in a writable segment (made read-only again after
 * relocation only where RELRO covers it).  Anything else is left alone. */
static bool writable(const struct object *o, uintptr_t a)
{
    for (unsigned i = 0; i < o->nrw; i++)
        if (a >= o->rw_lo[i] && a + sizeof(uintptr_t) <= o->rw_hi[i]) return true;
    return false;
}

/* Index in fns_kept of the function a jump slot imports, or -1. */
static int slot_fn(const struct object *o, const ElfW(Rela) * r)
{
    if (ELF64_R_TYPE(r->r_info) != OH_JUMP_SLOT) return -1;
    const ElfW(Sym) *sym = &o->dyn.symtab[ELF64_R_SYM(r->r_info)];
    const char *name = o->dyn.strtab + sym->st_name;
    for (size_t k = 0; k < nfns; k++)
        if (strcmp(name, fns_kept[k].name) == 0) return (int)k;
    return -1;
}

/* What the slot should hold after this walk, or NULL to leave it. */
static void *new_value(const struct object *o, const ElfW(Rela) * r, int k, uintptr_t cur, enum walk_dir dir)
{
    const struct oh_plt_fn *f = &fns_kept[k];
    if (dir == TO_OURS) return cur == (uintptr_t)f->direct ? f->ours : NULL;
    if (cur == (uintptr_t)f->ours) return f->direct;
    /* Lazy binding, not called yet: the slot points back into the object's
     * own PLT, and the first call would bind it to the process's malloc,
     * which is ours, unless the object binds its own definition first. */
    const ElfW(Sym) *sym = &o->dyn.symtab[ELF64_R_SYM(r->r_info)];
    if (cur >= o->lo && cur < o->hi && sym->st_shndx == SHN_UNDEF && !o->dyn.symbolic) return f->direct;
    return NULL;
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct walk *w = arg;
    struct object o;
    if (!read_object(info, &o)) return 0;
    /* Our own calls never go through our PLT, and must not bypass us. */
    uintptr_t self = (uintptr_t)&oh_plt_arm;
    if (self >= o.lo && self < o.hi) return 0;
    bool opened = false;
    for (size_t i = 0; i < o.dyn.njmprel; i++) {
        const ElfW(Rela) *r = &o.dyn.jmprel[i];
        int k = slot_fn(&o, r);
        if (k < 0) continue;
        uintptr_t *slot = (uintptr_t *)(o.base + r->r_offset);
        if (!writable(&o, (uintptr_t)slot)) continue;
        uintptr_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
        void *v = new_value(&o, r, k, cur, w->dir);
        if (!v) continue;
        uintptr_t a = (uintptr_t)slot;
        if (a >= o.relro_lo && a < o.relro_hi && !opened) {
            int err = oh_os_protect((void *)o.relro_lo, o.relro_hi - o.relro_lo, OH_PROT_RW);
            if (err) {
                /* Bypassing is optional: leave this object alone.  Arming
                 * is not: report it. */
                if (w->dir == TO_OURS) w->err = err;
                return 0;
            }
            opened = true;
        }
        __atomic_store_n(slot, (uintptr_t)v, __ATOMIC_RELEASE);
        w->changed++;
    }
    if (opened) (void)oh_os_protect((void *)o.relro_lo, o.relro_hi - o.relro_lo, OH_PROT_READ);
    return 0;
}

size_t oh_plt_bypass(const struct oh_plt_fn *fns, size_t n)
{
    if (n > MAX_FNS || nfns != 0) return 0;
    for (size_t k = 0; k < n; k++) {
        /* Only where the loader binds the name to us: not when another
         * interposer came first, nor when a non-PIE program took the
         * function's address (the name then means the program's PLT stub;
         * its slot keeps reaching us, which is always correct). */
        if (fns[k].direct && dlsym(RTLD_DEFAULT, fns[k].name) == fns[k].ours) fns_kept[nfns++] = fns[k];
    }
    if (nfns == 0) return 0;
    struct walk w = {TO_DIRECT, 0, 0};
    (void)dl_iterate_phdr(visit, &w);
    return w.changed;
}

void oh_plt_arm(void)
{
    if (nfns == 0) return;
    struct walk w = {TO_OURS, 0, 0};
    (void)dl_iterate_phdr(visit, &w);
    if (w.err)
        oh_fatal("cannot make a PLT slot writable again to leave dormant mode (mprotect: errno %d); "
                 "set OFFHEAP_DORMANT=0",
                 w.err);
}

#else /* no jump-slot type known for this target: never dormant */

size_t oh_plt_bypass(const struct oh_plt_fn *fns, size_t n)
{
    (void)fns;
    (void)n;
    return 0;
}

void oh_plt_arm(void)
{
}

#endif
