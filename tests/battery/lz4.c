/* SPDX-License-Identifier: MIT */
/* lz4: block compression (fast, with acceleration, HC), safe
 * decompression, streaming with a ring of previous blocks, and the frame
 * API with preferences and a context. */
#include "compress_data.h"

#include <lz4.h>
#include <lz4frame.h>
#include <lz4hc.h>

static void request(int i, char *line, size_t cap)
{
    static char in[32 * 1024], comp[40 * 1024], back[32 * 1024];
    int n = (int)bt_make_input(i, (unsigned char *)in, sizeof in);
    int c = i % 3 == 0 ? LZ4_compress_HC(in, comp, n, (int)sizeof comp, 1 + i % 12)
                       : LZ4_compress_fast(in, comp, n, (int)sizeof comp, 1 + i % 5);
    int d = LZ4_decompress_safe(comp, back, c, (int)sizeof back);
    bt_add(line, cap, "n=%d %s c=%d/%016llx rt=%s", n, i % 3 == 0 ? "hc" : "fast", c,
           (unsigned long long)bt_fnv(comp, (size_t)c), d == n && !memcmp(in, back, (size_t)n) ? "ok" : "FAILED");

    /* Streaming with dependent blocks. */
    LZ4_stream_t *ls = LZ4_createStream();
    LZ4_streamDecode_t *ld = LZ4_createStreamDecode();
    int total = 0, ok = 1;
    for (int off = 0; off < n; off += 2048) {
        int piece = n - off < 2048 ? n - off : 2048;
        int cl = LZ4_compress_fast_continue(ls, in + off, comp, piece, (int)sizeof comp, 1);
        int dl = LZ4_decompress_safe_continue(ld, comp, back + off, cl, piece);
        ok = ok && dl == piece;
        total += cl;
    }
    ok = ok && !memcmp(in, back, (size_t)n);
    LZ4_freeStream(ls);
    LZ4_freeStreamDecode(ld);
    bt_add(line, cap, " stream=%d %s", total, ok ? "ok" : "FAILED");

    /* Frames. */
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = i % 2 ? LZ4F_max64KB : LZ4F_max256KB;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.blockMode = i % 4 < 2 ? LZ4F_blockLinked : LZ4F_blockIndependent;
    prefs.compressionLevel = i % 7;
    size_t fl = LZ4F_compressFrame(comp, sizeof comp, in, (size_t)n, &prefs);
    LZ4F_dctx *dctx = NULL;
    LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION);
    size_t src = fl, dst = sizeof back, r = LZ4F_isError(fl) ? fl : LZ4F_decompress(dctx, back, &dst, comp, &src, NULL);
    LZ4F_freeDecompressionContext(dctx);
    bt_add(line, cap, " frame=%zu back=%s", fl, !LZ4F_isError(r) && dst == (size_t)n && !memcmp(in, back, (size_t)n) ? "ok" : "FAILED");
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
