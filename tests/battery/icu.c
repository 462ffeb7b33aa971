/* SPDX-License-Identifier: MIT */
/* ICU (C API): collators for several locales (compare + sort keys), NFC/NFD/
 * NFKC normalisation, locale-sensitive case mapping and folding, word /
 * sentence / character break iteration, number formatting, and a
 * transliterator now and then.  Also built with 3 threads. */
#include "battery.h"

#include <unicode/ubrk.h>
#include <unicode/ucol.h>
#include <unicode/unorm2.h>
#include <unicode/unum.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

static const char *const words[] = {
    "\xc3\x84pfel",         "Apfel",          "zebra",          "\xc3\xa9t\xc3\xa9",     "ete",     "\xc3\x85ngstr\xc3\xb6m",
    "Istanbul",             "\xc4\xb1srar",   "\xe6\x97\xa5\xe6\x9c\xac",      "\xce\xb1\xce\xb8\xce\xae\xce\xbd\xce\xb1",
    "Stra\xc3\x9f" "e",     "strasse",        "co\xc3\xb6perate", "\xef\xac\x81le",       "ﬀ",       "Ωmega",
    "\xd0\x9c\xd0\xbe\xd1\x81\xd0\xba\xd0\xb2\xd0\xb0", "cote", "c\xc3\xb4te", "cot\xc3\xa9", "c\xc3\xb4t\xc3\xa9",
};
#define NWORDS (int)(sizeof words / sizeof words[0])
static const char *const locales[] = {"de", "sv", "en_US", "fr_CA", "tr", "ja", "da", "root"};

static int32_t to_u(const char *s, UChar *out, int32_t cap)
{
    UErrorCode e = U_ZERO_ERROR;
    int32_t n = 0;
    u_strFromUTF8(out, cap, &n, s, -1, &e);
    return U_SUCCESS(e) ? n : 0;
}

static uint64_t hash_u(const UChar *s, int32_t n)
{
    char buf[1024];
    UErrorCode e = U_ZERO_ERROR;
    int32_t len = 0;
    u_strToUTF8(buf, sizeof buf, &len, s, n, &e);
    return U_SUCCESS(e) ? bt_fnv(buf, (size_t)len) : 0;
}

static void request(int i, char *line, size_t cap)
{
    const char *loc = locales[i % 8];
    UErrorCode e = U_ZERO_ERROR;

    /* Collation: order of 6 words and a sort key. */
    UCollator *col = ucol_open(loc, &e);
    if (U_FAILURE(e)) {
        bt_add(line, cap, "ucol_open(%s) FAILED: %s", loc, u_errorName(e));
        return;
    }
    if (i % 3 == 0) ucol_setStrength(col, UCOL_PRIMARY);
    int idx[6];
    UChar u[6][64];
    int32_t ul[6];
    for (int k = 0; k < 6; k++) {
        idx[k] = (i * 7 + k * 5) % NWORDS;
        ul[k] = to_u(words[idx[k]], u[k], 64);
    }
    char order[64] = "";
    for (int k = 0; k < 6; k++) { /* rank of each word */
        int rank = 0;
        for (int m = 0; m < 6; m++)
            if (ucol_strcoll(col, u[m], ul[m], u[k], ul[k]) == UCOL_LESS) rank++;
        bt_add(order, sizeof order, "%d", rank);
    }
    uint8_t key[256];
    int32_t klen = ucol_getSortKey(col, u[0], ul[0], key, sizeof key);
    bt_add(line, cap, "%s order=%s key=%d/%016llx", loc, order, klen, (unsigned long long)bt_fnv(key, (size_t)klen));
    ucol_close(col);

    /* Normalisation. */
    UChar src[256], dst[512];
    int32_t sl = 0;
    for (int k = 0; k < 4; k++) sl += to_u(words[(i + k * 3) % NWORDS], src + sl, 256 - sl - 1);
    e = U_ZERO_ERROR;
    const UNormalizer2 *forms[] = {unorm2_getNFCInstance(&e), unorm2_getNFDInstance(&e), unorm2_getNFKCInstance(&e),
                                   unorm2_getNFKCCasefoldInstance(&e)};
    const UNormalizer2 *nz = forms[i % 4];
    int32_t dl = unorm2_normalize(nz, src, sl, dst, 512, &e);
    bt_add(line, cap, " norm%d=%d/%016llx nfc?=%d", i % 4, U_SUCCESS(e) ? dl : -1,
           (unsigned long long)hash_u(dst, dl), unorm2_isNormalized(forms[0], src, sl, &e));

    /* Case mapping with the locale. */
    e = U_ZERO_ERROR;
    int32_t up = u_strToUpper(dst, 512, src, sl, loc, &e);
    uint64_t hu = hash_u(dst, up);
    int32_t lo = u_strToLower(dst, 512, src, sl, loc, &e);
    uint64_t hl = hash_u(dst, lo);
    int32_t fo = u_strFoldCase(dst, 512, src, sl, U_FOLD_CASE_DEFAULT, &e);
    bt_add(line, cap, " upper=%d/%016llx lower=%d/%016llx fold=%d/%016llx", up, (unsigned long long)hu, lo,
           (unsigned long long)hl, fo, (unsigned long long)hash_u(dst, fo));

    /* Break iteration over a sentence made of the words. */
    UChar text[1024];
    int32_t tl = 0;
    for (int k = 0; k < 8; k++) {
        tl += to_u(words[(i * 3 + k) % NWORDS], text + tl, 1000 - tl);
        text[tl++] = (UChar)(k % 3 == 2 ? '.' : ' ');
        if (k % 3 == 2) text[tl++] = ' ';
    }
    int counts[3];
    UBreakIteratorType types[] = {UBRK_WORD, UBRK_SENTENCE, UBRK_CHARACTER};
    for (int t = 0; t < 3; t++) {
        e = U_ZERO_ERROR;
        UBreakIterator *bi = ubrk_open(types[t], loc, text, tl, &e);
        counts[t] = 0;
        if (U_SUCCESS(e)) {
            for (int32_t p = ubrk_first(bi); p != UBRK_DONE; p = ubrk_next(bi)) counts[t]++;
            ubrk_close(bi);
        } else {
            counts[t] = -1;
        }
    }
    bt_add(line, cap, " breaks=%d/%d/%d", counts[0], counts[1], counts[2]);

    /* Number formatting. */
    e = U_ZERO_ERROR;
    UNumberFormat *nf = unum_open(i % 2 ? UNUM_DECIMAL : UNUM_PERCENT, NULL, 0, loc, NULL, &e);
    if (U_SUCCESS(e)) {
        UChar num[64];
        int32_t nl = unum_formatDouble(nf, (i * 1234.5678) / (i % 2 ? 1 : 10000), num, 64, NULL, &e);
        char nb[128];
        int32_t nbl = 0;
        u_strToUTF8(nb, sizeof nb, &nbl, num, nl, &e);
        bt_add(line, cap, " num=%s", U_SUCCESS(e) ? nb : "FAILED");
        unum_close(nf);
    }

    /* A transliterator every 10th request (it compiles rules). */
    if (i % 10 == 0) {
        e = U_ZERO_ERROR;
        UChar id[32];
        u_uastrcpy(id, "Any-Latin; Latin-ASCII");
        UTransliterator *tr = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &e);
        if (U_SUCCESS(e)) {
            UChar buf[1024];
            u_strncpy(buf, text, tl);
            int32_t limit = tl, blen = tl;
            utrans_transUChars(tr, buf, &blen, 1024, 0, &limit, &e);
            bt_add(line, cap, " latin=%016llx", (unsigned long long)hash_u(buf, blen));
            utrans_close(tr);
        } else {
            bt_add(line, cap, " translit FAILED: %s", u_errorName(e));
        }
    }
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    u_cleanup();
    return 0;
}
