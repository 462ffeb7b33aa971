/* SPDX-License-Identifier: MIT */
/*
 * config.c — the settings of the preload, from OFFHEAP_CONF and the
 * OFFHEAP_* environment variables, and offheap_config_get().
 *
 * Each setting has a variable (OFFHEAP_POOL_SIZE) and a name (pool_size):
 * OFFHEAP_CONF="pool_size:256M,slab_size:2M" sets it by name, and a variable
 * set on its own wins over OFFHEAP_CONF.  A bad value costs one stderr line
 * naming the setting and the value kept; an unknown OFFHEAP_* variable or
 * OFFHEAP_CONF name (a typo) also gets a line.  Everything is read once, at
 * start, under pthread_once, and never changes afterwards; nothing here
 * allocates (OFFHEAP_CONF is copied into a static buffer).
 */
#include "scope/config.h"

#include "offheap.h"

#include "core/fault.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

extern char **environ;

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)
#define TiB ((size_t)1 << 40)

struct oh_config oh_cfg = {
    .pool_size = 1 * GiB,
    .slab_size = 1 * MiB,
    .retain = 64 * MiB,
    .on_exhaust = OH_EXHAUST_ENOMEM,
    .stats_fd = 2,
    .stats_fd_asked = 2,
    .dormant = true,
    .rescue = true,
};

/* ---- parsing ------------------------------------------------------------- */

int oh_parse_ulong(const char *s, unsigned long *out)
{
    if (!s || !*s) return -1;
    unsigned long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULONG_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int oh_parse_size(const char *s, size_t *out)
{
    if (!s || !*s) return -1;
    size_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        size_t d = (size_t)(*p - '0');
        if (v > (SIZE_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    size_t mult = 1;
    switch (*p) {
    case '\0': break;
    case 'k':
    case 'K':
        mult = KiB;
        p++;
        break;
    case 'm':
    case 'M':
        mult = MiB;
        p++;
        break;
    case 'g':
    case 'G':
        mult = GiB;
        p++;
        break;
    case 't':
    case 'T':
        mult = TiB;
        p++;
        break;
    default: return -1;
    }
    if (*p == 'i' && mult > 1) p++;
    if ((*p == 'b' || *p == 'B') && mult >= 1) p++;
    if (*p) return -1;
    if (mult > 1 && v > SIZE_MAX / mult) return -1;
    *out = v * mult;
    return 0;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* a and the first n bytes of b are equal, ignoring ASCII case, and a has
 * exactly n bytes. */
static bool ieqn(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++, a++)
        if (!*a || lower(*a) != lower(b[i])) return false;
    return *a == '\0';
}

static bool ieq(const char *a, const char *b)
{
    return ieqn(a, b, strlen(b));
}

/* s starts with p (lower case), ignoring ASCII case. */
static bool iprefix(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if (lower(*s) != *p) return false;
    return true;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on")) *out = true;
    else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off")) *out = false;
    else return -1;
    return 0;
}

/* Why a setter refused a value when the reason is not a constant.  The
 * configuration is read under pthread_once: one writer, before any use. */
static char why_buf[384];

/* ---- OFFHEAP_STATS_SIGNAL ------------------------------------------------ */

/* Which signals may dump statistics.  Only those whose default action
 * nobody relies on: the two user signals, the two ignored by default
 * (WINCH, URG) and the real-time signals.  Every other signal stops the
 * process, reports a fault, or drives job control, timers or children, and
 * a program, its shell or its supervisor counts on that: a handler that
 * prints and returns would silently change it (SIGTERM would no longer
 * stop the process). */
enum why_refused { OK_SIG, STOPS, FAULT, CANNOT, JOB, TIMER, PIPE_SIG, LIMIT };

static const struct {
    const char *name;
    int num;
    enum why_refused why;
} signals[] = {
    {"USR1", SIGUSR1, OK_SIG}, {"USR2", SIGUSR2, OK_SIG},    {"WINCH", SIGWINCH, OK_SIG}, {"URG", SIGURG, OK_SIG},
    {"HUP", SIGHUP, STOPS},    {"INT", SIGINT, STOPS},       {"QUIT", SIGQUIT, STOPS},    {"TERM", SIGTERM, STOPS},
    {"PWR", SIGPWR, STOPS},    {"STKFLT", SIGSTKFLT, STOPS}, {"IO", SIGIO, STOPS},        {"POLL", SIGPOLL, STOPS},
    {"ILL", SIGILL, FAULT},    {"TRAP", SIGTRAP, FAULT},     {"ABRT", SIGABRT, FAULT},    {"IOT", SIGIOT, FAULT},
    {"BUS", SIGBUS, FAULT},    {"FPE", SIGFPE, FAULT},       {"SEGV", SIGSEGV, FAULT},    {"SYS", SIGSYS, FAULT},
    {"KILL", SIGKILL, CANNOT}, {"STOP", SIGSTOP, CANNOT},    {"CHLD", SIGCHLD, JOB},      {"CLD", SIGCHLD, JOB},
    {"CONT", SIGCONT, JOB},    {"TSTP", SIGTSTP, JOB},       {"TTIN", SIGTTIN, JOB},      {"TTOU", SIGTTOU, JOB},
    {"ALRM", SIGALRM, TIMER},  {"VTALRM", SIGVTALRM, TIMER}, {"PROF", SIGPROF, TIMER},    {"PIPE", SIGPIPE, PIPE_SIG},
    {"XCPU", SIGXCPU, LIMIT},  {"XFSZ", SIGXFSZ, LIMIT},
};

#define ACCEPTED "accepted: USR1, USR2, WINCH, URG, RTMIN..RTMAX, as names (any case, SIG optional) or numbers"

const char *oh_signal_name(int sig, char *buf, size_t cap)
{
    if (sig == 0) return "none";
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (signals[i].num == sig) return signals[i].name;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        if (sig == SIGRTMIN) return "RTMIN";
        if (sig == SIGRTMAX) return "RTMAX";
        oh_format(buf, cap, "RTMIN+%d", sig - SIGRTMIN);
        return buf;
    }
    oh_format(buf, cap, "%d", sig);
    return buf;
}

/* The refusal of a known signal, in why_buf. */
static const char *refuse(const char *name, enum why_refused why)
{
    static const char *const reason[] = {
        [STOPS] = "whose default action stops the process: a statistics handler would keep it running",
        [FAULT] = "which reports a fault or a crash and must go on doing so",
        [CANNOT] = "which cannot be caught",
        [JOB] = "which job control and child processes rely on",
        [TIMER] = "which timers and profilers deliver",
        [PIPE_SIG] = "which stops a process that writes to a closed pipe",
        [LIMIT] = "which enforces a resource limit",
    };
    oh_format(why_buf, sizeof why_buf, "refused: SIG%s, %s (" ACCEPTED ")", name, reason[why]);
    return why_buf;
}

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (after any SIG prefix). */
static int parse_rt(const char *s, int *out)
{
    int base, sign;
    if (iprefix(s, "rtmin") && (!s[5] || s[5] == '+' || s[5] == '-')) base = SIGRTMIN;
    else if (iprefix(s, "rtmax") && (!s[5] || s[5] == '+' || s[5] == '-')) base = SIGRTMAX;
    else return -1;
    s += 5;
    if (!*s) {
        *out = base;
        return 0;
    }
    sign = *s == '+' ? 1 : -1;
    unsigned long k;
    if (oh_parse_ulong(s + 1, &k) || k > 1000) return -1;
    *out = base + sign * (int)k;
    return 0;
}

static const char *parse_signal(const char *s, int *out)
{
    const char *name = s;
    if (iprefix(name, "sig")) name += 3;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (ieq(name, signals[i].name)) {
            if (signals[i].why != OK_SIG) return refuse(signals[i].name, signals[i].why);
            *out = signals[i].num;
            return NULL;
        }
    }
    int rt;
    if (parse_rt(name, &rt) == 0) {
        if (rt < SIGRTMIN || rt > SIGRTMAX) return "refused: outside RTMIN..RTMAX (" ACCEPTED ")";
        *out = rt;
        return NULL;
    }
    unsigned long v;
    if (oh_parse_ulong(s, &v)) return "not a signal name or number (" ACCEPTED ")";
    if (v == 0 || v >= (unsigned long)NSIG) return "not a signal number (" ACCEPTED ")";
    int sig = (int)v;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (signals[i].num == sig) {
            if (signals[i].why != OK_SIG) return refuse(signals[i].name, signals[i].why);
            *out = sig;
            return NULL;
        }
    }
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        *out = sig;
        return NULL;
    }
    if (sig < SIGRTMIN) return "refused: a signal glibc reserves for its threads (" ACCEPTED ")";
    return "not a signal number (" ACCEPTED ")";
}

/* ---- OFFHEAP_STATS_INTERVAL ---------------------------------------------- */

/* "10s", "500ms", "2m", "1h", or a number of seconds; 0 turns it off. */
static int parse_interval(const char *s, unsigned long *ms)
{
    unsigned long v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > 100000000ul) return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    unsigned long mult;
    if (!*p || ieq(p, "s")) mult = 1000;
    else if (ieq(p, "ms")) mult = 1;
    else if (ieq(p, "m") || ieq(p, "min")) mult = 60000;
    else if (ieq(p, "h")) mult = 3600000;
    else return -1;
    *ms = v * mult;
    return 0;
}

/* ---- setters: validate, store, or say why not ----------------------------- */

typedef const char *(*setter_fn)(const char *value);

static const char *set_pool_size(const char *v)
{
    size_t s;
    if (oh_parse_size(v, &s)) return "not a size (a number with an optional K, M, G or T suffix)";
    if (s < 64 * KiB || s > 64 * TiB) return "out of range (64K to 64T)";
    oh_cfg.pool_size = s;
    return NULL;
}

static const char *set_slab_size(const char *v)
{
    size_t s;
    if (oh_parse_size(v, &s)) return "not a size (a number with an optional K, M or G suffix)";
    if (!oh_is_pow2(s) || s < 64 * KiB || s > 1 * GiB) return "not a power of two from 64K to 1G";
    oh_cfg.slab_size = s;
    return NULL;
}

static const char *set_retain(const char *v)
{
    size_t s;
    if (oh_parse_size(v, &s)) return "not a size (a number with an optional K, M, G or T suffix)";
    oh_cfg.retain = s;
    return NULL;
}

static const char *set_exhaust(const char *v)
{
    if (!strcmp(v, "enomem") || !strcmp(v, "null")) oh_cfg.on_exhaust = OH_EXHAUST_ENOMEM;
    else if (!strcmp(v, "abort")) oh_cfg.on_exhaust = OH_EXHAUST_ABORT;
    else if (!strcmp(v, "fallback") || !strcmp(v, "heap")) oh_cfg.on_exhaust = OH_EXHAUST_FALLBACK;
    else return "not one of enomem, abort, fallback";
    return NULL;
}

static const char *set_exclude(const char *v)
{
    oh_cfg.exclude = *v ? v : NULL;
    return NULL;
}

static const char *set_verbose(const char *v)
{
    return parse_bool(v, &oh_cfg.verbose) ? "not a boolean (0/1, yes/no, on/off)" : NULL;
}

static const char *set_stats(const char *v)
{
    bool b;
    if (!strcmp(v, "json")) oh_cfg.stats = OH_STATS_JSON;
    else if (!strcmp(v, "text")) oh_cfg.stats = OH_STATS_TEXT;
    else if (!parse_bool(v, &b)) oh_cfg.stats = b ? OH_STATS_TEXT : OH_STATS_OFF;
    else return "not one of 0, 1, text, json";
    return NULL;
}

static const char *set_stats_signal(const char *v)
{
    return parse_signal(v, &oh_cfg.stats_signal);
}

static const char *set_stats_fd(const char *v)
{
    unsigned long fd;
    if (oh_parse_ulong(v, &fd) || fd > INT_MAX) return "not a file descriptor number";
    oh_cfg.stats_fd = oh_cfg.stats_fd_asked = (int)fd;
    return NULL;
}

static const char *set_stats_interval(const char *v)
{
    unsigned long ms;
    if (parse_interval(v, &ms)) return "not a duration (a number with s, ms, m or h; 0 for off)";
    if (ms && (ms < 100 || ms > 24ul * 3600000)) return "out of range (100ms to 24h, or 0 for off)";
    oh_cfg.stats_interval_ms = ms;
    return NULL;
}

static const char *set_check(const char *v)
{
    bool b;
    if (parse_bool(v, &b)) return "not a boolean (0/1)";
    oh_cfg.check = b;
    return NULL;
}

static const char *set_huge(const char *v)
{
    return parse_bool(v, &oh_cfg.huge_pages) ? "not a boolean (0/1)" : NULL;
}

static const char *set_dormant(const char *v)
{
    return parse_bool(v, &oh_cfg.dormant) ? "not a boolean (0/1, yes/no, on/off)" : NULL;
}

static const char *set_rescue(const char *v)
{
    return parse_bool(v, &oh_cfg.rescue) ? "not a boolean (0/1, yes/no, on/off)" : NULL;
}

static const char *set_learn(const char *v)
{
    return parse_bool(v, &oh_cfg.learn) ? "not a boolean (0/1, yes/no, on/off)" : NULL;
}

static const char *set_fault_mmap(const char *v)
{
    return oh_parse_ulong(v, &oh_cfg.fault_mmap) ? "not a count" : NULL;
}

static const char *set_fault_fallback(const char *v)
{
    return oh_parse_ulong(v, &oh_cfg.fault_fallback) ? "not a count" : NULL;
}

/* ---- getters: the effective value as text --------------------------------- */

/* Each returns the text, in tmp (at least 32 bytes) or a static string. */
typedef const char *(*getter_fn)(char *tmp);

#define GET_SIZE(fn, field)                                                                                            \
    static const char *fn(char *tmp)                                                                                   \
    {                                                                                                                  \
        oh_format(tmp, 32, "%zu", oh_cfg.field);                                                                       \
        return tmp;                                                                                                    \
    }
#define GET_BOOL(fn, expr)                                                                                             \
    static const char *fn(char *tmp)                                                                                   \
    {                                                                                                                  \
        (void)tmp;                                                                                                     \
        return (expr) ? "1" : "0";                                                                                     \
    }
#define GET_ULONG(fn, expr)                                                                                            \
    static const char *fn(char *tmp)                                                                                   \
    {                                                                                                                  \
        oh_format(tmp, 32, "%lu", (unsigned long)(expr));                                                              \
        return tmp;                                                                                                    \
    }
GET_SIZE(get_pool_size, pool_size)
GET_SIZE(get_slab_size, slab_size)
GET_SIZE(get_retain, retain)
GET_BOOL(get_verbose, oh_cfg.verbose)
GET_BOOL(get_check, oh_cfg.check)
GET_BOOL(get_huge, oh_cfg.huge_pages)
GET_BOOL(get_dormant, oh_cfg.dormant)
GET_BOOL(get_rescue, oh_cfg.rescue)
GET_BOOL(get_learn, oh_cfg.learn)
GET_ULONG(get_stats_fd, oh_cfg.stats_fd_asked)
GET_ULONG(get_fault_mmap, oh_cfg.fault_mmap)
GET_ULONG(get_fault_fallback, oh_cfg.fault_fallback)

static const char *get_exhaust(char *tmp)
{
    (void)tmp;
    static const char *const names[] = {"enomem", "abort", "fallback"};
    return names[oh_cfg.on_exhaust];
}

static const char *get_exclude(char *tmp)
{
    (void)tmp;
    return oh_cfg.exclude ? oh_cfg.exclude : "";
}

static const char *get_stats(char *tmp)
{
    (void)tmp;
    static const char *const names[] = {"0", "text", "json"};
    return names[oh_cfg.stats];
}

static const char *get_stats_signal(char *tmp)
{
    return oh_signal_name(oh_cfg.stats_signal, tmp, 32);
}

static const char *get_stats_interval(char *tmp)
{
    oh_format(tmp, 32, "%lums", oh_cfg.stats_interval_ms);
    return tmp;
}

/* ---- the table ------------------------------------------------------------ */

/* `def` is what the README and the warnings name. */
static const struct setting {
    const char *var;  /* OFFHEAP_POOL_SIZE */
    const char *name; /* pool_size: OFFHEAP_CONF and offheap_config_get() */
    setter_fn set;
    getter_fn get;
    const char *def;
} settings[] = {
    {"OFFHEAP_POOL_SIZE", "pool_size", set_pool_size, get_pool_size, "1G"},
    {"OFFHEAP_SLAB_SIZE", "slab_size", set_slab_size, get_slab_size, "1M"},
    {"OFFHEAP_RETAIN", "retain", set_retain, get_retain, "64M"},
    {"OFFHEAP_ON_EXHAUST", "on_exhaust", set_exhaust, get_exhaust, "enomem"},
    {"OFFHEAP_EXCLUDE", "exclude", set_exclude, get_exclude, "(none)"},
    {"OFFHEAP_VERBOSE", "verbose", set_verbose, get_verbose, "0"},
    {"OFFHEAP_STATS", "stats", set_stats, get_stats, "0"},
    {"OFFHEAP_STATS_SIGNAL", "stats_signal", set_stats_signal, get_stats_signal, "(none)"},
    {"OFFHEAP_STATS_FD", "stats_fd", set_stats_fd, get_stats_fd, "2"},
    {"OFFHEAP_STATS_INTERVAL", "stats_interval", set_stats_interval, get_stats_interval, "0 (off)"},
    {"OFFHEAP_CHECK", "check", set_check, get_check, "0"},
    {"OFFHEAP_HUGE_PAGES", "huge_pages", set_huge, get_huge, "0"},
    {"OFFHEAP_DORMANT", "dormant", set_dormant, get_dormant, "1"},
    {"OFFHEAP_RESCUE", "rescue", set_rescue, get_rescue, "1"},
    {"OFFHEAP_LEARN", "learn", set_learn, get_learn, "0"},
    {"OFFHEAP_FAULT_MMAP", "fault_mmap", set_fault_mmap, get_fault_mmap, "0"},
    {"OFFHEAP_FAULT_FALLBACK", "fault_fallback", set_fault_fallback, get_fault_fallback, "0"},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])
enum { S_POOL_SIZE = 0, S_SLAB_SIZE = 1 };

/* Where each setting's value came from, and OFFHEAP_CONF's text for it. */
enum source { FROM_DEFAULT, FROM_CONF, FROM_VAR };
static unsigned char source[NSETTINGS];
static const char *conf_text[NSETTINGS];

/* The value as it can be shown on one line: control characters become
 * '?', and long values are cut. */
static const char *printable(const char *v, size_t n, char *buf, size_t cap)
{
    size_t i = 0;
    for (; i < n && v[i] && i + 4 < cap; i++) buf[i] = (v[i] >= 0x20 && v[i] != 0x7f) ? v[i] : '?';
    if (i < n && v[i]) buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
    buf[i] = '\0';
    return buf;
}

/* What a refused value leaves in force, for the warning. */
static const char *kept(size_t i, char *buf, size_t cap)
{
    char shown[80];
    if (source[i] == FROM_DEFAULT) oh_format(buf, cap, "the default %s", settings[i].def);
    else if (source[i] == FROM_CONF)
        oh_format(buf, cap, "%s:%s from OFFHEAP_CONF", settings[i].name,
                  printable(conf_text[i], SIZE_MAX, shown, sizeof shown));
    else oh_format(buf, cap, "the value set before");
    return buf;
}

static void apply_var(const char *entry)
{
    const char *eq = strchr(entry, '=');
    if (!eq) return;
    size_t len = (size_t)(eq - entry);
    if (len == 12 && !strncmp(entry, "OFFHEAP_CONF", 12)) return; /* read first */
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (strlen(settings[i].var) == len && !strncmp(entry, settings[i].var, len)) {
            const char *why = settings[i].set(eq + 1);
            char shown[80], keep[160];
            if (why)
                oh_log("%s='%s' is %s; using %s", settings[i].var, printable(eq + 1, SIZE_MAX, shown, sizeof shown),
                       why, kept(i, keep, sizeof keep));
            else source[i] = FROM_VAR;
            return;
        }
    }
    char name[64];
    oh_log("%s is not a liboffheap setting (ignored); see README for the list",
           printable(entry, len, name, sizeof name));
}

/* One name:value of OFFHEAP_CONF (in conf_buf, which it may cut). */
static void apply_conf(char *entry)
{
    char shown[80], shown2[80], keep[160];
    char *colon = strchr(entry, ':');
    size_t len = colon ? (size_t)(colon - entry) : strlen(entry);
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!ieqn(settings[i].name, entry, len)) continue;
        if (!colon) {
            oh_log("OFFHEAP_CONF: %s has no value (write %s:value); ignored", settings[i].name, settings[i].name);
            return;
        }
        const char *value = colon + 1;
        const char *why = settings[i].set(value);
        if (why) {
            oh_log("OFFHEAP_CONF: %s:'%s' is %s; using %s", settings[i].name,
                   printable(value, SIZE_MAX, shown, sizeof shown), why, kept(i, keep, sizeof keep));
        } else {
            source[i] = FROM_CONF;
            conf_text[i] = value;
        }
        return;
    }
    oh_log("OFFHEAP_CONF: '%s' is not a liboffheap setting (ignored); see README for the list",
           printable(entry, len, shown2, sizeof shown2));
}

static char conf_buf[4096];

static void load_conf(const char *v)
{
    size_t len = strlen(v);
    if (len >= sizeof conf_buf) {
        oh_log("OFFHEAP_CONF is longer than %zu bytes; ignored", sizeof conf_buf - 1);
        return;
    }
    memcpy(conf_buf, v, len + 1);
    for (char *p = conf_buf;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (*p) apply_conf(p);
        if (!comma) break;
        p = comma + 1;
    }
}

/* A size as the documentation writes it: 1G, 512K, or bytes. */
static const char *show_size(size_t v, char *buf, size_t cap)
{
    static const char suffix[] = "KMGT";
    int k = -1;
    size_t u = v;
    while (k < 3 && u && u % 1024 == 0) u /= 1024, k++;
    if (k < 0) oh_format(buf, cap, "%zu", v);
    else oh_format(buf, cap, "%zu%c", u, suffix[k]);
    return buf;
}

/* How a warning names a setting: as it was given. */
static const char *named(size_t i, char *buf, size_t cap)
{
    if (source[i] != FROM_CONF) return settings[i].var;
    oh_format(buf, cap, "OFFHEAP_CONF %s", settings[i].name);
    return buf;
}

/* The pool holds whole slabs and never more than the size asked (the cap
 * is a promise).  When the size is not a whole number of slabs, a slab
 * size nobody chose (the default), or one larger than the pool, is lowered
 * to the largest power of two (64K at least) whose whole slabs keep at
 * least 7/8 of the size asked; a slab size that was set and fits is kept.
 * Either way one line says what the pool became. */
static void fit_pool(void)
{
    size_t asked = oh_cfg.pool_size, slab = oh_cfg.slab_size;
    bool slab_set = source[S_SLAB_SIZE] != FROM_DEFAULT;
    if (asked % slab == 0) return;
    size_t s = slab;
    if (s > asked || !slab_set) {
        while (s > asked) s >>= 1;
        while (s > 64 * KiB && (asked - (asked & ~(s - 1))) * 8 > asked) s >>= 1;
        if (s < 64 * KiB) s = 64 * KiB;
    }
    size_t pool = asked & ~(s - 1);
    char a[32], b[32], c[32], d[32], np[48], ns[48];
    if (s != slab)
        oh_log("%s=%s is not a whole number of %s slabs (%s%s): using %zu slabs of %s, a pool of %s; the pool never "
               "exceeds the size asked",
               named(S_POOL_SIZE, np, sizeof np), show_size(asked, a, sizeof a), show_size(slab, b, sizeof b),
               slab_set ? named(S_SLAB_SIZE, ns, sizeof ns) : "the default slab size",
               slab > asked ? ", larger than the pool" : "", pool / s, show_size(s, c, sizeof c),
               show_size(pool, d, sizeof d));
    else
        oh_log("%s=%s is not a whole number of %s slabs (%s): the pool is %zu slab%s, %s; it never exceeds the size "
               "asked",
               named(S_POOL_SIZE, np, sizeof np), show_size(asked, a, sizeof a), show_size(slab, b, sizeof b),
               named(S_SLAB_SIZE, ns, sizeof ns), pool / s, pool / s == 1 ? "" : "s", show_size(pool, c, sizeof c));
    oh_cfg.slab_size = s;
    oh_cfg.pool_size = pool;
}

static void load_once(void)
{
    if (!environ) return;
    for (char **e = environ; *e; e++)
        if (!strncmp(*e, "OFFHEAP_CONF=", 13)) load_conf(*e + 13);
    for (char **e = environ; *e; e++)
        if (!strncmp(*e, "OFFHEAP_", 8)) apply_var(*e);
    fit_pool();
    if (oh_cfg.fault_mmap) oh_fault_arm(OH_FAULT_MMAP, oh_cfg.fault_mmap, false);
    if (oh_cfg.fault_fallback) oh_fault_arm(OH_FAULT_FALLBACK, oh_cfg.fault_fallback, false);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void oh_config_load(void)
{
    (void)pthread_once(&once, load_once);
}

void oh_config_print(void)
{
    char sig[32];
    oh_log("config: version=%s pool_size=%zu slab_size=%zu retain=%zu on_exhaust=%s exclude=%s stats=%s "
           "stats_signal=%s stats_fd=%d stats_interval=%lums check=%d huge_pages=%d dormant=%d rescue=%d learn=%d",
           OFFHEAP_VERSION, oh_cfg.pool_size, oh_cfg.slab_size, oh_cfg.retain, get_exhaust(sig),
           oh_cfg.exclude ? oh_cfg.exclude : "(none)", get_stats(sig),
           oh_signal_name(oh_cfg.stats_signal, sig, sizeof sig), oh_cfg.stats_fd_asked, oh_cfg.stats_interval_ms,
           oh_cfg.check, (int)oh_cfg.huge_pages, (int)oh_cfg.dormant, (int)oh_cfg.rescue, (int)oh_cfg.learn);
}

int offheap_config_get(const char *name, char *buf, size_t len)
{
    if (!name || !buf || len == 0) return EINVAL;
    oh_config_load();
    const char *n = name;
    if (iprefix(n, "offheap_")) n += 8;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!ieq(n, settings[i].name)) continue;
        char tmp[32];
        const char *v = settings[i].get(tmp);
        size_t vl = strlen(v);
        if (vl < len) {
            memcpy(buf, v, vl + 1);
            return 0;
        }
        memcpy(buf, v, len - 1);
        buf[len - 1] = '\0';
        return ERANGE;
    }
    return ENOENT;
}
