/* SPDX-License-Identifier: MIT */
/*
 * elf_symtab.h — names from an ELF file's full symbol table (.symtab):
 * static functions and variables, and every symbol of a program not linked
 * with -rdynamic, which dladdr cannot see.  Reads the file through the OS
 * layer (mapped for one lookup, then unmapped); no malloc, so it may run
 * in a signal handler.
 */
#ifndef OH_ELF_SYMTAB_H
#define OH_ELF_SYMTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Internal: never exported, and reached without the GOT. */
#pragma GCC visibility push(hidden)

/* The function or object symbol of file `path` covering link-time address
 * vaddr: its name into name[cap] (NUL-terminated, cut to fit) and its
 * link-time value into *value; *binding (may be NULL) gets its ELF binding
 * (STB_LOCAL, STB_GLOBAL, STB_WEAK, STB_GNU_UNIQUE).  false when the file
 * is unreadable, has no .symtab, or no symbol covers vaddr.  Thread-safe. */
bool oh_elf_symtab_name(const char *path, uintptr_t vaddr, char *name, size_t cap, uintptr_t *value,
                        int *binding);

#pragma GCC visibility pop

#endif
