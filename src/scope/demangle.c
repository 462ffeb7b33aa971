/* SPDX-License-Identifier: MIT */
/*
 * demangle.c — see demangle.h.  A recursive-descent parser over the
 * Itanium ABI mangling grammar's common subset, writing into a fixed
 * buffer; the substitution table records the output text of each
 * substitutable component, and a reference copies it.  Bounded recursion
 * and sizes; any surprise is a failure, never a guess.
 */
#include "scope/demangle.h"

#include <string.h>

#define MAX_SUBS 64
#define MAX_DEPTH 32

struct dm {
    const char *p;   /* input cursor */
    char *out;       /* output buffer */
    size_t cap, len; /* its size and fill */
    bool fail;
    int depth;
    unsigned nsubs;
    struct {
        size_t start, end; /* text in out */
    } subs[MAX_SUBS];
    size_t last_name_start; /* the last unqualified name (for ctor/dtor) */
    size_t last_name_end;
    const char *fn_quals; /* the encoding's member function qualifiers */
};

static void put_n(struct dm *d, const char *s, size_t n)
{
    if (d->fail) return;
    if (d->len + n + 1 > d->cap) {
        d->fail = true;
        return;
    }
    memmove(d->out + d->len, s, n);
    d->len += n;
    d->out[d->len] = '\0';
}

static void put(struct dm *d, const char *s)
{
    put_n(d, s, strlen(s));
}

static void add_sub(struct dm *d, size_t start)
{
    if (d->fail) return;
    if (d->nsubs == MAX_SUBS) {
        d->fail = true;
        return;
    }
    d->subs[d->nsubs].start = start;
    d->subs[d->nsubs].end = d->len;
    d->nsubs++;
}

/* Copy out[start, end) to the end (it may be a part of what is written). */
static void put_copy(struct dm *d, size_t start, size_t end)
{
    if (d->fail || end < start) return;
    size_t n = end - start;
    if (d->len + n + 1 > d->cap) {
        d->fail = true;
        return;
    }
    memmove(d->out + d->len, d->out + start, n);
    d->len += n;
    d->out[d->len] = '\0';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void type(struct dm *d);

/* <source-name> ::= <number> <identifier> */
static void source_name(struct dm *d)
{
    size_t n = 0;
    if (!is_digit(*d->p)) {
        d->fail = true;
        return;
    }
    while (is_digit(*d->p)) {
        n = n * 10 + (size_t)(*d->p++ - '0');
        if (n > 4096) {
            d->fail = true;
            return;
        }
    }
    if (strnlen(d->p, n) < n) {
        d->fail = true;
        return;
    }
    d->last_name_start = d->len;
    if (n >= 10 && !strncmp(d->p, "_GLOBAL__N", 10)) put(d, "(anonymous namespace)");
    else put_n(d, d->p, n);
    d->last_name_end = d->len;
    d->p += n;
}

/* S_, S<seq-id>_ and the abbreviations; true when one was read. */
static bool substitution(struct dm *d)
{
    if (d->p[0] != 'S') return false;
    char c = d->p[1];
    static const struct {
        char c;
        const char *text;
    } abbr[] = {{'a', "std::allocator"}, {'b', "std::basic_string"}, {'s', "std::string"},
                {'i', "std::istream"},   {'o', "std::ostream"},      {'d', "std::iostream"}};
    for (size_t i = 0; i < sizeof abbr / sizeof abbr[0]; i++) {
        if (c == abbr[i].c) {
            d->p += 2;
            put(d, abbr[i].text);
            return true;
        }
    }
    if (c == 't') return false; /* St: std:: prefix, handled by the callers */
    unsigned idx = 0;
    const char *q = d->p + 1;
    if (*q == '_') {
        idx = 0;
    } else {
        unsigned v = 0;
        while (*q != '_') {
            if (is_digit(*q)) v = v * 36 + (unsigned)(*q - '0');
            else if (*q >= 'A' && *q <= 'Z') v = v * 36 + (unsigned)(*q - 'A' + 10);
            else {
                d->fail = true;
                return true;
            }
            if (v > MAX_SUBS) {
                d->fail = true;
                return true;
            }
            q++;
        }
        idx = v + 1;
    }
    d->p = q + 1;
    if (idx >= d->nsubs) {
        d->fail = true;
        return true;
    }
    put_copy(d, d->subs[idx].start, d->subs[idx].end);
    return true;
}

/* <template-args> ::= I <arg>+ E */
static void template_args(struct dm *d)
{
    /* Names inside the arguments are not the one a ctor/dtor repeats. */
    size_t ls = d->last_name_start, le = d->last_name_end;
    d->p++; /* I */
    put(d, "<");
    bool first = true;
    while (!d->fail && *d->p && *d->p != 'E') {
        if (!first) put(d, ", ");
        first = false;
        if (*d->p == 'L') { /* a literal: L <type> <value> E */
            d->p++;
            char t = *d->p++;
            const char *v = d->p;
            while (*d->p && *d->p != 'E') d->p++;
            if (!*d->p) {
                d->fail = true;
                return;
            }
            if (t == 'b') {
                put(d, *v == '1' ? "true" : "false");
            } else {
                if (*v == 'n') {
                    put(d, "-");
                    v++;
                }
                put_n(d, v, (size_t)(d->p - v));
            }
            d->p++; /* E */
        } else {
            type(d);
        }
    }
    if (*d->p != 'E') {
        d->fail = true;
        return;
    }
    d->p++;
    /* ">>" is valid C++11; c++filt writes "> >", kept for old readers. */
    if (d->len && d->out[d->len - 1] == '>') put(d, " ");
    put(d, ">");
    d->last_name_start = ls;
    d->last_name_end = le;
}

static const struct {
    const char *code, *text;
} operators[] = {
    {"nw", "operator new"}, {"na", "operator new[]"}, {"dl", "operator delete"}, {"da", "operator delete[]"},
    {"ps", "operator+"},    {"ng", "operator-"},      {"ad", "operator&"},       {"de", "operator*"},
    {"co", "operator~"},    {"pl", "operator+"},      {"mi", "operator-"},       {"ml", "operator*"},
    {"dv", "operator/"},    {"rm", "operator%"},      {"an", "operator&"},       {"or", "operator|"},
    {"eo", "operator^"},    {"aS", "operator="},      {"pL", "operator+="},      {"mI", "operator-="},
    {"mL", "operator*="},   {"dV", "operator/="},     {"rM", "operator%="},      {"aN", "operator&="},
    {"oR", "operator|="},   {"eO", "operator^="},     {"ls", "operator<<"},      {"rs", "operator>>"},
    {"lS", "operator<<="},  {"rS", "operator>>="},    {"eq", "operator=="},      {"ne", "operator!="},
    {"lt", "operator<"},    {"gt", "operator>"},      {"le", "operator<="},      {"ge", "operator>="},
    {"nt", "operator!"},    {"aa", "operator&&"},     {"oo", "operator||"},      {"pp", "operator++"},
    {"mm", "operator--"},   {"cm", "operator,"},      {"pm", "operator->*"},     {"pt", "operator->"},
    {"cl", "operator()"},   {"ix", "operator[]"},     {"ss", "operator<=>"},
};

/* One unqualified name inside a nested name, or a ctor/dtor/operator. */
static void unqualified(struct dm *d)
{
    if (d->p[0] == 'L' && is_digit(d->p[1])) d->p++; /* internal linkage (static) */
    char c = *d->p;
    if (is_digit(c)) {
        source_name(d);
    } else if (c == 'C' && d->p[1] >= '1' && d->p[1] <= '5') {
        d->p += 2;
        put_copy(d, d->last_name_start, d->last_name_end);
    } else if (c == 'D' && d->p[1] >= '0' && d->p[1] <= '5') {
        d->p += 2;
        put(d, "~");
        put_copy(d, d->last_name_start, d->last_name_end);
    } else {
        for (size_t i = 0; i < sizeof operators / sizeof operators[0]; i++) {
            if (d->p[0] == operators[i].code[0] && d->p[1] == operators[i].code[1]) {
                d->p += 2;
                put(d, operators[i].text);
                return;
            }
        }
        d->fail = true;
    }
}

/* <nested-name> ::= N [<CV-qualifiers>] [<ref-qualifier>] <prefix> E.
 * *is_template: the name ends with template arguments. */
static void nested_name(struct dm *d, bool *is_template, bool function)
{
    d->p++; /* N */
    const char *quals = NULL;
    while (*d->p == 'r' || *d->p == 'V' || *d->p == 'K' || *d->p == 'R' || *d->p == 'O') {
        if (*d->p == 'K') quals = " const";
        else if (*d->p == 'V' || *d->p == 'r' || *d->p == 'R' || *d->p == 'O') {
            d->fail = true; /* rare; not rendered */
            return;
        }
        d->p++;
    }
    if (function) d->fn_quals = quals;
    size_t start = d->len;
    bool first = true;
    *is_template = false;
    while (!d->fail && *d->p && *d->p != 'E') {
        if (*d->p == 'I') {
            template_args(d);
            *is_template = true;
        } else {
            if (!first) put(d, "::");
            *is_template = false;
            if (first && d->p[0] == 'S' && d->p[1] == 't') {
                d->p += 2;
                put(d, "std::");
                unqualified(d);
            } else if (first && d->p[0] == 'S') {
                if (!substitution(d)) d->fail = true;
                first = false;
                continue; /* a substitution is not added again */
            } else {
                unqualified(d);
            }
        }
        first = false;
        /* Every prefix is a candidate; the whole name too, unless it names
         * the function itself (its last component). */
        if (*d->p != 'E' || !function) add_sub(d, start);
    }
    if (*d->p != 'E') {
        d->fail = true;
        return;
    }
    d->p++;
}

/* <name>: nested, std::, or plain (with template arguments). */
static void name(struct dm *d, bool *is_template, bool function)
{
    *is_template = false;
    if (*d->p == 'N') {
        nested_name(d, is_template, function);
        return;
    }
    size_t start = d->len;
    if (d->p[0] == 'S' && d->p[1] == 't') {
        d->p += 2;
        put(d, "std::");
        unqualified(d);
    } else if (d->p[0] == 'S') {
        if (!substitution(d)) d->fail = true;
        if (*d->p == 'I') {
            template_args(d);
            *is_template = true;
            add_sub(d, start);
        }
        return;
    } else {
        unqualified(d);
    }
    if (*d->p == 'I') {
        add_sub(d, start); /* the template name */
        template_args(d);
        *is_template = true;
    }
}

static const struct {
    char c;
    const char *text;
} builtins[] = {
    {'v', "void"},        {'w', "wchar_t"},
    {'b', "bool"},        {'c', "char"},
    {'a', "signed char"}, {'h', "unsigned char"},
    {'s', "short"},       {'t', "unsigned short"},
    {'i', "int"},         {'j', "unsigned int"},
    {'l', "long"},        {'m', "unsigned long"},
    {'x', "long long"},   {'y', "unsigned long long"},
    {'n', "__int128"},    {'o', "unsigned __int128"},
    {'f', "float"},       {'d', "double"},
    {'e', "long double"}, {'g', "__float128"},
    {'z', "..."},
};

static void type(struct dm *d)
{
    if (++d->depth > MAX_DEPTH) {
        d->fail = true;
        return;
    }
    char c = *d->p;
    size_t start = d->len;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (c == builtins[i].c) {
            d->p++;
            put(d, builtins[i].text);
            d->depth--;
            return;
        }
    }
    switch (c) {
    case 'D':
        if (d->p[1] == 'n') put(d, "decltype(nullptr)");
        else if (d->p[1] == 's') put(d, "char16_t");
        else if (d->p[1] == 'i') put(d, "char32_t");
        else if (d->p[1] == 'u') put(d, "char8_t");
        else d->fail = true;
        d->p += 2;
        break;
    case 'P':
    case 'R':
    case 'O':
        d->p++;
        type(d);
        put(d, c == 'P' ? "*" : c == 'R' ? "&" : "&&");
        add_sub(d, start);
        break;
    case 'K':
    case 'V':
    case 'r':
        d->p++;
        type(d);
        put(d, c == 'K' ? " const" : c == 'V' ? " volatile" : " restrict");
        add_sub(d, start);
        break;
    case 'S':
        if (d->p[1] == 't') {
            bool t;
            name(d, &t, false);
            add_sub(d, start);
        } else {
            (void)substitution(d);
            if (*d->p == 'I') {
                template_args(d);
                add_sub(d, start);
            }
        }
        break;
    case 'N': {
        bool t;
        nested_name(d, &t, false);
        break;
    }
    default:
        if (is_digit(c)) {
            bool t;
            name(d, &t, false);
            add_sub(d, start);
        } else {
            d->fail = true; /* T_, function types, arrays, ... */
        }
    }
    d->depth--;
}

static bool finish(struct dm *d, const char *clone)
{
    if (d->fail) return false;
    if (clone) {
        put(d, " [clone ");
        put(d, clone);
        put(d, "]");
    }
    return !d->fail;
}

bool oh_demangle(const char *mangled, char *out, size_t cap)
{
    if (!mangled || strncmp(mangled, "_Z", 2) != 0 || cap < 2) return false;
    /* The clone suffix: parse up to the first '.'. */
    char buf[512];
    const char *dot = strchr(mangled, '.');
    size_t n = dot ? (size_t)(dot - mangled) : strlen(mangled);
    if (n >= sizeof buf) return false;
    memcpy(buf, mangled, n);
    buf[n] = '\0';
    struct dm d = {.p = buf + 2, .out = out, .cap = cap};
    out[0] = '\0';
    bool is_template;
    name(&d, &is_template, true);
    if (d.fail) return false;
    if (*d.p == '\0') return finish(&d, dot); /* a variable */
    /* A function template's encoding starts with its return type. */
    if (is_template) {
        size_t mark = d.len;
        type(&d);
        d.len = mark;
        if (!d.fail) out[d.len] = '\0';
    }
    put(&d, "(");
    if (d.p[0] == 'v' && d.p[1] == '\0') {
        d.p++;
    } else {
        bool first = true;
        while (!d.fail && *d.p) {
            if (!first) put(&d, ", ");
            first = false;
            type(&d);
        }
    }
    put(&d, ")");
    if (d.fn_quals) put(&d, d.fn_quals);
    return finish(&d, dot);
}

bool oh_demangle_type(const char *mangled, char *out, size_t cap)
{
    if (!mangled || cap < 2) return false;
    if (*mangled == '*') mangled++; /* GCC marks some local types so */
    struct dm d = {.p = mangled, .out = out, .cap = cap};
    out[0] = '\0';
    type(&d);
    return !d.fail && *d.p == '\0';
}
