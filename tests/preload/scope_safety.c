/* SPDX-License-Identifier: MIT */
/*
 * scope_safety.c PLUGIN TMPDIR PLUGIN_CTOR — the runtime's own state survives scopes.
 *
 * Inside one scope the program uses each of these facilities for the first
 * time: stdout/stderr buffers, fopen/fprintf/fclose (and a FILE kept open),
 * pthread_create (and a thread that outlives the scope), strerror of an
 * unusual errno, setenv/tzset/localtime/strftime, setlocale, atexit (past
 * glibc's static slots), dlopen of a library with dynamic TLS, getpwuid,
 * getaddrinfo on localhost, regcomp, opendir, iconv_open, qsort, popen,
 * system, posix_spawn, backtrace (libgcc_s), dlopen/dlclose again,
 * strsignal, 40 pthread keys, a SIGEV_THREAD timer, gettext's domain.  Then it
 * ends the scope and runs 1000 scopes that overwrite released memory while
 * it keeps using every facility.  libc's helpers whose results belong to
 * the caller (strdup, strndup, asprintf, vasprintf, getline, getdelim,
 * realpath) must give scope blocks; the facilities' own objects (FILE,
 * DIR, passwd, addrinfo) must not be.  Run normally and with
 * OFFHEAP_CHECK=1, which poisons/protects released scope memory.
 *
 * Exit: main returns 77 on purpose; the first-registered atexit handler
 * runs last and turns the failure count into the exit status, so an atexit
 * list broken by a scope fails the test.
 */
#include "ph.h"

#include <dirent.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <grp.h>
#include <iconv.h>
#include <langinfo.h>
#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <wchar.h>

extern char **environ;
static const char *tmpdir;
static const char *ctor_path;
static char path_keep[PATH_MAX], path_tmp[PATH_MAX];
static FILE *keep;
static int keep_lines;
static int (*plug_add)(int, int);
static int (*plug_tls)(int);
static void *plugin;
static char pw_name0[256];
static char err_unusual[128], err_hw[128];
static regex_t re;
static iconv_t cd;
static int atexit_ran;

/* ---- the long-lived thread started inside the first scope ---- */
static pthread_mutex_t lt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lt_cond = PTHREAD_COND_INITIALIZER;
static int lt_go;
static long lt_result;

static void *long_lived(void *arg)
{
    (void)arg;
    char local[8192];
    memset(local, 1, sizeof local);
    pthread_mutex_lock(&lt_lock);
    while (!lt_go) pthread_cond_wait(&lt_cond, &lt_lock);
    pthread_mutex_unlock(&lt_lock);
    long sum = 0;
    for (int i = 0; i < 100; i++) {
        char *p = malloc(1000);
        memset(p, i, 1000);
        sum += p[999];
        free(p);
    }
    lt_result = sum + local[100] + (plug_tls ? plug_tls(1) : 0) * 0;
    return NULL;
}

static void *short_thread(void *arg)
{
    int *v = arg;
    char *p = malloc(100);
    snprintf(p, 100, "thread %d", *v);
    *v = (int)strlen(p) + (plug_tls ? plug_tls(2) * 0 : 0);
    free(p);
    return NULL;
}

static void at_exit_count(void)
{
    atexit_ran++;
}

static void at_exit_last(void)
{
    /* Registered first, so it runs after the 40 others. */
    CHECKF(atexit_ran == 40, "%d of 40 atexit handlers ran", atexit_ran);
    fflush(NULL);
    int status = check_done("scope_safety");
    fflush(stdout);
    _exit(status);
}

static void check_tm(void)
{
    time_t t = 1700000000; /* 2023-11-14 22:13:20 UTC */
    struct tm *tm = localtime(&t);
    REQUIRE(tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z %A %B", tm);
    CHECKF(n > 0 && !strcmp(buf, "2023-11-14 23:13:20 CET Tuesday November"), "strftime gave '%s'", buf);
    t = 1690000000; /* 2023-07-22 04:26:40 UTC, summer time */
    tm = localtime(&t);
    strftime(buf, sizeof buf, "%H:%M %Z", tm);
    CHECKF(!strcmp(buf, "06:26 CEST"), "strftime gave '%s'", buf);
}

static void check_locale(void)
{
    const char *cur = setlocale(LC_ALL, NULL);
    CHECKF(cur && !strcmp(cur, "C.UTF-8"), "setlocale(LC_ALL, NULL) = %s", cur ? cur : "NULL");
    CHECK(!strcmp(nl_langinfo(CODESET), "UTF-8"));
    wchar_t wc = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    CHECK(mbrtowc(&wc, "\xc3\xa9", 2, &st) == 2 && wc == 0xe9);
}

static void check_strerror(void)
{
    CHECK(!strcmp(strerror(1234), err_unusual));
    CHECK(!strcmp(strerror(EHWPOISON), err_hw));
}

static void check_pw(void)
{
    struct passwd *pw = getpwuid(getuid());
    CHECK(pw && !strcmp(pw->pw_name, pw_name0));
    CHECK(pw && !offheap_owns(pw) && !offheap_owns(pw->pw_name));
    /* A miss in the files goes on to the next NSS module (nsswitch.conf). */
    errno = 0;
    CHECK(getpwnam("offheap-no-such-user") == NULL);
    CHECK(getgrnam("offheap-no-such-group") == NULL);
}

static void check_gai(void)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo("localhost", "80", &hints, &ai);
    CHECKF(r == 0 && ai, "getaddrinfo(localhost): %s", gai_strerror(r));
    if (ai) {
        CHECK(!offheap_owns(ai));
        freeaddrinfo(ai);
    }
}

static void check_regex(void)
{
    regmatch_t m[2];
    CHECK(regexec(&re, "key = value42;", 2, m, 0) == 0 && m[1].rm_so == 6 && m[1].rm_eo == 13);
    CHECK(regexec(&re, "no match here", 2, m, 0) == REG_NOMATCH);
}

static void check_iconv(void)
{
    char in[] = "h\xc3\xa9llo";
    char out[64];
    char *ip = in, *op = out;
    size_t il = strlen(in), ol = sizeof out;
    CHECK(iconv(cd, &ip, &il, &op, &ol) != (size_t)-1);
    CHECK(il == 0 && sizeof out - ol == 5 && (unsigned char)out[1] == 0xe9);
    iconv(cd, NULL, NULL, NULL, NULL);
}

static void check_plugin(int i)
{
    CHECK(plug_add(i, 2) == i + 2);
    CHECK(plug_tls(0) >= 1);
    CHECK(dlsym(plugin, "plug_c_add") == (void *)(uintptr_t)plug_add);
}

static void use_stdio(int i)
{
    printf("stdout line %d\n", i);
    fprintf(keep, "kept line %d\n", i);
    keep_lines++;
    FILE *f = fopen(path_tmp, "a");
    CHECK(f && !offheap_owns(f));
    if (f) {
        fprintf(f, "tmp %d\n", i);
        CHECK(fclose(f) == 0);
    }
}

static void use_thread(int i)
{
    pthread_t t;
    int v = i;
    CHECK(pthread_create(&t, NULL, short_thread, &v) == 0);
    pthread_join(t, NULL);
    CHECK(v == (int)strlen("thread ") + snprintf(NULL, 0, "%d", i));
}

/* Child processes from inside a scope: popen, system, posix_spawn. */
static void use_processes(int i)
{
    FILE *p = popen("echo popen-ok", "r");
    CHECK(p && !offheap_owns(p));
    if (p) {
        char buf[64] = "";
        CHECK(fgets(buf, sizeof buf, p) && !strcmp(buf, "popen-ok\n"));
        CHECK(pclose(p) == 0);
    }
    if (i % 3 == 0) CHECK(system("exit 3") == 3 << 8);
    pid_t pid;
    char *args[] = {"true", NULL};
    CHECK(posix_spawnp(&pid, "true", NULL, NULL, args, environ) == 0);
    int st = -1;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* More libc state: strsignal's buffer, thread-specific data past the 32
 * static keys, a SIGEV_THREAD timer (libc's helper thread), gettext's
 * text domain. */
static char sig_name0[128];
static pthread_key_t keys[40];
static timer_t timer;
static atomic_int timer_fired;

static void on_timer(union sigval v)
{
    (void)v;
    atomic_fetch_add(&timer_fired, 1);
}

static void key_dtor(void *p)
{
    (void)p;
}

static void *set_keys(void *arg)
{
    (void)arg;
    for (int i = 0; i < 40; i++) pthread_setspecific(keys[i], (void *)(uintptr_t)(i + 100));
    return NULL;
}

static void more_state_first(void)
{
    snprintf(sig_name0, sizeof sig_name0, "%s", strsignal(SIGRTMIN + 3));
    for (int i = 0; i < 40; i++) REQUIRE(pthread_key_create(&keys[i], key_dtor) == 0);
    for (int i = 0; i < 40; i++) pthread_setspecific(keys[i], (void *)(uintptr_t)(i + 1));
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_timer;
    CHECK(timer_create(CLOCK_MONOTONIC, &ev, &timer) == 0);
    struct itimerspec its = {{0, 5 * 1000 * 1000}, {0, 5 * 1000 * 1000}};
    CHECK(timer_settime(timer, 0, &its, NULL) == 0);
    CHECK(bindtextdomain("offheap-test", "/nonexistent") != NULL);
    CHECK(textdomain("offheap-test") != NULL);
    CHECK(!strcmp(gettext("hello"), "hello"));
}

static void more_state_check(void)
{
    CHECK(!strcmp(strsignal(SIGRTMIN + 3), sig_name0));
    for (int i = 0; i < 40; i++) CHECK(pthread_getspecific(keys[i]) == (void *)(uintptr_t)(i + 1));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, set_keys, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(!strcmp(textdomain(NULL), "offheap-test") && !strcmp(gettext("hello"), "hello"));
}

/* backtrace(): glibc loads libgcc_s on first use. */
static void use_backtrace(void)
{
    void *frames[16];
    int n = backtrace(frames, 16);
    CHECK(n >= 2);
    char **names = backtrace_symbols(frames, n);
    CHECK(names != NULL);
    free(names);
}

/* A second library (its constructor allocates and keeps blocks, its
 * destructor checks them: exit 9) loaded and unloaded inside scopes. */
static void use_dlclose(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECKF(h != NULL, "dlopen(%s): %s", path, dlerror());
    if (!h) return;
    CHECK(dlclose(h) == 0);
}

static void use_dir(void)
{
    DIR *d = opendir(tmpdir);
    CHECK(d && !offheap_owns(d));
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += strcmp(e->d_name, "keep.txt") == 0;
    CHECK(n == 1);
    if (d) closedir(d);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void use_qsort(void)
{
    enum { N = 5000 }; /* big enough that glibc's qsort allocates */
    int *v = malloc(N * sizeof *v);
    for (int i = 0; i < N; i++) v[i] = (i * 7919) % N;
    qsort(v, N, sizeof *v, cmp_int);
    for (int i = 0; i < N; i++)
        if (v[i] != i) {
            CHECK(!"qsort result");
            break;
        }
    free(v);
}

/* The allocating libc helpers give scope blocks inside scopes. */
static void transients(void)
{
    char *s = strdup("hello");
    char *sn = strndup("hello world", 5);
    char *as = NULL;
    CHECK(asprintf(&as, "%d-%s", 42, "x") == 4);
    char *rp = realpath(tmpdir, NULL);
    CHECK(s && sn && as && rp);
    CHECK(offheap_owns(s) && offheap_owns(sn) && offheap_owns(as) && offheap_owns(rp));
    CHECK(!strcmp(sn, "hello") && !strcmp(as, "42-x"));
    /* getline/getdelim, and builds where headers rewrite the calls
     * (-O2 inlining, _FORTIFY_SOURCE): see transients.c. */
    FILE *f = fopen(path_keep, "r");
    REQUIRE(f);
    char *line = NULL;
    size_t cap = 0;
    CHECK(getdelim(&line, &cap, ' ', f) > 0 && offheap_owns(line));
    CHECK(getline(&line, &cap, f) > 0);
    fclose(f);
    free(s);
    free(sn);
    free(as);
    free(rp);
    free(line);
}

static void overwrite(int i)
{
    for (int j = 0; j < 30; j++) {
        size_t n = 16 + (size_t)((i * 31 + j * 977) % 20000);
        unsigned char *p = malloc(n);
        if (!p) {
            CHECK(!"malloc in scope");
            return;
        }
        memset(p, 0xa5, n);
    }
    if (i % 50 == 0) memset(malloc(600000), 0x5a, 600000); /* a large run */
}

int main(int argc, char **argv)
{
    ph_require_preload();
    REQUIRE(argc == 4);
    tmpdir = argv[2];
    ctor_path = argv[3];
    REQUIRE(mkdir(tmpdir, 0700) == 0 || errno == EEXIST);
    snprintf(path_keep, sizeof path_keep, "%s/keep.txt", tmpdir);
    snprintf(path_tmp, sizeof path_tmp, "%s/tmp.txt", tmpdir);
    unlink(path_tmp);
    offheap_stats s0 = ph_stats();

    /* ================= first use, inside a scope ================= */
    offheap_scope_begin();
    REQUIRE(atexit(at_exit_last) == 0);
    printf("first stdout line, in a scope\n");
    fprintf(stderr, "scope_safety: first stderr line, in a scope\n");
    keep = fopen(path_keep, "w");
    REQUIRE(keep);
    CHECK(!offheap_owns(keep));
    setvbuf(keep, NULL, _IOFBF, 0); /* libc's own buffer, allocated on first write */
    fprintf(keep, "first line %s\n", "in scope");
    keep_lines++;
    fflush(keep);
    FILE *once = fopen(path_tmp, "w");
    REQUIRE(once);
    fprintf(once, "tmp first\n");
    fclose(once);

    pthread_t lt;
    REQUIRE(pthread_create(&lt, NULL, long_lived, NULL) == 0);
    use_thread(-1);

    snprintf(err_unusual, sizeof err_unusual, "%s", strerror(1234));
    snprintf(err_hw, sizeof err_hw, "%s", strerror(EHWPOISON));
    CHECK(strstr(err_unusual, "1234") != NULL);

    REQUIRE(setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1) == 0);
    tzset();
    check_tm();

    CHECK(setlocale(LC_ALL, "C.UTF-8") != NULL);
    check_locale();

    for (int i = 0; i < 40; i++) REQUIRE(atexit(at_exit_count) == 0); /* past glibc's 32 static slots */

    plugin = dlopen(argv[1], RTLD_NOW);
    CHECKF(plugin != NULL, "dlopen(%s): %s", argv[1], dlerror());
    if (!plugin) _exit(1);
    plug_add = (int (*)(int, int))(uintptr_t)dlsym(plugin, "plug_c_add");
    plug_tls = (int (*)(int))(uintptr_t)dlsym(plugin, "plug_c_tls");
    REQUIRE(plug_add && plug_tls);
    check_plugin(0);

    struct passwd *pw = getpwuid(getuid());
    REQUIRE(pw);
    snprintf(pw_name0, sizeof pw_name0, "%s", pw->pw_name);
    CHECK(!offheap_owns(pw));
    check_pw();
    check_gai();
    struct addrinfo *kept_ai = NULL;
    CHECK(getaddrinfo("localhost", NULL, NULL, &kept_ai) == 0);

    CHECK(regcomp(&re, "=[[:space:]]*([a-z]+[0-9]+)", REG_EXTENDED) == 0);
    check_regex();
    DIR *kept_dir = opendir(tmpdir);
    CHECK(kept_dir != NULL);
    cd = iconv_open("ISO-8859-1", "UTF-8");
    CHECK(cd != (iconv_t)-1);
    check_iconv();
    use_qsort();
    use_dir();
    use_processes(0);
    more_state_first();
    use_backtrace();
    use_dlclose(ctor_path);
    transients();
    offheap_stats s1 = ph_stats();
    CHECKF(s1.routed_by_caller > s0.routed_by_caller, "no allocation was routed to the heap by caller (%llu)",
           (unsigned long long)s1.routed_by_caller);
    offheap_scope_end();

    /* ================= 1000 scopes later ================= */
    for (int i = 0; i < 1000; i++) {
        offheap_scope_begin();
        overwrite(i);
        switch (i % 12) {
        case 0: use_stdio(i); break;
        case 1:
            if (i % 60 == 1) use_thread(i);
            else if (i % 60 == 13) use_processes(i);
            break;
        case 2:
            check_strerror();
            if (i % 60 == 2) more_state_check();
            break;
        case 3: check_tm(); break;
        case 4: check_locale(); break;
        case 5: check_plugin(i); break;
        case 6: check_pw(); break;
        case 7:
            if (i % 120 == 7) check_gai();
            break;
        case 8: check_regex(); break;
        case 9: check_iconv(); break;
        case 10: use_dir(); break;
        case 11:
            if (i % 60 == 11) {
                use_qsort();
                transients();
                use_backtrace();
                use_dlclose(ctor_path);
            }
            break;
        }
        overwrite(i + 1);
        offheap_scope_end();
        if (i % 100 == 0) fflush(keep);
    }

    /* ================= and outside any scope ================= */
    check_strerror();
    check_tm();
    check_locale();
    check_plugin(5);
    check_pw();
    check_gai();
    check_regex();
    check_iconv();
    use_stdio(1000);
    use_thread(1000);
    use_processes(3);
    more_state_check();
    CHECKF(atomic_load(&timer_fired) > 0, "the SIGEV_THREAD timer created in a scope never fired");
    timer_delete(timer);
    struct addrinfo *a;
    int n_ai = 0;
    for (a = kept_ai; a; a = a->ai_next) n_ai += a->ai_addr != NULL;
    CHECK(n_ai >= 1);
    freeaddrinfo(kept_ai);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(kept_dir))) seen += !strcmp(e->d_name, "keep.txt");
    CHECK(seen == 1);
    closedir(kept_dir);
    regfree(&re);
    iconv_close(cd);

    pthread_mutex_lock(&lt_lock);
    lt_go = 1;
    pthread_cond_signal(&lt_cond);
    pthread_mutex_unlock(&lt_lock);
    pthread_join(lt, NULL);
    CHECK(lt_result == 4950 + 1);

    CHECK(fclose(keep) == 0);
    FILE *f = fopen(path_keep, "r");
    REQUIRE(f);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF) lines += c == '\n';
    fclose(f);
    CHECKF(lines == keep_lines, "kept FILE has %d lines, wrote %d", lines, keep_lines);
    CHECK(offheap_scope_depth() == 0);
    return 77; /* at_exit_last decides */
}
