/* SPDX-License-Identifier: MIT */
/*
 * rescue_note.c — libph_note.so for rescue_freed.c: a library that
 * remembers the last buffer it was shown, in a global, and never reads it
 * again (a "last request" field for a debugger, a stale cursor).
 */
static void *last;

__attribute__((visibility("default"))) void note_buffer(void *p)
{
    last = p;
}

__attribute__((visibility("default"))) void *note_last(void)
{
    return last;
}
