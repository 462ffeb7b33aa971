/* SPDX-License-Identifier: MIT */
/* A libunwind.so.8 with none of libunwind's symbols, found first through
 * LD_LIBRARY_PATH: check mode must say that it cannot unwind and go on
 * with the allocating call site alone. */
int oh_stub_unwind_marker;
