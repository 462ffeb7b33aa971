/* SPDX-License-Identifier: MIT */
/* PCRE2 (8-bit): compile patterns with options (UTF, caseless, named
 * groups), JIT-compile some of them, match with match data over a subject
 * built from the request number, walk all matches, read named groups, and
 * substitute globally; a general context with custom character tables on
 * some requests. */
#include "battery.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static const char *const patterns[] = {
    "(?<word>[a-z]+)(?<num>\\d+)",
    "\\b(\\w)(\\w*)\\b",
    "(?i)caf\\x{e9}|na\\x{ef}ve",
    "(\\d{1,3})(?=(\\d{3})+(?!\\d))",
    "^(?:key(\\d+)=([^;]*);)+$",
    "(a|b|c)+?d",
};

static void request(int i, char *line, size_t cap)
{
    char subject[2048];
    int n = 0;
    for (int k = 0; k < 3 + i % 20; k++)
        n += snprintf(subject + n, sizeof subject - (size_t)n, "key%d=ab%dc Caf\xc3\xa9 %d;", k, i * k, 1000 + i * 997 + k);
    const char *pat = patterns[i % 6];
    uint32_t opts = PCRE2_UTF | (i % 4 == 1 ? PCRE2_CASELESS : 0);
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_compile_context *cctx = NULL;
    const uint8_t *tables = NULL;
    pcre2_general_context *gctx = NULL;
    if (i % 5 == 0) {
        gctx = pcre2_general_context_create(NULL, NULL, NULL);
        tables = pcre2_maketables(gctx);
        cctx = pcre2_compile_context_create(gctx);
        pcre2_set_character_tables(cctx, tables);
    }
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, &errcode, &erroff, cctx);
    if (!re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        bt_add(line, cap, "compile error: %s", (char *)msg);
        goto out;
    }
    int jit = i % 3 == 0 ? pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) : -99;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    PCRE2_SIZE off = 0;
    int matches = 0;
    uint64_t h = 0;
    while (off <= (PCRE2_SIZE)n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)subject, (PCRE2_SIZE)n, off, 0, md, NULL);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        matches++;
        h = h * 31 + bt_fnv(subject + ov[0], ov[1] - ov[0]);
        off = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    char named[64] = "-";
    if (i % 6 == 0 && pcre2_match(re, (PCRE2_SPTR)subject, (PCRE2_SIZE)n, 0, 0, md, NULL) > 0) {
        PCRE2_UCHAR *val = NULL;
        PCRE2_SIZE vlen;
        if (pcre2_substring_get_byname(md, (PCRE2_SPTR) "num", &val, &vlen) == 0) {
            snprintf(named, sizeof named, "%s", (char *)val);
            pcre2_substring_free(val);
        }
    }
    PCRE2_UCHAR outbuf[4096];
    PCRE2_SIZE outlen = sizeof outbuf;
    int subs = pcre2_substitute(re, (PCRE2_SPTR)subject, (PCRE2_SIZE)n, 0, PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_EXTENDED,
                                md, NULL, (PCRE2_SPTR) "<${1:+[$1]:-}>", PCRE2_ZERO_TERMINATED, outbuf, &outlen);
    bt_add(line, cap, "pattern=%d jit=%s matches=%d hash=%016llx named=%s subs=%d out=%016llx", i % 6,
           jit == -99 ? "no" : (jit == 0 ? "ok" : "failed"), matches, (unsigned long long)h, named, subs,
           subs >= 0 ? (unsigned long long)bt_fnv(outbuf, outlen) : 0ULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
out:
    pcre2_compile_context_free(cctx);
    if (tables) pcre2_maketables_free(gctx, tables);
    pcre2_general_context_free(gctx);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
