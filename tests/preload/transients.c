/* SPDX-License-Identifier: MIT */
/*
 * transients.c FILE — libc's helpers whose result belongs to the caller
 * (strdup, strndup, asprintf, vasprintf, getline, getdelim, realpath(p,
 * NULL)) give scope blocks inside a scope and heap blocks outside, with
 * correct content.  Built three ways (meson.build): -O0; -O2, where glibc's
 * headers inline getline() into __getdelim(); and -O2 -D_FORTIFY_SOURCE=2,
 * where asprintf/vasprintf become __asprintf_chk/__vasprintf_chk.  A
 * program built like a distribution package must get the same result.
 */
#include "ph.h"

#include <limits.h>

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
    in_scope = 0;
    run(path);
    offheap_scope_begin();
    in_scope = 1;
    run(path);
    offheap_scope_end();
    in_scope = 0;
    run(path);
    unlink(path);
    return check_done(argv[1]);
}
