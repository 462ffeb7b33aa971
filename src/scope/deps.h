/* SPDX-License-Identifier: MIT */
/*
 * deps.h — which loaded object depends on which (DT_NEEDED), for the
 * rescue's judgment of a block that another library's block holds:
 * library A's block kept in library B's structure is A's own state when A
 * uses B (ICU's i18n objects in the caches of its common library, a GObject
 * type's data in GLib's tables), and a result handed to B by someone else
 * when A does not know B (jansson's JSON text in libmicrohttpd's response,
 * put there by the program).
 */
#ifndef OH_DEPS_H
#define OH_DEPS_H

#include <stdbool.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* True when the object whose code holds pc `a` needs the object whose code
 * holds pc `b`, directly or through up to three other objects (DT_NEEDED
 * names matched against file names and DT_SONAME).  False when either pc
 * is in no loaded object, or they are in the same one.  Reads the loader's
 * tables through dl_iterate_phdr; allocates nothing.  Not thread-safe:
 * called with the rescue's lock held (its static tables are shared). */
bool oh_object_needs(const void *a, const void *b);

#pragma GCC visibility pop

#endif
