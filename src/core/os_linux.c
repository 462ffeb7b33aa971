/* SPDX-License-Identifier: MIT */
/*
 * os_linux.c — os.h on Linux: mmap/madvise/mprotect, /proc for sizes.
 * Reservations are PROT_READ|PROT_WRITE with MAP_NORESERVE: touching a page
 * commits it, so the bump path needs no system call.
 */
#include "core/os.h"

#include "core/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static _Atomic size_t mapped_bytes;

size_t oh_os_page_size(void)
{
    static _Atomic size_t cached;
    size_t p = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!p) {
        long v = sysconf(_SC_PAGESIZE);
        p = v > 0 ? (size_t)v : 4096u;
        atomic_store_explicit(&cached, p, memory_order_relaxed);
    }
    return p;
}

/* Read a small /proc file into buf without stdio; returns bytes read. */
static size_t read_proc(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return n;
}

static size_t parse_ulong(const char *s, const char **end)
{
    size_t v = 0;
    while (*s == ' ' || *s == '\t') s++;
    while (*s >= '0' && *s <= '9') v = v * 10 + (size_t)(*s++ - '0');
    if (end) *end = s;
    return v;
}

size_t oh_os_huge_page_size(void)
{
    static _Atomic size_t cached;
    size_t h = atomic_load_explicit(&cached, memory_order_relaxed);
    if (h) return h;
    char buf[4096];
    int saved = errno;
    if (read_proc("/proc/meminfo", buf, sizeof buf)) {
        const char *p = strstr(buf, "Hugepagesize:");
        if (p) h = parse_ulong(p + strlen("Hugepagesize:"), NULL) * 1024u;
    }
    errno = saved;
#if defined(__x86_64__)
    if (!h) h = 2u << 20;
#endif
    atomic_store_explicit(&cached, h, memory_order_relaxed);
    return h;
}

void *oh_os_reserve(size_t size, size_t align, bool huge, bool *got_huge, int *err)
{
    int saved = errno;
    if (got_huge) *got_huge = false;
    if (oh_fault_hit(OH_FAULT_MMAP)) {
        if (err) *err = ENOMEM;
        return NULL;
    }
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (huge) {
        /* Only where huge pages are reserved (vm.nr_hugepages).  Without
         * MAP_NORESERVE the kernel takes the pages now or refuses: with it,
         * the mapping succeeds and the first touch dies with SIGBUS.  The
         * kernel aligns MAP_HUGETLB mappings to the huge page size. */
        void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (p != MAP_FAILED && ((uintptr_t)p & (align - 1)) == 0) {
            if (got_huge) *got_huge = true;
            atomic_fetch_add(&mapped_bytes, size);
            errno = saved;
            return p;
        }
        if (p != MAP_FAILED) munmap(p, size);
    }
    /* Over-reserve by align and trim both ends so the base is aligned. */
    size_t page = oh_os_page_size();
    size_t extra = align > page ? align : 0;
    if (size + extra < size) {
        if (err) *err = ENOMEM;
        errno = saved;
        return NULL;
    }
    char *raw = mmap(NULL, size + extra, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (raw == MAP_FAILED) {
        if (err) *err = errno == EINVAL ? ENOMEM : errno;
        errno = saved;
        return NULL;
    }
    char *base = (char *)(((uintptr_t)raw + (align - 1)) & ~(uintptr_t)(align - 1));
    if (extra) {
        size_t head = (size_t)(base - raw);
        size_t tail = extra - head;
        if (head) munmap(raw, head);
        if (tail) munmap(base + size, tail);
    }
    if (huge) (void)madvise(base, size, MADV_HUGEPAGE);
    atomic_fetch_add(&mapped_bytes, size);
    errno = saved;
    return base;
}

void *oh_os_reserve_pages(size_t bytes)
{
    int err = 0;
    size_t page = oh_os_page_size();
    return oh_os_reserve((bytes + page - 1) & ~(page - 1), page, false, NULL, &err);
}

void oh_os_unreserve(void *addr, size_t size)
{
    int saved = errno;
    if (munmap(addr, size) == 0) atomic_fetch_sub(&mapped_bytes, size);
    errno = saved;
}

int oh_os_commit(void *addr, size_t size)
{
    int saved = errno;
    if (oh_fault_hit(OH_FAULT_MMAP)) return ENOMEM;
    if (madvise(addr, size, MADV_POPULATE_WRITE) != 0) {
        if (errno != EINVAL) {
            int e = errno == EFAULT || errno == EHWPOISON ? ENOMEM : errno;
            errno = saved;
            return e;
        }
        /* Kernels before 5.14: touch every page. */
        size_t page = oh_os_page_size();
        for (size_t off = 0; off < size; off += page) ((volatile char *)addr)[off] = 0;
    }
    errno = saved;
    return 0;
}

int oh_os_decommit(void *addr, size_t size)
{
    int saved = errno;
    int r = madvise(addr, size, MADV_DONTNEED) == 0 ? 0 : errno;
    errno = saved;
    return r;
}

int oh_os_protect(void *addr, size_t size, enum oh_os_prot prot)
{
    static const int flags[] = {PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE};
    int saved = errno;
    int r = mprotect(addr, size, flags[prot]) == 0 ? 0 : errno;
    errno = saved;
    return r;
}

int oh_os_advise(void *addr, size_t size, int advice)
{
    int saved = errno;
    int r = madvise(addr, size, advice) == 0 ? 0 : errno;
    errno = saved;
    return r;
}

const void *oh_os_map_file(const char *path, size_t *len)
{
    int saved = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errno = saved;
        return NULL;
    }
    struct stat st;
    void *map = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        *len = (size_t)st.st_size;
        map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    }
    close(fd);
    errno = saved;
    return map == MAP_FAILED ? NULL : map;
}

void oh_os_unmap_file(const void *map, size_t len)
{
    int saved = errno;
    (void)munmap((void *)(uintptr_t)map, len);
    errno = saved;
}

size_t oh_os_mapped_bytes(void)
{
    return atomic_load(&mapped_bytes);
}

static uintptr_t parse_hex(const char **s)
{
    uintptr_t v = 0;
    for (;;) {
        char c = **s;
        unsigned d;
        if (c >= '0' && c <= '9') d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') d = (unsigned)(c - 'a' + 10);
        else break;
        v = v << 4 | d;
        (*s)++;
    }
    return v;
}

/* One line of /proc/self/maps: "lo-hi perms offset dev inode   path". */
static bool parse_mapping(const char *line, struct oh_os_mapping *m)
{
    const char *p = line;
    m->lo = parse_hex(&p);
    if (*p++ != '-') return false;
    m->hi = parse_hex(&p);
    if (*p++ != ' ' || !p[0] || !p[1] || !p[2] || !p[3]) return false;
    m->read = p[0] == 'r';
    m->write = p[1] == 'w';
    m->shared = p[3] == 's';
    p += 4;
    /* offset, dev, inode, then the path (if any) after spaces */
    for (int field = 0; field < 3; field++) {
        while (*p == ' ') p++;
        while (*p && *p != ' ' && *p != '\n') p++;
    }
    while (*p == ' ') p++;
    m->file = *p == '/';
    m->special = *p == '[' && strncmp(p, "[heap]", 6) != 0 && strncmp(p, "[anon", 5) != 0;
    return m->hi > m->lo;
}

int oh_os_each_mapping(bool (*fn)(const struct oh_os_mapping *m, void *arg), void *arg)
{
    int saved = errno;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        errno = saved;
        return e;
    }
    char buf[4096];
    size_t have = 0;
    int err = 0;
    bool more = true, go = true;
    while (go && (more || have)) {
        if (more && have < sizeof buf) {
            ssize_t r = read(fd, buf + have, sizeof buf - have);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                err = errno;
                break;
            }
            if (r == 0) more = false;
            have += (size_t)r;
        }
        /* Every complete line in buf (a last line without '\n' at EOF too). */
        size_t start = 0;
        for (size_t i = 0; i < have && go; i++) {
            if (buf[i] != '\n' && !(i + 1 == have && !more)) continue;
            size_t end = buf[i] == '\n' ? i : i + 1;
            char line[512];
            size_t len = end - start < sizeof line - 1 ? end - start : sizeof line - 1;
            memcpy(line, buf + start, len);
            line[len] = '\0';
            struct oh_os_mapping m;
            if (parse_mapping(line, &m)) go = fn(&m, arg);
            start = i + 1;
        }
        if (start == 0 && have == sizeof buf) start = have; /* a line longer than buf: drop it */
        memmove(buf, buf + start, have - start);
        have -= start;
        if (!more && have) have = 0;
    }
    close(fd);
    errno = saved;
    return err;
}

int oh_os_resident(const void *addr, size_t pages, unsigned char *vec)
{
    int saved = errno;
    int r = mincore((void *)(uintptr_t)addr, pages * oh_os_page_size(), vec) == 0 ? 0 : errno;
    errno = saved;
    return r;
}

size_t oh_os_read_self(void *dst, const void *src, size_t len)
{
    int saved = errno;
    /* getpid() every time: a cached pid would make a fork child read its
     * parent. */
    struct iovec local = {dst, len}, remote = {(void *)(uintptr_t)src, len};
    ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    size_t got = r < 0 ? 0 : (size_t)r;
    if (r < 0 && (errno == EPERM || errno == ENOSYS)) got = (size_t)-1;
    errno = saved;
    return got;
}

size_t oh_os_rss(void)
{
    char buf[128];
    int saved = errno;
    size_t rss = 0;
    if (read_proc("/proc/self/statm", buf, sizeof buf)) {
        const char *p;
        (void)parse_ulong(buf, &p);
        rss = parse_ulong(p, NULL) * oh_os_page_size();
    }
    errno = saved;
    return rss;
}
