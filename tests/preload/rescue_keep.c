/* SPDX-License-Identifier: MIT */
/*
 * rescue_keep.c — libph_keep.so for rescue.c: a "framework" that keeps
 * what it is given past the caller's scope (a node of its own, allocated
 * here, linked from its global list) and frees it later, the way an HTTP
 * library keeps a response until it is sent.
 */
#include <stdlib.h>

struct keep_node {
    struct keep_node *next;
    void *obj;
};

static struct keep_node *head;

__attribute__((visibility("default"))) void keep_hold(void *obj)
{
    struct keep_node *n = malloc(sizeof *n);
    if (!n) abort();
    n->obj = obj;
    n->next = head;
    head = n;
}

__attribute__((visibility("default"))) unsigned keep_count(void)
{
    unsigned count = 0;
    for (struct keep_node *k = head; k; k = k->next) count++;
    return count;
}

/* The n-th object held, counting from the first (NULL past the end). */
__attribute__((visibility("default"))) void *keep_get(unsigned n)
{
    unsigned count = 0;
    for (struct keep_node *k = head; k; k = k->next) count++;
    if (n >= count) return NULL;
    struct keep_node *k = head;
    for (unsigned i = count - 1; i > n; i--) k = k->next;
    return k->obj;
}

/* Frees every object held and its node: late, outside the scopes that
 * allocated them. */
__attribute__((visibility("default"))) void keep_release_all(void)
{
    while (head) {
        struct keep_node *n = head;
        head = n->next;
        free(n->obj);
        free(n);
    }
}
