/* SPDX-License-Identifier: MIT */
/*
 * symbolize.c — see symbolize.h.  A program not linked with -rdynamic has
 * no dynamic symbols for its own functions: its .symtab is read from
 * /proc/self/exe.
 */
#include "scope/symbolize.h"

#include "core/elf_symtab.h"
#include "core/log.h"
#include "scope/demangle.h"

#include <dlfcn.h>
#include <unistd.h>
#ifdef OH_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif
#include <link.h>
#include <stdint.h>

bool oh_symbolize(const void *addr, char *sym, size_t cap, size_t *off, const char **obj)
{
    Dl_info di;
    void *extra = NULL;
    if (!dladdr1(addr, &di, &extra, RTLD_DL_LINKMAP)) return false;
    if (obj) *obj = di.dli_fname;
    if (di.dli_sname && di.dli_saddr) {
        oh_format(sym, cap, "%s", di.dli_sname);
        *off = (size_t)((uintptr_t)addr - (uintptr_t)di.dli_saddr);
        return true;
    }
    const struct link_map *lm = extra;
    if (!lm) return false;
    const char *path = lm->l_name && *lm->l_name ? lm->l_name : "/proc/self/exe";
    uintptr_t value = 0;
    if (!oh_elf_symtab_name(path, (uintptr_t)addr - lm->l_addr, sym, cap, &value, NULL)) return false;
    *off = (size_t)((uintptr_t)addr - lm->l_addr - value);
    return true;
}

void oh_describe_pc(char *buf, size_t cap, const void *pc, bool ret)
{
    Dl_info di;
    const void *look = ret ? (const void *)((uintptr_t)pc - 1) : pc;
    char sym[256];
    size_t off = 0;
    const char *obj = NULL;
    if (oh_symbolize(look, sym, sizeof sym, &off, &obj) && obj) {
        char pretty[512];
        const char *name = oh_demangle(sym, pretty, sizeof pretty) ? pretty : sym;
        oh_format(buf, cap, "%s+0x%zx (%s)", name, off + (ret ? 1 : 0), obj);
        return;
    }
    if (dladdr(look, &di) && di.dli_fname) {
        oh_format(buf, cap, "%p (%s+0x%zx)", pc, di.dli_fname, (size_t)((uintptr_t)pc - (uintptr_t)di.dli_fbase));
        return;
    }
    oh_format(buf, cap, "%p", pc);
}

bool oh_program_own(const void *addr)
{
    Dl_info di;
    void *extra = NULL;
    if (!dladdr1(addr, &di, &extra, RTLD_DL_LINKMAP)) return false;
    const struct link_map *lm = extra;
    if (!lm || (lm->l_name && *lm->l_name)) return false; /* not the program */
    char name[8];
    uintptr_t value = 0;
    int binding = STB_GLOBAL;
    /* Unknown (stripped): the program's own, by default. */
    if (!oh_elf_symtab_name("/proc/self/exe", (uintptr_t)addr - lm->l_addr, name, sizeof name, &value, &binding))
        return true;
    return binding == STB_GLOBAL || binding == STB_LOCAL;
}

#ifdef OH_HAVE_LIBDW
/* libdw's functions, from libdw.so.1 opened at the first use (the preload
 * does not link it). */
static struct {
    __typeof__(dwfl_begin) *begin;
    __typeof__(dwfl_end) *end;
    __typeof__(dwfl_linux_proc_report) *proc_report;
    __typeof__(dwfl_report_end) *report_end;
    __typeof__(dwfl_addrmodule) *addrmodule;
    __typeof__(dwfl_module_getsrc) *getsrc;
    __typeof__(dwfl_lineinfo) *lineinfo;
    __typeof__(dwfl_linux_proc_find_elf) *find_elf;
    __typeof__(dwfl_standard_find_debuginfo) *find_debuginfo;
} dw;

static bool dw_open(void)
{
    static int state; /* 0 not tried, 1 ready, -1 unavailable */
    if (state) return state > 0;
    state = -1;
    void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) return false;
#define DW(field, name) dw.field = (__typeof__(dw.field))(uintptr_t)dlsym(h, #name)
    DW(begin, dwfl_begin);
    DW(end, dwfl_end);
    DW(proc_report, dwfl_linux_proc_report);
    DW(report_end, dwfl_report_end);
    DW(addrmodule, dwfl_addrmodule);
    DW(getsrc, dwfl_module_getsrc);
    DW(lineinfo, dwfl_lineinfo);
    DW(find_elf, dwfl_linux_proc_find_elf);
    DW(find_debuginfo, dwfl_standard_find_debuginfo);
#undef DW
    if (!dw.begin || !dw.end || !dw.proc_report || !dw.report_end || !dw.addrmodule || !dw.getsrc || !dw.lineinfo ||
        !dw.find_elf || !dw.find_debuginfo)
        return false;
    state = 1;
    return true;
}
#endif

bool oh_source_line(const void *pc, bool ret, char *buf, size_t cap)
{
#ifdef OH_HAVE_LIBDW
    static Dwfl *dwfl; /* the process's modules, reported once */
    static char *debuginfo_path;
    static Dwfl_Callbacks cb;
    if (!dwfl) {
        if (!dw_open()) return false;
        cb.find_elf = dw.find_elf;
        cb.find_debuginfo = dw.find_debuginfo;
        cb.debuginfo_path = &debuginfo_path;
        Dwfl *d = dw.begin(&cb);
        if (!d) return false;
        if (dw.proc_report(d, getpid()) != 0 || dw.report_end(d, NULL, NULL) != 0) {
            dw.end(d);
            return false;
        }
        dwfl = d;
    }
    Dwarf_Addr a = (Dwarf_Addr)(uintptr_t)pc - (ret ? 1 : 0);
    Dwfl_Module *m = dw.addrmodule(dwfl, a);
    Dwfl_Line *l = m ? dw.getsrc(m, a) : NULL;
    int line = 0;
    const char *file = l ? dw.lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
    if (!file) return false;
    oh_format(buf, cap, "%s:%d", file, line);
    return true;
#else
    (void)pc, (void)ret, (void)buf, (void)cap;
    return false;
#endif
}
