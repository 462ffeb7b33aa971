/* SPDX-License-Identifier: MIT */
/*
 * config.h — the preload's settings, read once from the environment by
 * scanning environ (no getenv-then-copy, no malloc): first OFFHEAP_CONF
 * ("name:value,name:value", the variables' names in lower case without
 * OFFHEAP_), then the OFFHEAP_* variables, which win over OFFHEAP_CONF.  One
 * table in config.c drives parsing, defaults, OFFHEAP_VERBOSE output and
 * offheap_config_get().  Nothing changes after start.
 */
#ifndef OH_CONFIG_H
#define OH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

enum oh_exhaust { OH_EXHAUST_ENOMEM = 0, OH_EXHAUST_ABORT = 1, OH_EXHAUST_FALLBACK = 2 };
enum oh_stats_mode { OH_STATS_OFF = 0, OH_STATS_TEXT = 1, OH_STATS_JSON = 2 };

struct oh_config {
    size_t pool_size;                /* OFFHEAP_POOL_SIZE: bytes reserved for scopes */
    size_t slab_size;                /* OFFHEAP_SLAB_SIZE: bytes per slab */
    size_t retain;                   /* OFFHEAP_RETAIN: idle slab bytes kept resident */
    int on_exhaust;                  /* OFFHEAP_ON_EXHAUST: enum oh_exhaust */
    const char *exclude;             /* OFFHEAP_EXCLUDE: ':'/','-separated names, or NULL */
    bool verbose;                    /* OFFHEAP_VERBOSE */
    int stats;                       /* OFFHEAP_STATS: enum oh_stats_mode */
    int stats_signal;                /* OFFHEAP_STATS_SIGNAL: 0 = none */
    int stats_fd;                    /* OFFHEAP_STATS_FD: where stats go (default 2);
                                        stats.c replaces it with its private copy */
    int stats_fd_asked;              /* OFFHEAP_STATS_FD as configured */
    unsigned long stats_interval_ms; /* OFFHEAP_STATS_INTERVAL: 0 = off */
    int check;                       /* OFFHEAP_CHECK: 0 off, 1 on */
    bool huge_pages;                 /* OFFHEAP_HUGE_PAGES */
    bool dormant;                    /* OFFHEAP_DORMANT: until the first scope, the
                                        program's calls bypass us (plt.h) */
    bool rescue;                     /* OFFHEAP_RESCUE: probation, the rescue scan
                                        and learning from stale frees (rescue.h) */
    bool learn;                      /* OFFHEAP_LEARN: print, at exit, the
                                        OFFHEAP_EXCLUDE line learned at run time */
    unsigned long fault_mmap;        /* OFFHEAP_FAULT_MMAP: fail the Nth mmap */
    unsigned long fault_fallback;    /* OFFHEAP_FAULT_FALLBACK: fail the Nth
                                        heap allocation */
};

extern struct oh_config oh_cfg;

/* Read the environment (idempotent, thread-safe via pthread_once). */
void oh_config_load(void);

/* Print the effective configuration on stderr (OFFHEAP_VERBOSE). */
void oh_config_print(void);

/* The name of a signal number as OFFHEAP_STATS_SIGNAL accepts it ("USR1",
 * "RTMIN+2"), written into buf (at least 16 bytes); "none" for 0. */
const char *oh_signal_name(int sig, char *buf, size_t cap);

/* Parse helpers, exposed for tests: 0 on success, -1 on bad input. */
int oh_parse_size(const char *s, size_t *out);
int oh_parse_ulong(const char *s, unsigned long *out);

#pragma GCC visibility pop

#endif
