/* SPDX-License-Identifier: MIT */
/*
 * rescue_user.c — libph_user.so for rescue.c: a library built on
 * libph_keep (DT_NEEDED) that keeps its lazily built table in libph_keep's
 * list, and grows it later through user_alloc(), a call site that the
 * first scope only used for temporaries.  Safe only if all of the library
 * is routed to the heap once its table is seen kept.
 */
#include <stdlib.h>
#include <string.h>

void keep_hold(void *obj);
void *keep_get(unsigned n);
unsigned keep_count(void);

struct entry {
    struct entry *next;
    unsigned key;
    char text[48];
};

struct table {
    struct entry *first;
    unsigned n;
};

/* The table is reached only through libph_keep (an index, not a pointer,
 * is kept here): what holds it is libph_keep's node. */
static struct table *table_of(void)
{
    static int slot = -1;
    if (slot < 0) {
        struct table *t = calloc(1, sizeof *t);
        if (!t) abort();
        slot = (int)keep_count();
        keep_hold(t);
    }
    return keep_get((unsigned)slot);
}

__attribute__((noinline)) static void *user_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p) abort();
    return p;
}

/* A temporary from the same call site as the entries. */
__attribute__((visibility("default"))) unsigned user_scratch(unsigned seed)
{
    unsigned char *p = user_alloc(64);
    memset(p, (int)seed, 64);
    unsigned s = 0;
    for (int i = 0; i < 64; i++) s += p[i];
    free(p);
    return s;
}

/* Adds an entry to the table; returns it. */
__attribute__((visibility("default"))) void *user_add(unsigned key)
{
    struct table *t = table_of();
    struct entry *e = user_alloc(sizeof *e);
    e->key = key;
    memset(e->text, (int)('a' + key % 26), sizeof e->text);
    e->next = t->first;
    t->first = e;
    t->n++;
    return e;
}

/* 1 when every key in [0, n) is there with its text, and nothing else. */
__attribute__((visibility("default"))) int user_check(unsigned n)
{
    struct table *t = table_of();
    if (t->n != n) return 0;
    unsigned seen = 0;
    for (struct entry *e = t->first; e; e = e->next, seen++) {
        if (seen >= n || e->key >= n) return 0;
        for (size_t i = 0; i < sizeof e->text; i++)
            if (e->text[i] != (char)('a' + e->key % 26)) return 0;
    }
    return seen == n;
}
