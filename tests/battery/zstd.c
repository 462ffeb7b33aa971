/* SPDX-License-Identifier: MIT */
/* zstd: one-shot compression at several levels, a reused compression
 * context with parameters (checksum, window log, long-distance matching),
 * streaming compression and decompression, a raw-content dictionary
 * (CDict/DDict), and multi-threaded compression (2 workers) now and then. */
#include "compress_data.h"

#include <zstd.h>

static void request(int i, char *line, size_t cap)
{
    static unsigned char in[32 * 1024], comp[40 * 1024], back[32 * 1024];
    size_t n = bt_make_input(i, in, sizeof in);
    int level = 1 + i % 19;
    size_t c = ZSTD_compress(comp, sizeof comp, in, n, level);
    size_t d = ZSTD_isError(c) ? c : ZSTD_decompress(back, sizeof back, comp, c);
    bt_add(line, cap, "n=%zu level=%d c=%zu/%016llx rt=%s", n, level, c, (unsigned long long)bt_fnv(comp, c),
           !ZSTD_isError(d) && d == n && !memcmp(in, back, n) ? "ok" : "FAILED");

    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3 + i % 5);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 17 + i % 4);
    if (i % 7 == 0) ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1);
    if (i % 25 == 0) ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, 2);
    /* Streaming, in pieces. */
    ZSTD_outBuffer out = {comp, sizeof comp, 0};
    size_t rem = 1;
    for (size_t off = 0; off < n || rem; off += 4096) {
        size_t piece = off < n ? (n - off < 4096 ? n - off : 4096) : 0;
        ZSTD_inBuffer inb = {in + (off < n ? off : n), piece, 0};
        int last = off + 4096 >= n;
        rem = ZSTD_compressStream2(cc, &out, &inb, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rem)) break;
        if (last) {
            while (rem && !ZSTD_isError(rem)) rem = ZSTD_compressStream2(cc, &out, &inb, ZSTD_e_end);
            break;
        }
    }
    size_t slen = out.pos;
    ZSTD_freeCCtx(cc);
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    ZSTD_inBuffer inb = {comp, slen, 0};
    ZSTD_outBuffer ob = {back, sizeof back, 0};
    size_t r = 1;
    while (inb.pos < inb.size && r && !ZSTD_isError(r)) r = ZSTD_decompressStream(dc, &ob, &inb);
    bt_add(line, cap, " stream=%zu/%016llx back=%s", slen, (unsigned long long)bt_fnv(comp, slen),
           !ZSTD_isError(r) && ob.pos == n && !memcmp(in, back, n) ? "ok" : "FAILED");

    /* Dictionary. */
    static const char dict[] = "alpha beta gamma delta request scope offheap pool 123 456 789 request scope";
    ZSTD_CDict *cd = ZSTD_createCDict(dict, sizeof dict - 1, 3);
    ZSTD_DDict *dd = ZSTD_createDDict(dict, sizeof dict - 1);
    cc = ZSTD_createCCtx();
    size_t dl = ZSTD_compress_usingCDict(cc, comp, sizeof comp, in, n < 2000 ? n : 2000, cd);
    size_t db = ZSTD_isError(dl) ? dl : ZSTD_decompress_usingDDict(dc, back, sizeof back, comp, dl, dd);
    bt_add(line, cap, " dict=%zu/%016llx back=%s", dl, (unsigned long long)bt_fnv(comp, dl),
           !ZSTD_isError(db) && db == (n < 2000 ? n : 2000) && !memcmp(in, back, db) ? "ok" : "FAILED");
    ZSTD_freeCCtx(cc);
    ZSTD_freeDCtx(dc);
    ZSTD_freeCDict(cd);
    ZSTD_freeDDict(dd);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
