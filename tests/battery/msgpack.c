/* SPDX-License-Identifier: MIT */
/* msgpack-c: pack a map with nested arrays, strings, binary, floats and
 * booleans into an sbuffer, unpack it with msgpack_unpack_next (zone
 * owned by msgpack_unpacked), stream it through a msgpack_unpacker in
 * pieces, and print objects to text. */
#include "battery.h"

#include <msgpack.h>

static void request(int i, char *line, size_t cap)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int items = 1 + i % 12;
    msgpack_pack_map(&pk, 5);
    msgpack_pack_str_with_body(&pk, "id", 2);
    msgpack_pack_int64(&pk, (int64_t)i * 1000003 - 500);
    msgpack_pack_str_with_body(&pk, "name", 4);
    char name[32];
    int nl = snprintf(name, sizeof name, "req-\xc3\xa9-%d", i);
    msgpack_pack_str_with_body(&pk, name, (size_t)nl);
    msgpack_pack_str_with_body(&pk, "list", 4);
    msgpack_pack_array(&pk, (size_t)items);
    for (int k = 0; k < items; k++) {
        if (k % 3 == 0) msgpack_pack_double(&pk, k / 3.0 + i);
        else if (k % 3 == 1) msgpack_pack_int(&pk, -k * i);
        else if (i % 2) msgpack_pack_true(&pk);
        else msgpack_pack_nil(&pk);
    }
    msgpack_pack_str_with_body(&pk, "bin", 3);
    unsigned char bin[64];
    for (int k = 0; k < 64; k++) bin[k] = (unsigned char)(i + k);
    msgpack_pack_bin_with_body(&pk, bin, (size_t)(1 + i % 63));
    msgpack_pack_str_with_body(&pk, "ok", 2);
    msgpack_pack_false(&pk);

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    char text[1024] = "";
    int ret = msgpack_unpack_next(&up, sb.data, sb.size, &off);
    if (ret == MSGPACK_UNPACK_SUCCESS) msgpack_object_print_buffer(text, sizeof text, up.data);
    msgpack_unpacked_destroy(&up);

    /* The streaming unpacker, fed in pieces. */
    msgpack_unpacker *u = msgpack_unpacker_new(16);
    int objs = 0;
    size_t piece = 3 + (size_t)i % 20;
    msgpack_unpacked res;
    msgpack_unpacked_init(&res);
    for (size_t p = 0; p < sb.size; p += piece) {
        size_t n = sb.size - p < piece ? sb.size - p : piece;
        msgpack_unpacker_reserve_buffer(u, n);
        memcpy(msgpack_unpacker_buffer(u), sb.data + p, n);
        msgpack_unpacker_buffer_consumed(u, n);
        while (msgpack_unpacker_next(u, &res) == MSGPACK_UNPACK_SUCCESS) objs++;
    }
    msgpack_unpacked_destroy(&res);
    msgpack_unpacker_free(u);
    bt_add(line, cap, "packed=%zu/%016llx objects=%d %s", sb.size, (unsigned long long)bt_fnv(sb.data, sb.size), objs, text);
    msgpack_sbuffer_destroy(&sb);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
