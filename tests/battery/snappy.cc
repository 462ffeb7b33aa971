// SPDX-License-Identifier: MIT
// Snappy: compress / uncompress std::string, raw buffer compression,
// length queries and validation, and a corrupt input now and then.
#include "compress_data.h"

#include <string>

#include <snappy.h>

static void request(int i, char *line, size_t cap)
{
    static unsigned char in[32 * 1024];
    size_t n = bt_make_input(i, in, sizeof in);
    std::string comp, back;
    snappy::Compress(reinterpret_cast<const char *>(in), n, &comp);
    bool ok = snappy::Uncompress(comp.data(), comp.size(), &back) && back.size() == n && !memcmp(back.data(), in, n);
    size_t ulen = 0;
    snappy::GetUncompressedLength(comp.data(), comp.size(), &ulen);
    std::string raw(snappy::MaxCompressedLength(n), '\0');
    size_t rawlen = 0;
    snappy::RawCompress(reinterpret_cast<const char *>(in), n, &raw[0], &rawlen);
    std::string bad = comp;
    if (i % 9 == 4 && bad.size() > 10) bad[bad.size() / 2] ^= 0x55;
    bt_add(line, cap, "n=%zu c=%zu/%016llx rt=%s ulen=%zu raw=%zu valid=%d/%d", n, comp.size(),
           (unsigned long long)bt_fnv(comp.data(), comp.size()), ok ? "ok" : "FAILED", ulen, rawlen,
           snappy::IsValidCompressedBuffer(comp.data(), comp.size()),
           snappy::IsValidCompressedBuffer(bad.data(), bad.size()));
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
