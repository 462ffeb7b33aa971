/* SPDX-License-Identifier: MIT */
/* libuuid: name-based UUIDs (MD5 and SHA-1, deterministic), parse /
 * unparse in both cases, compare, copy, variant and type; a random UUID
 * (only its version and variant printed). */
#include "battery.h"

#include <uuid/uuid.h>

static void request(int i, char *line, size_t cap)
{
    uuid_t ns, a, b, r;
    char name[64], s1[37], s2[37];
    uuid_parse(i % 2 ? "6ba7b810-9dad-11d1-80b4-00c04fd430c8" : "6ba7b811-9dad-11d1-80b4-00c04fd430c8", ns);
    int n = snprintf(name, sizeof name, "battery-request-%d.example", i);
    uuid_generate_md5(a, ns, name, (size_t)n);
    uuid_generate_sha1(b, ns, name, (size_t)n);
    uuid_unparse_lower(a, s1);
    uuid_unparse_upper(b, s2);
    uuid_t back;
    int pr = uuid_parse(s2, back);
    uuid_t copy;
    uuid_copy(copy, a);
    uuid_generate_random(r);
    char rs[37];
    uuid_unparse(r, rs);
    uuid_t parsed_r;
    bt_add(line, cap, "md5=%s sha1=%s parse=%d same=%d cmp=%d type=%d/%d random=v%d variant=%d reparse=%d", s1, s2, pr,
           uuid_compare(back, b) == 0, uuid_compare(a, copy), uuid_type(a), uuid_type(b), uuid_type(r), uuid_variant(r),
           uuid_parse(rs, parsed_r) == 0 && uuid_compare(parsed_r, r) == 0);
    uuid_clear(copy);
    if (!uuid_is_null(copy)) bt_add(line, cap, " clear FAILED");
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
