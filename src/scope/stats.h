/* SPDX-License-Identifier: MIT */
/* stats.h — the preload's report hooks (stats.c). */
#ifndef OH_STATS_H
#define OH_STATS_H

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* Keep a private copy of the stats descriptor (OFFHEAP_STATS_FD). */
void oh_stats_keep_fd(void);

/* Install the OFFHEAP_STATS_SIGNAL handler, if one is configured. */
void oh_stats_install_signal(void);

/* A thread joined the scopes for the first time: start the
 * OFFHEAP_STATS_INTERVAL thread if it is configured and not running yet
 * (once per process). */
void oh_stats_scopes_started(void);

/* In a forked child, after every lock is released: note what jemalloc and
 * the rescue had counted (the child reports only what it does), and start
 * the child's own OFFHEAP_STATS_INTERVAL thread if the parent had one. */
void oh_stats_postfork_child(void);

/* Print the OFFHEAP_STATS report, if asked for, and stop the periodic
 * lines (runs at exit). */
void oh_stats_at_exit(void);

#pragma GCC visibility pop

#endif
