/* SPDX-License-Identifier: MIT */
/*
 * plt.c — the PLT slot walk behind plt.h.  One walk over the loaded
 * objects' jump-slot relocations serves both directions; it allocates
 * nothing (dl_iterate_phdr and mprotect only).
 */
#include "plt.h"

#include "log.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define OH_JUMP_SLOT R_X86_64_JUMP_SLOT
#elif defined(__aarch64__)
#define OH_JUMP_SLOT R_AARCH64_JUMP_SLOT
#endif

#define MAX_FNS 8

static struct oh_plt_fn fns_kept[MAX_FNS];
static size_t nfns;
static size_t bypassed;
static _Atomic int armed;

size_t oh_plt_bypassed(void)
{
    return bypassed;
}

int oh_plt_armed(void)
{
    return atomic_load_explicit(&armed, memory_order_relaxed);
}

#if defined(OH_JUMP_SLOT)

enum walk_dir { TO_DIRECT, TO_OURS };

struct walk {
    enum walk_dir dir;
    size_t changed;
    int err; /* errno of a failed mprotect while arming, else 0 */
};

/* Loader-relocated dynamic entries are absolute; an object whose dynamic
 * section is read-only (the vDSO) keeps them relative to its base. */
static uintptr_t dyn_addr(ElfW(Addr) base, ElfW(Addr) v)
{
    return v < base ? base + v : v;
}

/* The part of an object's RELRO segment the loader made read-only: whole
 * pages from its start, cut at its last page boundary (as glibc does). */
#define MAX_RW 4

struct object {
    ElfW(Addr) base;
    uintptr_t lo, hi;             /* span of its loadable segments */
    uintptr_t rw_lo[MAX_RW], rw_hi[MAX_RW]; /* its writable segments */
    unsigned nrw;
    uintptr_t relro_lo, relro_hi; /* read-only after relocation */
    const ElfW(Rela) *jmprel;
    size_t njmprel;
    const ElfW(Sym) *symtab;
    const char *strtab;
    bool symbolic;
};

static bool read_object(const struct dl_phdr_info *info, struct object *o)
{
    memset(o, 0, sizeof *o);
    o->base = info->dlpi_addr;
    o->lo = UINTPTR_MAX;
    const ElfW(Dyn) *dyn = NULL;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
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
        } else if (ph->p_type == PT_DYNAMIC) {
            dyn = (const ElfW(Dyn) *)a;
        } else if (ph->p_type == PT_GNU_RELRO) {
            o->relro_lo = a & ~(page - 1);
            o->relro_hi = (a + ph->p_memsz) & ~(page - 1);
        }
    }
    if (!dyn) return false;
    size_t pltrelsz = 0;
    ElfW(Sxword) pltrel = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_JMPREL: o->jmprel = (const ElfW(Rela) *)dyn_addr(o->base, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
        case DT_PLTREL: pltrel = (ElfW(Sxword))dyn->d_un.d_val; break;
        case DT_SYMTAB: o->symtab = (const ElfW(Sym) *)dyn_addr(o->base, dyn->d_un.d_ptr); break;
        case DT_STRTAB: o->strtab = (const char *)dyn_addr(o->base, dyn->d_un.d_ptr); break;
        case DT_SYMBOLIC: o->symbolic = true; break;
        case DT_FLAGS:
            if (dyn->d_un.d_val & DF_SYMBOLIC) o->symbolic = true;
            break;
        default: break;
        }
    }
    if (!o->jmprel || !o->symtab || !o->strtab || pltrel != DT_RELA) return false;
    o->njmprel = pltrelsz / sizeof(ElfW(Rela));
    return o->njmprel > 0;
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
static int slot_fn(const struct object *o, const ElfW(Rela) *r)
{
    if (ELF64_R_TYPE(r->r_info) != OH_JUMP_SLOT) return -1;
    const ElfW(Sym) *sym = &o->symtab[ELF64_R_SYM(r->r_info)];
    const char *name = o->strtab + sym->st_name;
    for (size_t k = 0; k < nfns; k++)
        if (strcmp(name, fns_kept[k].name) == 0) return (int)k;
    return -1;
}

/* What the slot should hold after this walk, or NULL to leave it. */
static void *new_value(const struct object *o, const ElfW(Rela) *r, int k, uintptr_t cur, enum walk_dir dir)
{
    const struct oh_plt_fn *f = &fns_kept[k];
    if (dir == TO_OURS) return cur == (uintptr_t)f->direct ? f->ours : NULL;
    if (cur == (uintptr_t)f->ours) return f->direct;
    /* Lazy binding, not called yet: the slot points back into the object's
     * own PLT, and the first call would bind it to the process's malloc,
     * which is ours, unless the object binds its own definition first. */
    const ElfW(Sym) *sym = &o->symtab[ELF64_R_SYM(r->r_info)];
    if (cur >= o->lo && cur < o->hi && sym->st_shndx == SHN_UNDEF && !o->symbolic) return f->direct;
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
    for (size_t i = 0; i < o.njmprel; i++) {
        const ElfW(Rela) *r = &o.jmprel[i];
        int k = slot_fn(&o, r);
        if (k < 0) continue;
        uintptr_t *slot = (uintptr_t *)(o.base + r->r_offset);
        if (!writable(&o, (uintptr_t)slot)) continue;
        uintptr_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
        void *v = new_value(&o, r, k, cur, w->dir);
        if (!v) continue;
        uintptr_t a = (uintptr_t)slot;
        if (a >= o.relro_lo && a < o.relro_hi && !opened) {
            if (mprotect((void *)o.relro_lo, o.relro_hi - o.relro_lo, PROT_READ | PROT_WRITE) != 0) {
                /* Bypassing is optional: leave this object alone.  Arming
                 * is not: report it. */
                if (w->dir == TO_OURS) w->err = errno;
                return 0;
            }
            opened = true;
        }
        __atomic_store_n(slot, (uintptr_t)v, __ATOMIC_RELEASE);
        w->changed++;
    }
    if (opened) (void)mprotect((void *)o.relro_lo, o.relro_hi - o.relro_lo, PROT_READ);
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
    bypassed = w.changed;
    return w.changed;
}

void oh_plt_arm(void)
{
    if (atomic_load_explicit(&armed, memory_order_acquire) || nfns == 0) {
        atomic_store_explicit(&armed, 1, memory_order_release);
        return;
    }
    struct walk w = {TO_OURS, 0, 0};
    (void)dl_iterate_phdr(visit, &w);
    if (w.err)
        oh_fatal("cannot make a PLT slot writable again to leave dormant mode (mprotect: errno %d); "
                 "set OFFHEAP_DORMANT=0", w.err);
    atomic_store_explicit(&armed, 1, memory_order_release);
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
    atomic_store_explicit(&armed, 1, memory_order_release);
}

#endif
