/* SPDX-License-Identifier: MIT */
/*
 * dormant.c — until the first scope, the program's PLT calls to malloc,
 * calloc and free go straight to jemalloc; the first scope points them
 * back at liboffheap before it serves a block (src/plt.h).
 *
 * usage: ph_dormant dormant|off PLUGIN
 *   dormant: the default; off: run with OFFHEAP_DORMANT=0 (no bypass).
 * The program reads its own PLT slots and a linked library's to see where
 * they point, and proves the one property that makes the bypass safe: a
 * pointer to free taken while dormant still frees a scope block correctly
 * after arming.  It also forks while dormant (the child arms, the parent
 * stays dormant) and loads a library with dlopen while dormant.
 */
#include "ph.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/wait.h>

void *dl_alloc(size_t n);
void dl_free(void *p);

struct find {
    const char *object; /* substring of the object's name; "" = the program */
    const char *symbol;
    uintptr_t *slot;
    int seen;
};

static uintptr_t dyn_addr(ElfW(Addr) base, ElfW(Addr) v)
{
    return v < base ? base + v : v;
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct find *f = arg;
    int first = f->seen++ == 0;
    if (f->object[0] ? !strstr(info->dlpi_name, f->object) : !first) return 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn) return 0;
    const ElfW(Rela) *rel = NULL;
    const ElfW(Sym) *sym = NULL;
    const char *str = NULL;
    size_t sz = 0;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        if (dyn->d_tag == DT_JMPREL) rel = (const ElfW(Rela) *)dyn_addr(info->dlpi_addr, dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_PLTRELSZ) sz = dyn->d_un.d_val;
        if (dyn->d_tag == DT_SYMTAB) sym = (const ElfW(Sym) *)dyn_addr(info->dlpi_addr, dyn->d_un.d_ptr);
        if (dyn->d_tag == DT_STRTAB) str = (const char *)dyn_addr(info->dlpi_addr, dyn->d_un.d_ptr);
    }
    if (!rel || !sym || !str) return 0;
    for (size_t i = 0; i < sz / sizeof *rel; i++) {
        if (strcmp(str + sym[ELF64_R_SYM(rel[i].r_info)].st_name, f->symbol) == 0) {
            f->slot = (uintptr_t *)(info->dlpi_addr + rel[i].r_offset);
            return 1;
        }
    }
    return 0;
}

/* The PLT slot through which `object` calls `symbol`. */
static uintptr_t *slot(const char *object, const char *symbol)
{
    struct find f = {object, symbol, NULL, 0};
    dl_iterate_phdr(visit, &f);
    return f.slot;
}

static uintptr_t sym_addr(void *handle, const char *name)
{
    return (uintptr_t)dlsym(handle, name);
}

static void (*volatile early_free)(void *);

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 3);
    int dormant = strcmp(argv[1], "dormant") == 0;
    void *je = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_NOLOAD);
    REQUIRE(je);
    uintptr_t je_malloc = sym_addr(je, "malloc"), je_calloc = sym_addr(je, "calloc"), je_free = sym_addr(je, "free");
    /* The preload's own definitions (by handle: in a non-PIE program that
     * takes free's address, the name means the program's PLT stub). */
    void *us = dlopen(getenv("LD_PRELOAD"), RTLD_NOW | RTLD_NOLOAD);
    REQUIRE(us);
    uintptr_t our_malloc = sym_addr(us, "malloc"), our_calloc = sym_addr(us, "calloc"), our_free = sym_addr(us, "free");
    REQUIRE(je_malloc && our_malloc && je_malloc != our_malloc && je_free != our_free);

    /* Taken before any scope, called on a scope block after arming. */
    early_free = free;
    CHECK((uintptr_t)early_free != je_free);

    /* Make every slot bound (lazy binding leaves a slot unresolved until
     * its first call). */
    void *heap = malloc(100), *heap2 = calloc(3, 40), *lib_heap = dl_alloc(50);
    REQUIRE(heap && heap2 && lib_heap);
    CHECK(!offheap_owns(heap) && !offheap_owns(heap2) && !offheap_owns(lib_heap));
    free(malloc(1));
    dl_free(dl_alloc(1));

    /* A PIE program that takes free's address calls free through the GOT
     * entry the address came from: it has no PLT slot for free, and that
     * entry always reaches us.  A non-PIE program has one, and the address
     * it takes is its PLT stub, so the process binds the name "free" to
     * the stub: liboffheap then leaves free alone (its slots keep reaching
     * us).  Either way, what dlsym says is what the library goes by. */
    int free_direct = dormant && (uintptr_t)dlsym(RTLD_DEFAULT, "free") == our_free;
    if (dormant) CHECK(free_direct || (uintptr_t)dlsym(RTLD_DEFAULT, "free") != our_free);
    uintptr_t *ms = slot("", "malloc"), *cs = slot("", "calloc"), *fs = slot("", "free");
    uintptr_t *lms = slot("libph_dormant_lib", "malloc"), *lfs = slot("libph_dormant_lib", "free");
    REQUIRE(ms && cs && lms && lfs);
    CHECKF(*ms == (dormant ? je_malloc : our_malloc), "program's malloc slot %#lx (jemalloc %#lx, ours %#lx)",
           (unsigned long)*ms, (unsigned long)je_malloc, (unsigned long)our_malloc);
    CHECK(*cs == (dormant ? je_calloc : our_calloc));
    CHECK(*lms == (dormant ? je_malloc : our_malloc));
    CHECK(*lfs == (free_direct ? je_free : our_free));
    if (fs) CHECK(*fs == (free_direct ? je_free : our_free));

    /* Loaded while dormant: resolved to us as usual. */
    void *plugin = dlopen(argv[2], RTLD_NOW);
    REQUIRE(plugin);
    char *(*plug_strdup)(const char *) = (char *(*)(const char *))(uintptr_t)dlsym(plugin, "plug_c_strdup_like");
    REQUIRE(plug_strdup);

    /* A child arms itself; the parent stays as it was. */
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        offheap_scope_begin();
        void *p = malloc(64);
        int ok = p && offheap_owns(p) && *ms == our_malloc && *lfs == our_free;
        early_free(p);
        offheap_scope_end();
        _exit(ok ? 0 : 3);
    }
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    if (dormant) CHECK(*ms == je_malloc && *lfs == (free_direct ? je_free : our_free));

    offheap_scope_begin();
    /* Armed before the first block. */
    CHECK(*ms == our_malloc);
    CHECK(*cs == our_calloc);
    if (fs) CHECK(*fs == our_free);
    CHECK(*lms == our_malloc);
    CHECK(*lfs == our_free);
    unsigned char *p = malloc(64), *z = calloc(4, 8), *q = dl_alloc(64);
    char *s = plug_strdup("dormant");
    REQUIRE(p && z && q && s);
    CHECK(offheap_owns(p) && offheap_owns(z) && offheap_owns(q) && offheap_owns(s));
    CHECK(ph_all(z, 32, 0));
    CHECK(strcmp(s, "dormant") == 0);
    memset(p, 1, 64);
    early_free(p); /* a scope block through the early pointer */
    dl_free(q);
    free(z);
    free(heap); /* blocks jemalloc served while dormant */
    dl_free(lib_heap);
    offheap_scope_end();
    early_free(heap2);

    /* Armed for good. */
    CHECK(*ms == our_malloc && *lfs == our_free && *lms == our_malloc);
    void *after = malloc(10);
    CHECK(after && !offheap_owns(after));
    free(after);
    return check_done("dormant");
}
