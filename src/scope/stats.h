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

/* Print the OFFHEAP_STATS report, if asked for (runs at exit). */
void oh_stats_at_exit(void);

#pragma GCC visibility pop

#endif
