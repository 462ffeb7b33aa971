/* SPDX-License-Identifier: MIT */
/*
 * offheap_version.h — the version of the liboffheap headers, included by
 * both offheap.h and offheap_pool.h.  Kept in this one place; the test
 * `version` checks that it matches meson's project version and that
 * offheap_version() of both libraries returns it.
 *
 *   OFFHEAP_VERSION_MAJOR, _MINOR, _PATCH   integers, for #if
 *   OFFHEAP_VERSION                         "MAJOR.MINOR.PATCH"
 *   OFFHEAP_VERSION_NUMBER                  MAJOR * 10000 + MINOR * 100 + PATCH
 *
 * The version of the library a program runs with (which may be newer than
 * the headers it was built with) is offheap_version().
 */
#ifndef OFFHEAP_VERSION_H
#define OFFHEAP_VERSION_H

#define OFFHEAP_VERSION_MAJOR 0
#define OFFHEAP_VERSION_MINOR 1
#define OFFHEAP_VERSION_PATCH 0
#define OFFHEAP_VERSION "0.1.0"
#define OFFHEAP_VERSION_NUMBER (OFFHEAP_VERSION_MAJOR * 10000 + OFFHEAP_VERSION_MINOR * 100 + OFFHEAP_VERSION_PATCH)

#endif /* OFFHEAP_VERSION_H */
