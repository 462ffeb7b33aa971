/* SPDX-License-Identifier: MIT */
/*
 * elf_symtab.c — see elf_symtab.h.  Every offset read from the file is
 * checked against its size before use: the file may be truncated or not
 * ELF at all.
 */
#include "core/elf_symtab.h"

#include "core/os.h"

#include <elf.h>
#include <link.h>
#include <string.h>

/* The symbol of section table sh (n entries, string table str) covering
 * vaddr, copied out; false if none. */
static bool lookup(const char *f, size_t len, const ElfW(Shdr) * sh, const ElfW(Shdr) * str, uintptr_t vaddr,
                   char *name, size_t cap, uintptr_t *value, int *binding)
{
    if (sh->sh_offset > len || sh->sh_size > len - sh->sh_offset || str->sh_offset > len ||
        str->sh_size > len - str->sh_offset)
        return false;
    const ElfW(Sym) *sym = (const ElfW(Sym) *)(const void *)(f + sh->sh_offset);
    size_t n = sh->sh_size / sizeof *sym;
    for (size_t j = 0; j < n; j++) {
        unsigned type = ELF64_ST_TYPE(sym[j].st_info);
        if ((type != STT_FUNC && type != STT_OBJECT) || sym[j].st_shndx == SHN_UNDEF) continue;
        if (vaddr < sym[j].st_value || vaddr - sym[j].st_value >= (sym[j].st_size ? sym[j].st_size : 1)) continue;
        if (sym[j].st_name >= str->sh_size) return false;
        const char *nm = f + str->sh_offset + sym[j].st_name;
        size_t k = 0, room = str->sh_size - sym[j].st_name;
        while (k + 1 < cap && k < room && nm[k]) {
            name[k] = nm[k];
            k++;
        }
        name[k] = '\0';
        *value = sym[j].st_value;
        if (binding) *binding = ELF64_ST_BIND(sym[j].st_info);
        return k > 0;
    }
    return false;
}

bool oh_elf_symtab_name(const char *path, uintptr_t vaddr, char *name, size_t cap, uintptr_t *value,
                        int *binding)
{
    size_t len = 0;
    const char *f = oh_os_map_file(path, &len);
    if (!f) return false;
    bool found = false;
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)(const void *)f;
    if (len >= sizeof *eh && !memcmp(eh->e_ident, ELFMAG, SELFMAG) && eh->e_shentsize == sizeof(ElfW(Shdr)) &&
        eh->e_shoff < len && eh->e_shnum <= (len - eh->e_shoff) / sizeof(ElfW(Shdr))) {
        const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(const void *)(f + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
            found = lookup(f, len, &sh[i], &sh[sh[i].sh_link], vaddr, name, cap, value, binding);
            break;
        }
    }
    oh_os_unmap_file(f, len);
    return found;
}
