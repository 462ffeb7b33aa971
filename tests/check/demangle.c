/* SPDX-License-Identifier: MIT */
/*
 * demangle.c — check mode's demangler (src/scope/demangle.c, no malloc)
 * against what c++filt prints, on names backtraces and type names hold,
 * and its refusals (it gives up rather than guess; the report then prints
 * the mangled name).
 */
#include "scope/demangle.h"
#include "check.h"

#include <string.h>

static void same(const char *mangled, const char *want)
{
    char out[512];
    bool ok = oh_demangle(mangled, out, sizeof out);
    CHECKF(ok && !strcmp(out, want), "%s: got \"%s\" (%d), want \"%s\"", mangled, ok ? out : "", ok, want);
}

static void same_type(const char *mangled, const char *want)
{
    char out[256];
    bool ok = oh_demangle_type(mangled, out, sizeof out);
    CHECKF(ok && !strcmp(out, want), "type %s: got \"%s\" (%d), want \"%s\"", mangled, ok ? out : "", ok, want);
}

static void refused(const char *mangled)
{
    char out[512];
    CHECKF(!oh_demangle(mangled, out, sizeof out), "%s: should be refused, got \"%s\"", mangled, out);
}

int main(void)
{
    same("_Z14handle_requestm", "handle_request(unsigned long)");
    same("_Z6handlev", "handle()");
    same("_ZL9long_textPKc", "long_text(char const*)");
    same("_ZN7offheap5scopeC2Ev", "offheap::scope::scope()");
    same("_ZN7offheap5scopeD1Ev", "offheap::scope::~scope()");
    same("_ZNKSt13runtime_error4whatEv", "std::runtime_error::what() const");
    same("_ZNSt6vectorIiSaIiEEC2ESt16initializer_listIiERKS0_",
         "std::vector<int, std::allocator<int> >::vector(std::initializer_list<int>, std::allocator<int> const&)");
    same("_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE9_M_mutateEmmPKcm",
         "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >::_M_mutate(unsigned long, "
         "unsigned long, char const*, unsigned long)");
    same("_ZNSolsEi", "std::ostream::operator<<(int)");
    same("_ZN2ns3fooEPPKcRiOd", "ns::foo(char const**, int&, double&&)");
    same("_ZN12_GLOBAL__N_14workEv", "(anonymous namespace)::work()");
    same("_Z13handle_insidev.cold", "handle_inside() [clone .cold]");
    same("_ZN1AIiLb1ELi3EE3getEv", "A<int, true, 3>::get()");
    same("_ZSt4swapRiS_", "std::swap(int&, int&)");
    same_type("13request_error", "request_error");
    same_type("N2ns5errorE", "ns::error");
    same_type("St13runtime_error", "std::runtime_error");
    same_type("NSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE",
              "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >");
    refused("main");
    refused("_ZZ4mainENKUlvE_clEv"); /* a lambda: local name */
    refused("_Z3fooILi");            /* truncated */
    refused("_Z3maxIiET_S0_S0_");    /* a template parameter (T_) */
    char tiny[8];
    CHECK(!oh_demangle("_ZN7offheap5scopeC2Ev", tiny, sizeof tiny)); /* does not fit */
    return check_done("demangle");
}
