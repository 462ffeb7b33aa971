/* SPDX-License-Identifier: MIT */
/* stats.h — the preload's report hooks (stats.c). */
#ifndef OH_STATS_H
#define OH_STATS_H

/* Install the OFFHEAP_STATS_SIGNAL handler, if one is configured. */
void oh_stats_install_signal(void);

/* Print the OFFHEAP_STATS report, if asked for (runs at exit). */
void oh_stats_at_exit(void);

#endif
