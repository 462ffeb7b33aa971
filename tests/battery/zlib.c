/* SPDX-License-Identifier: MIT */
/* zlib: compress2/uncompress at several levels, streaming deflate with
 * zlib/gzip/raw framing and a preset dictionary, inflate in small output
 * pieces, crc32 and adler32. */
#include "compress_data.h"

#include <zlib.h>

static void request(int i, char *line, size_t cap)
{
    static unsigned char in[32 * 1024], comp[40 * 1024], back[32 * 1024];
    size_t n = bt_make_input(i, in, sizeof in);
    uLongf clen = sizeof comp, blen = sizeof back;
    int level = i % 10;
    int r1 = compress2(comp, &clen, in, n, level);
    int r2 = uncompress(back, &blen, comp, clen);
    bt_add(line, cap, "n=%zu level=%d c=%lu/%016llx rt=%s", n, level, (unsigned long)clen,
           (unsigned long long)bt_fnv(comp, clen), r1 == Z_OK && r2 == Z_OK && blen == n && !memcmp(back, in, n) ? "ok" : "FAILED");

    /* Streaming deflate: zlib (15), gzip (31) or raw (-15) framing. */
    int wbits[] = {15, 31, -15};
    int wb = wbits[i % 3];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int ok = deflateInit2(&zs, 1 + i % 9, Z_DEFLATED, wb, 1 + i % 9, i % 4 == 3 ? Z_FILTERED : Z_DEFAULT_STRATEGY) == Z_OK;
    static const char dict[] = "alpha beta gamma delta request scope offheap pool ";
    if (ok && wb != 31) ok = deflateSetDictionary(&zs, (const Bytef *)dict, sizeof dict - 1) == Z_OK;
    zs.next_out = comp;
    zs.avail_out = sizeof comp;
    for (size_t off = 0; ok && off < n; off += 1000) { /* fed in pieces */
        zs.next_in = in + off;
        zs.avail_in = (uInt)(n - off < 1000 ? n - off : 1000);
        ok = deflate(&zs, off + 1000 >= n ? Z_FINISH : Z_NO_FLUSH) >= 0;
    }
    size_t slen = zs.total_out;
    deflateEnd(&zs);
    memset(&zs, 0, sizeof zs);
    int iok = inflateInit2(&zs, wb) == Z_OK;
    if (iok && wb < 0) iok = inflateSetDictionary(&zs, (const Bytef *)dict, sizeof dict - 1) == Z_OK; /* raw: no request for it */
    zs.next_in = comp;
    zs.avail_in = (uInt)slen;
    size_t got = 0;
    while (iok) { /* inflate into small pieces */
        zs.next_out = back + got;
        zs.avail_out = (uInt)(sizeof back - got < 777 ? sizeof back - got : 777);
        int r = inflate(&zs, Z_NO_FLUSH);
        got = zs.total_out;
        if (r == Z_NEED_DICT) r = inflateSetDictionary(&zs, (const Bytef *)dict, sizeof dict - 1);
        if (r == Z_STREAM_END) break;
        if (r != Z_OK) iok = 0;
    }
    inflateEnd(&zs);
    bt_add(line, cap, " stream%d=%s/%zu/%016llx back=%s crc=%08lx adler=%08lx", wb, ok ? "ok" : "FAILED", slen,
           (unsigned long long)bt_fnv(comp, slen), iok && got == n && !memcmp(back, in, n) ? "ok" : "FAILED",
           crc32(0, in, (uInt)n), adler32(1, in, (uInt)n));
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
