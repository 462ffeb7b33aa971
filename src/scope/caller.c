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
 * libstdc++ is treated the same way (its locale implementations and
 * facets, numpunct caches, exception objects and iostream state are
 * runtime state), except for the members of std::string, std::stringbuf
 * and the string streams that it exports: their allocations hold the
 * program's strings and stay scoped.  Those members are found once by
 * walking libstdc++'s dynamic symbol table.
 *
 * The ranges are the executable segments of those objects, found with
 * dl_iterate_phdr (which does not allocate) at pool creation;
 * OFFHEAP_EXCLUDE adds the objects whose file name contains one of its ':'
 * or ',' separated words.  Code loaded later (a plugin, an excluded library
 * opened with dlopen, libstdc++ brought in by a C++ plugin) is classified
 * when one of its call sites is first seen: _dl_find_object (glibc 2.35,
 * lock-free, no allocation) names the object, and a runtime or excluded one
 * gets its ranges added.  dlopen itself is not interposed: glibc searches
 * the RUNPATH of dlopen's caller, which would become ours.
 */
#include "scope/caller.h"

#include "core/elf_dyn.h"
#include "core/log.h"
#include "core/util.h"

#include <link.h>
#include <pthread.h>
#include <string.h>

#define OH_MAX_RANGES 256
#define OH_MAX_CARVE 4096

static struct oh_range oh_rt[3]; /* libc, ld.so, libstdc++ */
static unsigned oh_rt_extra;
static struct oh_range extra[OH_MAX_RANGES];
static struct oh_range carve[OH_MAX_CARVE]; /* sorted, within oh_rt[2] */
static unsigned ncarve;
static pthread_mutex_t rescan_lock = PTHREAD_MUTEX_INITIALIZER;

static bool in_range(const struct oh_range *r, uintptr_t a)
{
    return a - __atomic_load_n(&r->lo, __ATOMIC_RELAXED) < __atomic_load_n(&r->len, __ATOMIC_ACQUIRE);
}

static bool in_carve(uintptr_t a)
{
    unsigned lo = 0, hi = __atomic_load_n(&ncarve, __ATOMIC_ACQUIRE);
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (a < carve[mid].lo) hi = mid;
        else if (a - carve[mid].lo < carve[mid].len) return true;
        else lo = mid + 1;
    }
    return false;
}

bool oh_caller_excluded(const void *ra)
{
    uintptr_t a = (uintptr_t)ra;
    if (in_range(&oh_rt[0], a) || in_range(&oh_rt[1], a)) return true;
    if (in_range(&oh_rt[2], a)) return !in_carve(a);
    /* Append-only: entries below the published count never change. */
    unsigned n = __atomic_load_n(&oh_rt_extra, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++) {
        if (a - extra[i].lo < extra[i].len) return true;
    }
    return false;
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

enum kind { K_NONE, K_LIBC, K_LDSO, K_CXX, K_EXCLUDED };

/* What the object at `path` is (name: its base name).  glibc's character
 * set converters (gconv modules, loaded by iconv_open) are libc's too:
 * their allocations are iconv's state. */
static enum kind kind_of_path(const char *path, const char *name, const char *exclude);

static enum kind kind_of(const char *name, const char *exclude)
{
    if (!strncmp(name, "libc.so", 7) || !strncmp(name, "libpthread.so", 13) || !strncmp(name, "libdl.so", 8) ||
        !strncmp(name, "librt.so", 8))
        return K_LIBC;
    if (!strncmp(name, "ld-linux", 8) || !strncmp(name, "ld64.so", 7) || !strncmp(name, "ld-musl", 7)) return K_LDSO;
    if (!strncmp(name, "libstdc++.so", 12)) return K_CXX;
    return matches_list(name, exclude) ? K_EXCLUDED : K_NONE;
}

static enum kind kind_of_path(const char *path, const char *name, const char *exclude)
{
    if (strstr(path, "/gconv/")) return K_LIBC;
    return kind_of(name, exclude);
}

/* Exported members of the C++11-ABI std::string, std::stringbuf and the
 * string streams (char and wchar_t).  The old copy-on-write ABI is left
 * out on purpose: libstdc++ itself uses it for the messages of the
 * exceptions it builds (runtime_error, out_of_range, system_error) and for
 * locale names, which must outlive a scope an exception leaves.  Programs
 * built with _GLIBCXX_USE_CXX11_ABI=0 get their strings on the heap. */
static bool is_string_member(const char *sym)
{
    static const char *const prefixes[] = {
        "_ZNSt7__cxx1112basic_string",        "_ZNKSt7__cxx1112basic_string",      "_ZNSt7__cxx1115basic_stringbuf",
        "_ZNKSt7__cxx1115basic_stringbuf",    "_ZNSt7__cxx1118basic_stringstream", "_ZNSt7__cxx1119basic_ostringstream",
        "_ZNSt7__cxx1119basic_istringstream",
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (!strncmp(sym, prefixes[i], strlen(prefixes[i]))) return true;
    }
    return false;
}

/* Symbols in a GNU hash table: one past the highest index of any chain. */
static uint32_t gnu_hash_count(const uint32_t *h)
{
    uint32_t nbuckets = h[0], symoffset = h[1], bloom = h[2];
    const uint32_t *buckets = h + 4 + bloom * (sizeof(ElfW(Addr)) / 4);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t last = 0;
    for (uint32_t b = 0; b < nbuckets; b++) {
        if (buckets[b] > last) last = buckets[b];
    }
    if (last < symoffset) return symoffset;
    while (!(chain[last - symoffset] & 1u)) last++;
    return last + 1;
}

static void carve_add(uintptr_t lo, uintptr_t len)
{
    if (ncarve == OH_MAX_CARVE) return;
    unsigned i = ncarve;
    while (i > 0 && carve[i - 1].lo > lo) {
        carve[i] = carve[i - 1];
        i--;
    }
    carve[i].lo = lo;
    carve[i].len = len;
    ncarve++;
}

static void find_string_members(const struct dl_phdr_info *info)
{
    struct oh_elf_dyn d;
    if (!oh_elf_dyn_read(info, &d) || !d.symtab || !d.strtab || !d.gnu_hash) return;
    uint32_t n = gnu_hash_count(d.gnu_hash);
    for (uint32_t i = 0; i < n; i++) {
        const ElfW(Sym) *sym = &d.symtab[i];
        if (ELF64_ST_TYPE(sym->st_info) != STT_FUNC || sym->st_shndx == SHN_UNDEF || !sym->st_size) continue;
        if (is_string_member(d.strtab + sym->st_name)) carve_add(info->dlpi_addr + sym->st_value, sym->st_size);
    }
    /* Merge neighbours split only by alignment padding. */
    unsigned out = 0;
    for (unsigned i = 0; i < ncarve; i++) {
        if (out && carve[i].lo <= carve[out - 1].lo + carve[out - 1].len + 16) {
            uintptr_t end = carve[i].lo + carve[i].len;
            if (end > carve[out - 1].lo + carve[out - 1].len) carve[out - 1].len = end - carve[out - 1].lo;
        } else {
            carve[out++] = carve[i];
        }
    }
    __atomic_store_n(&ncarve, out, __ATOMIC_RELEASE);
}

static bool known(struct oh_range r)
{
    for (int i = 0; i < 3; i++) {
        if (oh_rt[i].len && oh_rt[i].lo == r.lo) return true;
    }
    for (unsigned i = 0; i < oh_rt_extra; i++) {
        if (extra[i].lo == r.lo) return true;
    }
    return false;
}

static void set_fixed(struct oh_range *slot, struct oh_range r)
{
    /* Readers may be looking: publish lo before len. */
    __atomic_store_n(&slot->lo, r.lo, __ATOMIC_RELAXED);
    __atomic_store_n(&slot->len, r.len, __ATOMIC_RELEASE);
}

static int add_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    const char *exclude = data;
    const char *name = oh_base_name(info->dlpi_name ? info->dlpi_name : "");
    enum kind k = *name ? kind_of_path(info->dlpi_name, name, exclude) : K_NONE;
    if (k == K_NONE) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        struct oh_range r = {info->dlpi_addr + ph->p_vaddr, ph->p_memsz};
        if (known(r)) continue;
        int fixed = k == K_LIBC ? 0 : k == K_LDSO ? 1 : k == K_CXX ? 2 : -1;
        if (fixed >= 0 && !oh_rt[fixed].len) {
            if (k == K_CXX) find_string_members(info);
            set_fixed(&oh_rt[fixed], r);
        } else if (oh_rt_extra < OH_MAX_RANGES) {
            extra[oh_rt_extra] = r;
            __atomic_store_n(&oh_rt_extra, oh_rt_extra + 1, __ATOMIC_RELEASE);
        } else {
            oh_log("more than %d excluded code segments; %s is not excluded", OH_MAX_RANGES + 3, name);
        }
    }
    return 0;
}

static const char *exclude_list;

/* Objects already judged to allocate in scopes (the program, its own
 * libraries), so a caller-cache miss from them costs a few compares. */
#define OH_MAX_SCOPED 64
static struct oh_range scoped_obj[OH_MAX_SCOPED];
static unsigned nscoped;

static bool in_scoped_object(uintptr_t a)
{
    unsigned n = __atomic_load_n(&nscoped, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++) {
        if (a - scoped_obj[i].lo < scoped_obj[i].len) return true;
    }
    return false;
}

void oh_caller_init(const char *exclude)
{
    pthread_mutex_lock(&rescan_lock);
    exclude_list = exclude;
    dl_iterate_phdr(add_object, (void *)(uintptr_t)exclude);
    pthread_mutex_unlock(&rescan_lock);
}

bool oh_caller_check_new(const void *ra)
{
#ifdef OH_HAVE_DL_FIND_OBJECT
    if (in_scoped_object((uintptr_t)ra)) return false;
    struct dl_find_object fo;
    if (_dl_find_object((void *)(uintptr_t)ra, &fo) != 0 || !fo.dlfo_link_map) return false;
    const char *name = fo.dlfo_link_map->l_name;
    if (!name || !*name || kind_of_path(name, oh_base_name(name), exclude_list) == K_NONE) {
        pthread_mutex_lock(&rescan_lock);
        if (nscoped < OH_MAX_SCOPED && !in_scoped_object((uintptr_t)ra)) {
            scoped_obj[nscoped].lo = (uintptr_t)fo.dlfo_map_start;
            scoped_obj[nscoped].len = (uintptr_t)fo.dlfo_map_end - (uintptr_t)fo.dlfo_map_start;
            __atomic_store_n(&nscoped, nscoped + 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&rescan_lock);
        return false;
    }
    /* A runtime or excluded object loaded since start: add its ranges
     * (objects are only added, never rescanned, so this runs once each). */
    oh_caller_init(exclude_list);
    return oh_caller_excluded(ra);
#else
    (void)ra;
    return false;
#endif
}

bool oh_caller_own_dependency(const char *path)
{
    const char *b = oh_base_name(path);
    return !strncmp(b, "libjemalloc.so", 14) || !strncmp(b, "libunwind", 9) || !strncmp(b, "liblzma.so", 10);
}

/* ---- objects learned at run time (rescue.c) ------------------------------ */

struct find_obj {
    uintptr_t addr;
    bool found, main, runtime;
    const char *name;
    struct dl_phdr_info info;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct find_obj *f = data;
    if (!oh_elf_load_span(info, f->addr, NULL, NULL)) return 0;
    f->found = true;
    f->name = info->dlpi_name ? info->dlpi_name : "";
    f->main = !*f->name;
    f->runtime = !f->main && kind_of_path(f->name, oh_base_name(f->name), NULL) != K_NONE;
    f->info = *info;
    return 1;
}

enum oh_caller_kind oh_caller_kind(const void *ra, const char **name)
{
    struct find_obj f = {.addr = (uintptr_t)ra};
    (void)dl_iterate_phdr(find_object, &f);
    if (name) *name = f.found ? f.name : "?";
    if (!f.found) return OH_CALLER_UNKNOWN;
    if (f.main) return OH_CALLER_PROGRAM;
    if (in_range(&oh_rt[2], (uintptr_t)ra) && in_carve((uintptr_t)ra)) return OH_CALLER_STRINGS;
    if (f.runtime) return OH_CALLER_RUNTIME;
    return OH_CALLER_LIBRARY;
}

bool oh_caller_route_object(const void *ra)
{
    pthread_mutex_lock(&rescan_lock);
    struct find_obj f = {.addr = (uintptr_t)ra};
    (void)dl_iterate_phdr(find_object, &f);
    bool added = false;
    if (f.found && !f.main) {
        for (int i = 0; i < f.info.dlpi_phnum; i++) {
            const ElfW(Phdr) *ph = &f.info.dlpi_phdr[i];
            if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
            struct oh_range r = {f.info.dlpi_addr + ph->p_vaddr, ph->p_memsz};
            if (known(r)) continue;
            if (oh_rt_extra == OH_MAX_RANGES) {
                oh_log("more than %d code segments routed to the heap; %s stays scoped", OH_MAX_RANGES + 3,
                       oh_base_name(f.name));
                break;
            }
            extra[oh_rt_extra] = r;
            __atomic_store_n(&oh_rt_extra, oh_rt_extra + 1, __ATOMIC_RELEASE);
            added = true;
        }
    }
    pthread_mutex_unlock(&rescan_lock);
    return added;
}

/* Fork: no thread may be inside dl_iterate_phdr (under rescan_lock) when
 * the child is made: glibc 2.36 does not reset the loader's lock there. */
void oh_caller_prefork(void)
{
    pthread_mutex_lock(&rescan_lock);
}

void oh_caller_postfork(void)
{
    pthread_mutex_unlock(&rescan_lock);
}
