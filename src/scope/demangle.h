/* SPDX-License-Identifier: MIT */
/*
 * demangle.h — a small Itanium C++ demangler for check-mode reports,
 * writing into the caller's buffer (no malloc, unlike __cxa_demangle,
 * which must not run inside the interposer: at a scope end or in a fault
 * handler it would allocate through the engine it reports on).
 *
 * It knows what backtraces and type names mostly hold: nested and std::
 * names, constructors and destructors, common operators, template
 * arguments (types and integer/bool literals), function parameters with
 * builtin, class, pointer, reference and cv-qualified types, and the
 * substitutions (S_, S<n>_, Sa, Sb, Ss, Si, So, Sd) among them; a clone
 * suffix (".cold", ".isra.0") is kept as " [clone .cold]".  Anything else
 * (template parameters T_, local names, lambdas, expressions) makes it
 * give up, and the report prints the mangled name.
 */
#ifndef OH_DEMANGLE_H
#define OH_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Demangle a symbol ("_Z...") into out[cap]: true on success (out holds
 * the C++ name, with its parameters for a function).  false: not mangled
 * or not understood (out undefined). */
bool oh_demangle(const char *mangled, char *out, size_t cap);

/* Demangle a type name as std::type_info::name() gives it ("13request_error",
 * "N2ns5errorE", "St13runtime_error"). */
bool oh_demangle_type(const char *mangled, char *out, size_t cap);

#pragma GCC visibility pop

#endif
