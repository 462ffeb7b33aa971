/* SPDX-License-Identifier: MIT */
/*
 * pool_plugin.c — a shared object that uses <offheap_pool.h>'s inline fast
 * path (initial-exec TLS reference to offheap_tid_) and is loaded with
 * dlopen by test_pool_plugin, which links nothing of liboffheap: the plugin
 * brings liboffheap_pool.so in with it.
 */
#include "pool_inline_checks.h"

__attribute__((visibility("default"))) int pool_plugin_run(void);

int pool_plugin_run(void)
{
    return oh_inline_checks();
}
