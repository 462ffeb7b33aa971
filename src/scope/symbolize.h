/* SPDX-License-Identifier: MIT */
/*
 * symbolize.h — names for code and data addresses in check-mode reports:
 * dladdr's dynamic symbols first, then the object's full symbol table
 * (elf_symtab.h).  No malloc: safe in the fault handler.
 */
#ifndef OH_SYMBOLIZE_H
#define OH_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* The symbol covering addr into sym[cap] and the offset from its start into
 * *off; *obj (obj may be NULL) gets the object's path.  false when no
 * symbol is known.  Thread-safe. */
bool oh_symbolize(const void *addr, char *sym, size_t cap, size_t *off, const char **obj);

/* "func+0x1a (/path/obj)" for a code address into buf[cap] (C++ names
 * demangled by demangle.h, without malloc), or the best
 * that is known ("0x... (obj+0x...)", "0x...").  ret: pc is a return
 * address (the call instruction before it is looked up). */
void oh_describe_pc(char *buf, size_t cap, const void *pc, bool ret);

/* "file:line" of a code address into buf[cap] (ret: a return address),
 * from the DWARF line tables, in builds with libdw's headers (-Dlibdw,
 * OH_HAVE_LIBDW), libdw.so.1 being dlopen'ed at the first call; false
 * without libdw or debug information.  dlopen and libdw allocate with malloc:
 * only for reports after which the process dies (the fault and the
 * realloc of a released block), with the thread's allocations routed to
 * the heap meanwhile (check_report.c). */
bool oh_source_line(const void *pc, bool ret, char *buf, size_t cap);

/* Is addr (code or data) the program's own: in the main executable, and
 * not in a weak or unique symbol, which is what template instantiations,
 * inline functions and their statics are (library code compiled into the
 * program, from headers)?  A stripped program's addresses count as its
 * own.  Reads the program's symbol table: for reports only. */
bool oh_program_own(const void *addr);

#pragma GCC visibility pop

#endif
