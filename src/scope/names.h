/* SPDX-License-Identifier: MIT */
/*
 * names.h — the figures of named scopes (offheap_scope_begin_named()).
 *
 * A fixed table of OH_NAMES slots in static memory: index 0 means
 * "unnamed", 1..OH_NAMES-2 hold names (open addressing on a hash of the
 * name's first OH_NAME_LEN bytes), and OH_NAME_OTHER counts every scope
 * whose name found no free slot.  A slot is filled once, under a lock, and
 * never emptied; lookups read it without the lock.  The counters of a name
 * are atomics any thread adds to at the end of a scope of that name.
 */
#ifndef OH_NAMES_H
#define OH_NAMES_H

#include "offheap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

#define OH_NAMES (OFFHEAP_SCOPE_NAMES_MAX + 1) /* slot 0 is "unnamed" */
#define OH_NAME_OTHER (OH_NAMES - 1)
#define OH_NAME_LEN OFFHEAP_SCOPE_NAME_LEN /* bytes of a name that are kept */

/* The slot of name (its first use takes one); 0 for NULL or "". */
uint32_t oh_name_index(const char *name);

/* A scope of slot i ended, having taken `bytes`. */
void oh_name_ended(uint32_t i, uint64_t bytes);

/* Copy up to cap names' figures into out; returns how many names exist. */
size_t oh_names_copy(offheap_scope_name_stats *out, size_t cap);

/* The figures of slot i (1..OH_NAMES-1); false when it holds no name. */
bool oh_name_get(uint32_t i, offheap_scope_name_stats *out);

/* Fork handlers: the table's lock; the child's counters start at zero. */
void oh_names_prefork(void);
void oh_names_postfork(void);
void oh_names_postfork_child(void);

#pragma GCC visibility pop

#endif
