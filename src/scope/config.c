/* SPDX-License-Identifier: MIT */
/*
 * config.c — environment variables of the preload.  A bad value costs one
 * stderr line naming the variable and the default it falls back to; an
 * unknown OFFHEAP_* name (a typo) also gets a line.  Nothing here allocates.
 */
#include "scope/config.h"

#include "core/fault.h"
#include "core/log.h"
#include "core/util.h"

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
    .dormant = true,
    .rescue = true,
};

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

static int parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on")) *out = true;
    else if (!strcmp(s, "0") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off")) *out = false;
    else return -1;
    return 0;
}

static const struct {
    const char *name;
    int num;
} signals[] = {
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2},   {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
    {"PWR", SIGPWR},   {"WINCH", SIGWINCH}, {"URG", SIGURG},
};

static int parse_signal(const char *s, int *out)
{
    if (!strncmp(s, "SIG", 3)) s += 3;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        if (!strcmp(s, signals[i].name)) {
            *out = signals[i].num;
            return 0;
        }
    }
    unsigned long v;
    if (oh_parse_ulong(s, &v) || v == 0 || v >= (unsigned long)NSIG || v == SIGKILL || v == SIGSTOP || v == SIGSEGV ||
        v == SIGBUS)
        return -1;
    *out = (int)v;
    return 0;
}

/* Each handler validates, stores, or returns the reason it refused. */
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
    return parse_signal(v, &oh_cfg.stats_signal) ? "not a signal name (USR1, USR2, ...) or number" : NULL;
}

static const char *set_stats_fd(const char *v)
{
    unsigned long fd;
    if (oh_parse_ulong(v, &fd) || fd > INT_MAX) return "not a file descriptor number";
    oh_cfg.stats_fd = (int)fd;
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

/* The table.  `def` is what the README and the warnings name. */
static const struct {
    const char *name;
    setter_fn set;
    const char *def;
} vars[] = {
    {"OFFHEAP_POOL_SIZE", set_pool_size, "1G"},  {"OFFHEAP_SLAB_SIZE", set_slab_size, "1M"},
    {"OFFHEAP_RETAIN", set_retain, "64M"},       {"OFFHEAP_ON_EXHAUST", set_exhaust, "enomem"},
    {"OFFHEAP_EXCLUDE", set_exclude, "(none)"},  {"OFFHEAP_VERBOSE", set_verbose, "0"},
    {"OFFHEAP_STATS", set_stats, "0"},           {"OFFHEAP_STATS_SIGNAL", set_stats_signal, "(none)"},
    {"OFFHEAP_STATS_FD", set_stats_fd, "2"},     {"OFFHEAP_CHECK", set_check, "0"},
    {"OFFHEAP_HUGE_PAGES", set_huge, "0"},       {"OFFHEAP_DORMANT", set_dormant, "1"},
    {"OFFHEAP_RESCUE", set_rescue, "1"},         {"OFFHEAP_LEARN", set_learn, "0"},
    {"OFFHEAP_FAULT_MMAP", set_fault_mmap, "0"}, {"OFFHEAP_FAULT_FALLBACK", set_fault_fallback, "0"},
};

/* The value as it can be shown on one line: control characters become
 * '?', and long values are cut. */
static const char *printable(const char *v, char *buf, size_t cap)
{
    size_t i = 0;
    for (; v[i] && i + 4 < cap; i++) buf[i] = (v[i] >= 0x20 && v[i] != 0x7f) ? v[i] : '?';
    if (v[i]) buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
    buf[i] = '\0';
    return buf;
}

static void apply(const char *entry)
{
    const char *eq = strchr(entry, '=');
    if (!eq) return;
    size_t len = (size_t)(eq - entry);
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (strlen(vars[i].name) == len && !strncmp(entry, vars[i].name, len)) {
            const char *why = vars[i].set(eq + 1);
            char shown[80];
            if (why)
                oh_log("%s='%s' is %s; using the default %s", vars[i].name, printable(eq + 1, shown, sizeof shown), why,
                       vars[i].def);
            return;
        }
    }
    char name[64];
    size_t n = len < sizeof name - 1 ? len : sizeof name - 1;
    memcpy(name, entry, n);
    name[n] = '\0';
    oh_log("%s is not a liboffheap setting (ignored); see README for the list", name);
}

static void load_once(void)
{
    if (!environ) return;
    for (char **e = environ; *e; e++) {
        if (!strncmp(*e, "OFFHEAP_", 8)) apply(*e);
    }
    if (oh_cfg.slab_size > oh_cfg.pool_size) {
        /* The cap is a promise: shrink the slab, never grow the pool. */
        size_t slab = 64 * KiB;
        while (slab * 2 <= oh_cfg.pool_size) slab *= 2;
        oh_log("slab size %zu is larger than OFFHEAP_POOL_SIZE=%zu; using slabs of %zu", oh_cfg.slab_size,
               oh_cfg.pool_size, slab);
        oh_cfg.slab_size = slab;
    }
    /* The pool holds whole slabs: round down, never above the cap asked. */
    oh_cfg.pool_size &= ~(oh_cfg.slab_size - 1);
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
    static const char *exhaust[] = {"enomem", "abort", "fallback"};
    static const char *stats[] = {"0", "text", "json"};
    oh_log("config: pool_size=%zu slab_size=%zu retain=%zu on_exhaust=%s exclude=%s stats=%s "
           "stats_signal=%d stats_fd=%d check=%d huge_pages=%d dormant=%d rescue=%d learn=%d",
           oh_cfg.pool_size, oh_cfg.slab_size, oh_cfg.retain, exhaust[oh_cfg.on_exhaust],
           oh_cfg.exclude ? oh_cfg.exclude : "(none)", stats[oh_cfg.stats], oh_cfg.stats_signal, oh_cfg.stats_fd,
           oh_cfg.check, (int)oh_cfg.huge_pages, (int)oh_cfg.dormant, (int)oh_cfg.rescue, (int)oh_cfg.learn);
}
