/* SPDX-License-Identifier: MIT */
/*
 * transients.c FILE — libc's helpers whose result belongs to the caller
 * (strdup, strndup, __strdup, __strndup, wcsdup, asprintf, __asprintf,
 * vasprintf, getline, getdelim, realpath(p, NULL), canonicalize_file_name,
 * getcwd(NULL, n), get_current_dir_name, tempnam, scandir, scandirat,
 * backtrace_symbols, the argz/envz buffers they create) give scope blocks
 * inside a scope and heap blocks outside, with correct content.  A buffer
 * argz grows (libc's realloc) is on the heap afterwards, and open_memstream's buffer stays a heap
 * block in a scope (libc writes to it until fclose, maybe after the
 * scope).  Built three ways (meson.build): -O0; -O2, where glibc's
 * headers inline getline() into __getdelim(); and -O2 -D_FORTIFY_SOURCE=2,
 * where asprintf/vasprintf become __asprintf_chk/__vasprintf_chk.  A
 * program built like a distribution package must get the same result.
 */
#include "ph.h"

#include <argz.h>
#include <dirent.h>
#include <dlfcn.h>
#include <envz.h>
#include <execinfo.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <malloc.h>
#include <net/if.h>
#include <netdb.h>
#include <regex.h>
#include <sched.h>
#include <search.h>
#include <sys/stat.h>
#include <wchar.h>

extern char *__strdup(const char *);
extern char *__strndup(const char *, size_t);
extern int __asprintf(char **, const char *, ...);

static char dir[64]; /* a directory with the files a, b, c */

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int in_scope;
#define OWNED(p, what)                                                                                                 \
    CHECKF((p) && !!offheap_owns(p) == in_scope, "[%s] %s result %p: offheap_owns %d", in_scope ? "scope" : "heap",    \
           what, (void *)(p), (p) ? offheap_owns(p) : -1)

static char *va(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *r = NULL;
    if (vasprintf(&r, fmt, ap) < 0) r = NULL;
    va_end(ap);
    return r;
}

static void run(const char *file)
{
    char *s = strdup("hello");
    OWNED(s, "strdup");
    CHECK(s && !strcmp(s, "hello"));
    char *sn = strndup("hello world", 5);
    OWNED(sn, "strndup");
    CHECK(sn && !strcmp(sn, "hello"));
    char *a = NULL;
    CHECK(asprintf(&a, "%d-%s", 42, "x") == 4);
    OWNED(a, "asprintf");
    CHECK(a && !strcmp(a, "42-x"));
    char *longer = NULL;
    CHECK(asprintf(&longer, "%0300d", 7) == 300); /* past a small stack buffer */
    OWNED(longer, "asprintf (300 chars)");
    CHECK(longer && longer[299] == '7' && longer[0] == '0');
    char *v = va("%s/%d", "vasprintf", 9);
    OWNED(v, "vasprintf");
    CHECK(v && !strcmp(v, "vasprintf/9"));
    char *rp = realpath("/", NULL);
    OWNED(rp, "realpath");
    CHECK(rp && !strcmp(rp, "/"));
    char fixed[PATH_MAX];
    CHECK(realpath("/", fixed) == fixed);

    FILE *f = fopen(file, "r");
    REQUIRE(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    CHECKF(n == 6 && line && !strcmp(line, "alpha\n"), "getline: %zd '%s'", n, line ? line : "");
    OWNED(line, "getline");
    n = getline(&line, &cap, f); /* a long line: the buffer grows */
    CHECK(n == 3001 && line && line[2999] == 'b' && line[3000] == '\n');
    OWNED(line, "getline (grown)");
    char *tok = NULL;
    size_t tcap = 0;
    n = getdelim(&tok, &tcap, ' ', f);
    CHECKF(n == 6 && tok && !strcmp(tok, "gamma "), "getdelim: %zd '%s'", n, tok ? tok : "");
    OWNED(tok, "getdelim");
    CHECK(getline(&line, &cap, f) == 6 && !strcmp(line, "delta\n"));
    CHECK(getline(&line, &cap, f) == -1);
    fclose(f);

    /* glibc's aliases */
    char *s2 = __strdup("alias");
    OWNED(s2, "__strdup");
    CHECK(s2 && !strcmp(s2, "alias"));
    char *s3 = __strndup("aliased", 5);
    OWNED(s3, "__strndup");
    CHECK(s3 && !strcmp(s3, "alias"));
    char *s4 = NULL;
    CHECK(__asprintf(&s4, "%s!", "x") == 2);
    OWNED(s4, "__asprintf");
    CHECK(s4 && !strcmp(s4, "x!"));
    wchar_t *w = wcsdup(L"wide \u00e9");
    OWNED(w, "wcsdup");
    CHECK(w && !wcscmp(w, L"wide \u00e9"));

    /* The working directory. */
    char cwd[PATH_MAX];
    REQUIRE(getcwd(cwd, sizeof cwd) == cwd);
    char *g = getcwd(NULL, 0);
    OWNED(g, "getcwd(NULL, 0)");
    CHECK(g && !strcmp(g, cwd));
    char *g2 = getcwd(NULL, 1000);
    OWNED(g2, "getcwd(NULL, 1000)");
    CHECK(g2 && !strcmp(g2, cwd) && malloc_usable_size(g2) >= 1000);
    errno = 0;
    CHECKF(getcwd(NULL, 2) == NULL && errno == ERANGE, "getcwd(NULL, 2) in %s: ERANGE", cwd);
    char *dn = get_current_dir_name();
    OWNED(dn, "get_current_dir_name");
    struct stat st1, st2;
    CHECK(dn && stat(dn, &st1) == 0 && stat(".", &st2) == 0 && st1.st_ino == st2.st_ino);
    /* Found by name: linking tempnam makes the linker warn (mkstemp is
     * safer), and the warnings must stay clean; the preload's tempnam is
     * what the lookup finds first, as a direct call would. */
    char *(*tempnam_fn)(const char *, const char *) = (char *(*)(const char *, const char *))dlsym(RTLD_DEFAULT, "tempnam");
    REQUIRE(tempnam_fn != NULL);
    char *tn = tempnam_fn("/tmp", "ohx");
    OWNED(tn, "tempnam");
    CHECKF(tn && !strncmp(tn, "/tmp/ohx", 8), "tempnam: %s", tn ? tn : "(null)");
    char *cf = canonicalize_file_name("/tmp/../");
    OWNED(cf, "canonicalize_file_name");
    CHECK(cf && !strcmp(cf, "/"));
    errno = 0;
    CHECK(canonicalize_file_name("/nonexistent-offheap/x") == NULL && errno == ENOENT);

    /* scandir and scandirat: the array and every entry. */
    struct dirent **list = NULL;
    int nl = scandir(dir, &list, NULL, alphasort);
    CHECKF(nl == 5, "scandir: %d entries", nl);
    OWNED(list, "scandir array");
    for (int i = 0; i < nl; i++) OWNED(list[i], "scandir entry");
    CHECK(nl == 5 && !strcmp(list[0]->d_name, ".") && !strcmp(list[2]->d_name, "a") && !strcmp(list[4]->d_name, "c"));
    for (int i = 0; i < nl; i++) free(list[i]);
    free(list);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    REQUIRE(dfd >= 0);
    list = NULL;
    nl = scandirat(dfd, ".", &list, NULL, alphasort);
    CHECKF(nl == 5, "scandirat: %d entries", nl);
    OWNED(list, "scandirat array");
    for (int i = 0; i < nl; i++) OWNED(list[i], "scandirat entry");
    CHECK(nl == 5 && !strcmp(list[3]->d_name, "b"));
    close(dfd);
    errno = 0;
    CHECK(scandir("/nonexistent-offheap", &list, NULL, alphasort) == -1 && errno == ENOENT);

    /* backtrace_symbols: one block, the strings inside it. */
    void *bt[4];
    int nb = backtrace(bt, 4);
    char **sy = backtrace_symbols(bt, nb);
    OWNED(sy, "backtrace_symbols");
    CHECK(nb > 0 && sy);
    for (int i = 0; sy && i < nb; i++) {
        CHECK(sy[i] && sy[i][0]);
        CHECK((char *)sy[i] > (char *)sy && (char *)sy[i] < (char *)sy + malloc_usable_size(sy));
    }
    free(sy);

    /* argz and envz buffers they create */
    char *const args[] = {"one", "two", NULL};
    char *az = NULL;
    size_t azl = 0;
    CHECK(argz_create(args, &az, &azl) == 0 && azl == 8);
    OWNED(az, "argz_create");
    CHECK(az && !memcmp(az, "one\0two\0", 8));
    /* Grown by libc's realloc: a scope block is copied to the heap (libc's
     * reallocs of scope blocks move them out, as any libc allocation goes to
     * the heap), never into a shorter lifetime. */
    CHECK(argz_add(&az, &azl, "three") == 0 && azl == 14);
    CHECKF(az && !offheap_owns(az), "argz_add (grown): %p on the heap", (void *)az);
    CHECK(argz_count(az, azl) == 3);
    char *az2 = NULL;
    size_t az2l = 0;
    CHECK(argz_create_sep("a:bb:c", ':', &az2, &az2l) == 0 && az2l == 7);
    OWNED(az2, "argz_create_sep");
    char *az3 = NULL;
    size_t az3l = 0;
    CHECK(argz_add(&az3, &az3l, "first") == 0);
    OWNED(az3, "argz_add on NULL");
    char *az4 = NULL;
    size_t az4l = 0;
    CHECK(argz_append(&az4, &az4l, "x\0y", 4) == 0 && az4l == 4);
    OWNED(az4, "argz_append on NULL");
    char *az5 = NULL;
    size_t az5l = 0;
    CHECK(argz_add_sep(&az5, &az5l, "p,q", ',') == 0 && az5l == 4);
    OWNED(az5, "argz_add_sep on NULL");
    CHECK(argz_replace(&az, &azl, "two", "deux", NULL) == 0);
    CHECK(az && !memcmp(az, "one\0deux\0three", 15));
    char *ez = NULL;
    size_t ezl = 0;
    CHECK(envz_add(&ez, &ezl, "KEY", "value") == 0);
    OWNED(ez, "envz_add on NULL");
    CHECK(ez && envz_get(ez, ezl, "KEY") && !strcmp(envz_get(ez, ezl, "KEY"), "value"));
    char *em = NULL;
    size_t eml = 0;
    CHECK(envz_merge(&em, &eml, ez, ezl, 1) == 0);
    OWNED(em, "envz_merge on NULL");
    CHECK(em && !strcmp(envz_get(em, eml, "KEY"), "value"));

    /* CPU_ALLOC: glibc's __sched_cpualloc tail-calls malloc, so the set is
     * the caller's allocation like any malloc (a scope block in a scope). */
    cpu_set_t *cpus = CPU_ALLOC(64);
    OWNED(cpus, "CPU_ALLOC");
    if (cpus) {
        CPU_ZERO_S(CPU_ALLOC_SIZE(64), cpus);
        CPU_SET_S(3, CPU_ALLOC_SIZE(64), cpus);
        CHECK(CPU_COUNT_S(CPU_ALLOC_SIZE(64), cpus) == 1);
    }
    CPU_FREE(cpus);

    /* open_memstream: libc's buffer, on the heap in and out of scopes. */
    char *mb = NULL;
    size_t ml = 0;
    FILE *ms = open_memstream(&mb, &ml);
    REQUIRE(ms != NULL);
    fprintf(ms, "memstream %d", 7);
    fclose(ms);
    CHECKF(mb && !offheap_owns(mb), "open_memstream buffer %p is the heap's", (void *)mb);
    CHECK(mb && ml == 11 && !strcmp(mb, "memstream 7"));
    free(mb);

    free(s2);
    free(s3);
    free(s4);
    free(w);
    free(g);
    free(g2);
    free(dn);
    free(tn);
    free(cf);
    free(az);
    free(az2);
    free(az3);
    free(az4);
    free(az5);
    free(ez);
    free(em);
    free(s);
    free(sn);
    free(a);
    free(longer);
    free(v);
    free(rp);
    free(line);
    free(tok);
}

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 2);
    char path[] = "/tmp/offheap-transients-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    FILE *w = fdopen(fd, "w");
    fprintf(w, "alpha\n");
    for (int i = 0; i < 3000; i++) fputc('b', w);
    fprintf(w, "\ngamma delta\n");
    fclose(w);
    snprintf(dir, sizeof dir, "/tmp/offheap-scandir-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    const char *names[] = {"c", "a", "b"};
    for (int i = 0; i < 3; i++) {
        char fp[128];
        snprintf(fp, sizeof fp, "%s/%s", dir, names[i]);
        int f2 = open(fp, O_CREAT | O_WRONLY, 0600);
        REQUIRE(f2 >= 0);
        close(f2);
    }
    void *warm[2];
    (void)backtrace(warm, 2); /* loads libgcc_s outside the scopes */
    in_scope = 0;
    run(path);

    /* A heap argz buffer grown in a scope stays on the heap. */
    char *heap_az = NULL;
    size_t heap_azl = 0;
    CHECK(argz_add(&heap_az, &heap_azl, "heap") == 0 && heap_az && !offheap_owns(heap_az));
    /* A memstream opened in a scope, written and closed after it. */
    char *mb = NULL;
    size_t ml = 0;
    offheap_scope_begin();
    CHECK(argz_add(&heap_az, &heap_azl, "grown in a scope") == 0);
    CHECKF(heap_az && !offheap_owns(heap_az), "argz grown in a scope: %p stays on the heap", (void *)heap_az);
    FILE *ms = open_memstream(&mb, &ml);
    REQUIRE(ms != NULL);
    fputs("in scope, ", ms);
    offheap_scope_end();
    fputs("after it", ms);
    fclose(ms);
    CHECK(mb && !strcmp(mb, "in scope, after it") && !offheap_owns(mb));
    free(mb);
    free(heap_az);

    /* What stays libc's on purpose: results released by a libc function of
     * their own are heap memory even when made in a scope, and are used
     * and released after it. */
    char pat[128];
    snprintf(pat, sizeof pat, "%s/[ab]", dir);
    glob_t gl;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_family = AF_INET;
    regex_t re;
    void *troot = NULL;
    static int tkey = 42;
    struct if_nameindex *ifs;
    offheap_scope_begin();
    CHECK(glob(pat, 0, NULL, &gl) == 0 && gl.gl_pathc == 2);
    CHECKF(!offheap_owns(gl.gl_pathv) && !offheap_owns(gl.gl_pathv[0]), "glob's result is libc's");
    CHECK(getaddrinfo("127.0.0.1", NULL, &hints, &ai) == 0 && ai);
    CHECKF(ai && !offheap_owns(ai), "getaddrinfo's result is libc's");
    CHECK(regcomp(&re, "^a+b$", REG_EXTENDED) == 0);
    int *const *node = tsearch(&tkey, &troot, cmp_int);
    CHECKF(node && !offheap_owns((void *)node), "tsearch's node is libc's");
    ifs = if_nameindex();
    CHECKF(ifs && !offheap_owns(ifs), "if_nameindex's result is libc's");
    offheap_scope_end();
    CHECK(gl.gl_pathc == 2 && strstr(gl.gl_pathv[0], "/a") && strstr(gl.gl_pathv[1], "/b"));
    globfree(&gl);
    CHECK(ai && ai->ai_family == AF_INET);
    freeaddrinfo(ai);
    CHECK(regexec(&re, "aab", 0, NULL, 0) == 0 && regexec(&re, "abb", 0, NULL, 0) != 0);
    regfree(&re);
    CHECK(tfind(&tkey, &troot, cmp_int) != NULL);
    tdelete(&tkey, &troot, cmp_int);
    CHECK(ifs && ifs[0].if_name != NULL);
    if_freenameindex(ifs);

    offheap_scope_begin();
    in_scope = 1;
    run(path);
    offheap_scope_end();
    in_scope = 0;
    run(path);
    unlink(path);
    for (int i = 0; i < 3; i++) {
        char fp[128];
        snprintf(fp, sizeof fp, "%s/%s", dir, names[i]);
        unlink(fp);
    }
    rmdir(dir);
    return check_done(argv[1]);
}
