/* SPDX-License-Identifier: MIT */
/*
 * parser-scratch — a JSON tokenizer whose scratch memory (the token array and
 * every decoded string) comes from an offheap Arena that is reset after each
 * document, compared with the same tokenizer on malloc/realloc/free.
 *
 *   parser-scratch [FILE.json]   tokenize FILE (or a built-in sample), print a summary
 *   parser-scratch --test        self-checks; exit 0 when all pass
 *   parser-scratch --bench [N]   ns per document, median of N rounds (default 15),
 *                                Arena vs malloc, for small and large documents
 *   parser-scratch --count arena|malloc P   P untimed passes over 2000 small
 *                                documents, for an instruction counter (callgrind)
 *
 * The lifetime is the whole point: everything the tokenizer makes for one
 * document dies together when the caller is done with the document, so the
 * Arena needs no per-block bookkeeping and "free" is one store.
 */
#include "../common/ex_util.h"

#include <offheap_pool.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Scratch memory: an Arena, or malloc when arena is NULL                    */
/* ------------------------------------------------------------------------ */

typedef struct scratch {
    offheap_arena *arena; /* NULL: malloc mode */
} scratch;

static void *scratch_alloc(scratch *s, size_t n)
{
    return s->arena ? offheap_arena_alloc(s->arena, n) : malloc(n);
}

/* Grow a block from old_n to new_n bytes.  The Arena cannot grow a block in
 * place through the public API, so it takes a new one and copies; the old
 * one is garbage until the reset (at most the sum of a geometric series:
 * less than the final size). */
static void *scratch_grow(scratch *s, void *old, size_t old_n, size_t new_n)
{
    if (!s->arena) return realloc(old, new_n);
    void *p = offheap_arena_alloc(s->arena, new_n);
    if (p && old) memcpy(p, old, old_n);
    return p;
}

/* ------------------------------------------------------------------------ */
/* Tokenizer                                                                 */
/* ------------------------------------------------------------------------ */

enum tok_type { T_OBJ, T_OBJ_END, T_ARR, T_ARR_END, T_KEY, T_STR, T_NUM, T_TRUE, T_FALSE, T_NULL };
#define T_COUNT 10

typedef struct token {
    unsigned type;  /* enum tok_type */
    unsigned depth; /* nesting depth of the token (0 = top level) */
    char *str;      /* T_KEY/T_STR: decoded, NUL-terminated, in scratch */
    size_t len;     /* bytes of str without the NUL */
    double num;     /* T_NUM */
} token;

typedef struct doc {
    token *tok;      /* token array, in scratch */
    size_t count;    /* tokens */
    size_t cap;      /* capacity of tok (tokens) */
    size_t err_pos;  /* byte offset of the first error */
    const char *err; /* NULL when the document is valid */
} doc;

#define MAX_DEPTH 512u

typedef struct lexer {
    const char *p, *start, *end;
    scratch *s;
    doc *d;
} lexer;

static bool fail(lexer *lx, const char *msg)
{
    if (!lx->d->err) {
        lx->d->err = msg;
        lx->d->err_pos = (size_t)(lx->p - lx->start);
    }
    return false;
}

static token *push(lexer *lx, unsigned type, unsigned depth)
{
    doc *d = lx->d;
    if (d->count == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 64;
        token *t = scratch_grow(lx->s, d->tok, d->cap * sizeof *t, ncap * sizeof *t);
        if (!t) {
            fail(lx, "out of scratch memory");
            return NULL;
        }
        d->tok = t;
        d->cap = ncap;
    }
    token *t = &d->tok[d->count++];
    t->type = type;
    t->depth = depth;
    t->str = NULL;
    t->len = 0;
    t->num = 0;
    return t;
}

static void skip_ws(lexer *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r')) lx->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_hex4(lexer *lx, unsigned *out)
{
    if (lx->end - lx->p < 4) return fail(lx, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(lx->p[i]);
        if (h < 0) return fail(lx, "bad \\u escape");
        v = v * 16 + (unsigned)h;
    }
    lx->p += 4;
    *out = v;
    return true;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* lx->p is on the opening quote.  The decoded string is never longer than
 * the raw one (every escape shrinks or keeps its length), so one scratch
 * block of the raw length + 1 is enough. */
static bool lex_string(lexer *lx, token *t)
{
    const char *q = ++lx->p;
    while (q < lx->end && *q != '"') q += (*q == '\\') ? 2 : 1;
    if (q >= lx->end) return fail(lx, "unterminated string");
    size_t raw = (size_t)(q - lx->p);
    char *o = scratch_alloc(lx->s, raw + 1);
    if (!o) return fail(lx, "out of scratch memory");
    t->str = o;
    size_t n = 0;
    while (lx->p < q) {
        unsigned char c = (unsigned char)*lx->p;
        if (c < 0x20) return fail(lx, "control character in string");
        if (c != '\\') {
            o[n++] = (char)c;
            lx->p++;
            continue;
        }
        lx->p++;
        char e = *lx->p++;
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (!read_hex4(lx, &cp)) return false;
            if (cp >= 0xD800 && cp < 0xDC00) { /* high surrogate: needs a low one */
                unsigned lo;
                if (q - lx->p < 6 || lx->p[0] != '\\' || lx->p[1] != 'u') return fail(lx, "lone surrogate");
                lx->p += 2;
                if (!read_hex4(lx, &lo)) return false;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail(lx, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(lx, "lone surrogate");
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default: lx->p--; return fail(lx, "bad escape");
        }
    }
    o[n] = '\0';
    t->len = n;
    lx->p = q + 1;
    return true;
}

static bool lex_number(lexer *lx, token *t)
{
    const char *b = lx->p, *q = lx->p;
    if (q < lx->end && *q == '-') q++;
    if (q >= lx->end || *q < '0' || *q > '9') return lx->p = q, fail(lx, "bad number");
    if (*q == '0') q++;
    else
        while (q < lx->end && *q >= '0' && *q <= '9') q++;
    if (q < lx->end && *q == '.') {
        q++;
        if (q >= lx->end || *q < '0' || *q > '9') return lx->p = q, fail(lx, "bad fraction");
        while (q < lx->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < lx->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < lx->end && (*q == '+' || *q == '-')) q++;
        if (q >= lx->end || *q < '0' || *q > '9') return lx->p = q, fail(lx, "bad exponent");
        while (q < lx->end && *q >= '0' && *q <= '9') q++;
    }
    char buf[64];
    size_t n = (size_t)(q - b);
    if (n >= sizeof buf) return fail(lx, "number too long");
    memcpy(buf, b, n);
    buf[n] = '\0';
    t->num = strtod(buf, NULL);
    lx->p = q;
    return true;
}

static bool lex_word(lexer *lx, const char *w, size_t n)
{
    if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, w, n) != 0) return fail(lx, "bad literal");
    lx->p += n;
    return true;
}

static bool parse_value(lexer *lx, unsigned depth);

static bool parse_container(lexer *lx, unsigned depth, bool object)
{
    if (depth >= MAX_DEPTH) return fail(lx, "nesting too deep");
    if (!push(lx, object ? T_OBJ : T_ARR, depth)) return false;
    lx->p++;
    skip_ws(lx);
    char close = object ? '}' : ']';
    if (lx->p < lx->end && *lx->p == close) {
        lx->p++;
        return push(lx, object ? T_OBJ_END : T_ARR_END, depth) != NULL;
    }
    for (;;) {
        skip_ws(lx);
        if (object) {
            if (lx->p >= lx->end || *lx->p != '"') return fail(lx, "expected key");
            token *k = push(lx, T_KEY, depth + 1);
            if (!k || !lex_string(lx, k)) return false;
            skip_ws(lx);
            if (lx->p >= lx->end || *lx->p != ':') return fail(lx, "expected ':'");
            lx->p++;
        }
        if (!parse_value(lx, depth + 1)) return false;
        skip_ws(lx);
        if (lx->p < lx->end && *lx->p == ',') {
            lx->p++;
            continue;
        }
        if (lx->p < lx->end && *lx->p == close) {
            lx->p++;
            return push(lx, object ? T_OBJ_END : T_ARR_END, depth) != NULL;
        }
        return fail(lx, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool parse_value(lexer *lx, unsigned depth)
{
    skip_ws(lx);
    if (lx->p >= lx->end) return fail(lx, "unexpected end");
    token *t;
    switch (*lx->p) {
    case '{': return parse_container(lx, depth, true);
    case '[': return parse_container(lx, depth, false);
    case '"': return (t = push(lx, T_STR, depth)) && lex_string(lx, t);
    case 't': return lex_word(lx, "true", 4) && push(lx, T_TRUE, depth);
    case 'f': return lex_word(lx, "false", 5) && push(lx, T_FALSE, depth);
    case 'n': return lex_word(lx, "null", 4) && push(lx, T_NULL, depth);
    default: return (t = push(lx, T_NUM, depth)) && lex_number(lx, t);
    }
}

/* Tokenize json[0..len) into *d using scratch s.  Returns true when valid;
 * otherwise d->err and d->err_pos say what and where.  Either way the
 * scratch blocks made so far are in d and go with doc_release(). */
static bool tokenize(scratch *s, const char *json, size_t len, doc *d)
{
    memset(d, 0, sizeof *d);
    lexer lx = {json, json, json + len, s, d};
    if (!parse_value(&lx, 0)) return false;
    skip_ws(&lx);
    if (lx.p != lx.end) return fail(&lx, "trailing characters");
    return true;
}

/* Malloc mode: one free per string and one for the array.  Arena mode: one
 * reset for everything, whatever the document held. */
static void doc_release(scratch *s, doc *d)
{
    if (s->arena) {
        offheap_arena_reset(s->arena);
    } else {
        for (size_t i = 0; i < d->count; i++) free(d->tok[i].str);
        free(d->tok);
    }
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------------------ */
/* What a caller does with the tokens: a summary                             */
/* ------------------------------------------------------------------------ */

typedef struct summary {
    size_t by_type[T_COUNT];
    unsigned max_depth;
    double num_sum;
    size_t str_bytes;  /* decoded bytes of keys and strings */
    uint64_t str_hash; /* FNV-1a over every decoded key and string */
} summary;

static void summarize(const doc *d, summary *out)
{
    memset(out, 0, sizeof *out);
    out->str_hash = 0xcbf29ce484222325u;
    for (size_t i = 0; i < d->count; i++) {
        const token *t = &d->tok[i];
        out->by_type[t->type]++;
        if (t->depth > out->max_depth) out->max_depth = t->depth;
        if (t->type == T_NUM) out->num_sum += t->num;
        if (t->str) {
            out->str_bytes += t->len;
            for (size_t j = 0; j < t->len; j++)
                out->str_hash = (out->str_hash ^ (unsigned char)t->str[j]) * 0x100000001b3u;
        }
    }
}

static void print_summary(const summary *s)
{
    printf("objects %zu, arrays %zu, keys %zu, strings %zu, numbers %zu, "
           "true %zu, false %zu, null %zu\n",
           s->by_type[T_OBJ], s->by_type[T_ARR], s->by_type[T_KEY], s->by_type[T_STR], s->by_type[T_NUM],
           s->by_type[T_TRUE], s->by_type[T_FALSE], s->by_type[T_NULL]);
    printf("max depth %u, number sum %.6g, string bytes %zu, string hash %016llx\n", s->max_depth, s->num_sum,
           s->str_bytes, (unsigned long long)s->str_hash);
}

/* ------------------------------------------------------------------------ */
/* Test data                                                                 */
/* ------------------------------------------------------------------------ */

static const char sample[] =
    "{\n"
    "  \"id\": 4711, \"name\": \"caf\\u00e9 \\\"central\\\"\", \"open\": true,\n"
    "  \"rating\": 4.5e0, \"tags\": [\"wifi\", \"quiet\\n\", \"\\ud83d\\ude00\"],\n"
    "  \"owner\": null, \"closed\": false,\n"
    "  \"menu\": [{\"item\": \"espresso\", \"price\": -2.25}, {\"item\": \"tea\", \"price\": 3}]\n"
    "}\n";

/* A growable string, malloc'd: only the test data uses it. */
typedef struct sbuf {
    char *b;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *s, const char *p, size_t n)
{
    if (s->n + n + 1 > s->cap) {
        size_t c = s->cap ? s->cap : 256;
        while (c < s->n + n + 1) c *= 2;
        char *nb = realloc(s->b, c);
        if (!nb) {
            perror("realloc");
            exit(2);
        }
        s->b = nb;
        s->cap = c;
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
    s->b[s->n] = '\0';
}

static void sb_str(sbuf *s, const char *p)
{
    sb_put(s, p, strlen(p));
}

static void gen_string(sbuf *s, uint64_t *rng)
{
    static const char *const parts[] = {"alpha",   "beta",           "gamma", " ",        "\\n",  "\\\"",
                                        "\\u00e9", "\\ud83d\\ude80", "order", "customer", "\\\\", "x"};
    size_t k = 1 + ex_rand(rng) % 6;
    sb_str(s, "\"");
    for (size_t i = 0; i < k; i++) sb_str(s, parts[ex_rand(rng) % (sizeof parts / sizeof *parts)]);
    sb_str(s, "\"");
}

static void gen_value(sbuf *s, uint64_t *rng, unsigned depth, size_t *budget)
{
    char buf[64];
    unsigned r = (unsigned)(ex_rand(rng) % 10);
    if (depth < 6 && *budget > 0 && r < 3) {
        bool obj = r < 2;
        size_t n = 1 + ex_rand(rng) % 8;
        sb_str(s, obj ? "{" : "[");
        for (size_t i = 0; i<n && * budget> 0; i++) {
            if (i) sb_str(s, ",");
            if (obj) {
                gen_string(s, rng);
                sb_str(s, ":");
            }
            (*budget)--;
            gen_value(s, rng, depth + 1, budget);
        }
        sb_str(s, obj ? "}" : "]");
        return;
    }
    switch (r) {
    case 3:
    case 4:
    case 5: gen_string(s, rng); break;
    case 6:
        snprintf(buf, sizeof buf, "%lld", (long long)(ex_rand(rng) % 2000000) - 1000000);
        sb_str(s, buf);
        break;
    case 7:
        snprintf(buf, sizeof buf, "%.17g", (ex_rand_unit(rng) - 0.5) * 1e6);
        sb_str(s, buf);
        break;
    case 8: sb_str(s, ex_rand(rng) % 2 ? "true" : "false"); break;
    default: sb_str(s, "null"); break;
    }
}

/* A document of roughly `approx` values (an array of objects). */
static char *gen_doc(uint64_t seed, size_t approx, size_t *len)
{
    sbuf s = {0};
    uint64_t rng = seed;
    size_t budget = approx;
    sb_str(&s, "[");
    for (size_t i = 0; budget > 0; i++) {
        if (i) sb_str(&s, ",\n");
        budget--;
        size_t inner = 1 + ex_rand(&rng) % 16;
        if (inner > budget) inner = budget;
        budget -= inner;
        sb_str(&s, "{\"seq\":");
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", i);
        sb_str(&s, buf);
        sb_str(&s, ",\"body\":");
        gen_value(&s, &rng, 1, &inner);
        budget += inner;
        sb_str(&s, "}");
    }
    sb_str(&s, "]");
    *len = s.n;
    return s.b;
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                     */
/* ------------------------------------------------------------------------ */

#define ARENA_SIZE (64u << 20) /* scratch for the largest document we accept */

static int run_file(const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    if (path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            perror(path);
            return 1;
        }
        sbuf s = {0};
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) sb_put(&s, chunk, n);
        fclose(f);
        buf = s.b ? s.b : calloc(1, 1);
        len = s.n;
    }
    const char *json = path ? buf : sample;
    if (!path) len = sizeof sample - 1;

    offheap_arena *arena;
    int rc = offheap_arena_create(&arena, ARENA_SIZE);
    if (rc) {
        fprintf(stderr, "offheap_arena_create: %s\n", offheap_strerror(rc));
        free(buf);
        return 1;
    }
    scratch s = {arena};
    doc d;
    size_t before = offheap_arena_remaining(arena);
    int status = 0;
    if (tokenize(&s, json, len, &d)) {
        summary sum;
        summarize(&d, &sum);
        printf("%s: %zu bytes, %zu tokens, %zu bytes of scratch\n", path ? path : "sample", len, d.count,
               before - offheap_arena_remaining(arena));
        print_summary(&sum);
    } else {
        printf("%s: invalid JSON at byte %zu: %s\n", path ? path : "sample", d.err_pos, d.err);
        status = 1;
    }
    doc_release(&s, &d);
    offheap_arena_destroy(arena);
    free(buf);
    return status;
}

static bool same_summary(const summary *a, const summary *b)
{
    return memcmp(a->by_type, b->by_type, sizeof a->by_type) == 0 && a->max_depth == b->max_depth &&
           a->num_sum == b->num_sum && a->str_bytes == b->str_bytes && a->str_hash == b->str_hash;
}

static int run_test(void)
{
    offheap_arena *arena;
    EX_CHECK(offheap_arena_create(&arena, ARENA_SIZE) == 0);
    scratch sa = {arena}, sm = {NULL};
    doc d;
    summary sum;
    const size_t fresh = offheap_arena_remaining(arena);
    EX_CHECK(fresh >= ARENA_SIZE);

    /* The sample: exact token counts and decoded strings. */
    EX_CHECK(tokenize(&sa, sample, sizeof sample - 1, &d));
    summarize(&d, &sum);
    EX_CHECK(sum.by_type[T_OBJ] == 3 && sum.by_type[T_OBJ_END] == 3);
    EX_CHECK(sum.by_type[T_ARR] == 2 && sum.by_type[T_ARR_END] == 2);
    EX_CHECK(sum.by_type[T_KEY] == 12);
    EX_CHECK(sum.by_type[T_STR] == 6);
    EX_CHECK(sum.by_type[T_NUM] == 4);
    EX_CHECK(sum.by_type[T_TRUE] == 1 && sum.by_type[T_FALSE] == 1 && sum.by_type[T_NULL] == 1);
    EX_CHECK(sum.max_depth == 3);
    EX_CHECK(sum.num_sum == 4711 + 4.5 - 2.25 + 3);
    bool saw_name = false, saw_emoji = false, saw_nl = false;
    for (size_t i = 0; i < d.count; i++) {
        const token *t = &d.tok[i];
        if (t->type != T_STR) continue;
        EX_CHECK(offheap_arena_remaining(arena) < fresh); /* strings live in the arena */
        if (strcmp(t->str, "caf\xc3\xa9 \"central\"") == 0) saw_name = true;
        if (strcmp(t->str, "\xf0\x9f\x98\x80") == 0 && t->len == 4) saw_emoji = true;
        if (strcmp(t->str, "quiet\n") == 0) saw_nl = true;
    }
    EX_CHECK(saw_name && saw_emoji && saw_nl);
    doc_release(&sa, &d);
    EX_CHECK(offheap_arena_remaining(arena) == fresh); /* reset gives it all back */

    /* Invalid documents: rejected with the right position, nothing kept. */
    static const struct {
        const char *json;
        size_t pos;
    } bad[] = {
        {"{\"a\":}", 5}, {"[1,2", 4},        {"\"\\x\"", 2},   {"[01]", 2},       {"[1.]", 3}, {"tru", 0},
        {"{} x", 3},     {"\"\\ud800\"", 7}, {"{\"a\" 1}", 5}, {"[\"a\nb\"]", 3}, {"", 0},     {"[-]", 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bool ok = tokenize(&sa, bad[i].json, strlen(bad[i].json), &d);
        EX_CHECK(!ok && d.err != NULL);
        if (d.err_pos != bad[i].pos)
            fprintf(stderr, "bad[%zu] %s: error at %zu (%s), expected %zu\n", i, bad[i].json, d.err_pos,
                    d.err ? d.err : "-", bad[i].pos);
        EX_CHECK(d.err_pos == bad[i].pos);
        doc_release(&sa, &d);
        EX_CHECK(offheap_arena_remaining(arena) == fresh);
    }

    /* Deep nesting is refused, not a stack overflow. */
    {
        size_t n = MAX_DEPTH + 10;
        char *deep = malloc(n);
        memset(deep, '[', n);
        EX_CHECK(!tokenize(&sa, deep, n, &d) && strcmp(d.err, "nesting too deep") == 0);
        doc_release(&sa, &d);
        free(deep);
    }

    /* Arena and malloc agree on generated documents, and the arena is
     * exactly empty after every reset. */
    for (uint64_t seed = 1; seed <= 200; seed++) {
        size_t len;
        char *json = gen_doc(seed, 50 + seed * 3, &len);
        doc da, dm;
        summary a, m;
        bool oka = tokenize(&sa, json, len, &da);
        bool okm = tokenize(&sm, json, len, &dm);
        EX_CHECK(oka && okm);
        summarize(&da, &a);
        summarize(&dm, &m);
        EX_CHECK(same_summary(&a, &m));
        EX_CHECK(da.count == dm.count && da.count > 0);
        doc_release(&sa, &da);
        doc_release(&sm, &dm);
        EX_CHECK(offheap_arena_remaining(arena) == fresh);
        free(json);
    }
    offheap_arena_destroy(arena);

    /* A small arena: a large document fails cleanly with "out of scratch
     * memory"; after a reset the same arena serves a small one. */
    {
        offheap_arena *small;
        EX_CHECK(offheap_arena_create(&small, 4096) == 0);
        scratch ss = {small};
        size_t len;
        char *json = gen_doc(7, 2000, &len);
        EX_CHECK(!tokenize(&ss, json, len, &d));
        EX_CHECK(d.err && strcmp(d.err, "out of scratch memory") == 0);
        doc_release(&ss, &d);
        EX_CHECK(tokenize(&ss, sample, sizeof sample - 1, &d));
        doc_release(&ss, &d);
        free(json);
        offheap_arena_destroy(small);
    }

    printf("parser-scratch: %d checks, %d failed\n", ex_checks, ex_failures);
    return ex_failures ? 1 : 0;
}

/* One timed pass over the documents: ns per document (tokenize + walk the
 * tokens + release). */
static double bench_pass(scratch *s, char **docs, const size_t *lens, size_t ndocs)
{
    volatile uint64_t sink = 0;
    uint64_t t0 = ex_now_ns();
    for (size_t i = 0; i < ndocs; i++) {
        doc d;
        if (!tokenize(s, docs[i], lens[i], &d)) {
            fprintf(stderr, "bench: document %zu invalid: %s\n", i, d.err);
            exit(1);
        }
        sink += d.count + (uint64_t)d.tok[d.count - 1].type;
        doc_release(s, &d);
    }
    (void)sink;
    return (double)(ex_now_ns() - t0) / (double)ndocs;
}

/* Arena and malloc passes alternate, so a burst of noise from other
 * processes hits both; medians over rounds.  Round -1 warms up. */
static void bench_pair(scratch *sa, scratch *sm, char **docs, const size_t *lens, size_t ndocs, int rounds,
                       double *arena_ns, double *malloc_ns)
{
    double *a = malloc(sizeof(double) * (size_t)rounds);
    double *m = malloc(sizeof(double) * (size_t)rounds);
    for (int r = -1; r < rounds; r++) {
        double x = bench_pass(sa, docs, lens, ndocs);
        double y = bench_pass(sm, docs, lens, ndocs);
        if (r >= 0) {
            a[r] = x;
            m[r] = y;
        }
    }
    *arena_ns = ex_median(a, (size_t)rounds);
    *malloc_ns = ex_median(m, (size_t)rounds);
    free(a);
    free(m);
}

static int run_bench(int rounds)
{
    static const struct {
        const char *name;
        size_t values; /* approx values per document */
        size_t ndocs;
    } sets[] = {{"small (~60 values)", 60, 2000}, {"large (~6000 values)", 6000, 20}};

    offheap_arena *arena;
    int rc = offheap_arena_create(&arena, ARENA_SIZE);
    if (rc) {
        fprintf(stderr, "offheap_arena_create: %s\n", offheap_strerror(rc));
        return 1;
    }
    scratch sa = {arena}, sm = {NULL};
    printf("parser-scratch bench: median of %d rounds, ns per document "
           "(tokenize + release)\n",
           rounds);
    printf("%-22s %8s %8s %12s %12s %8s\n", "documents", "bytes", "tokens", "arena ns", "malloc ns", "malloc/arena");
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) {
        size_t n = sets[k].ndocs;
        char **docs = malloc(n * sizeof *docs);
        size_t *lens = malloc(n * sizeof *lens);
        size_t bytes = 0, tokens = 0;
        for (size_t i = 0; i < n; i++) {
            docs[i] = gen_doc(1000 + i, sets[k].values, &lens[i]);
            bytes += lens[i];
            doc d;
            tokenize(&sm, docs[i], lens[i], &d);
            tokens += d.count;
            doc_release(&sm, &d);
        }
        double a, m;
        bench_pair(&sa, &sm, docs, lens, n, rounds, &a, &m);
        printf("%-22s %8zu %8zu %12.0f %12.0f %8.2fx\n", sets[k].name, bytes / n, tokens / n, a, m, m / a);
        for (size_t i = 0; i < n; i++) free(docs[i]);
        free(docs);
        free(lens);
    }
    offheap_arena_destroy(arena);
    return 0;
}

/* Untimed work for an instruction counter (valgrind --tool=callgrind, which
 * keeps the program's own malloc): `passes` passes over the 2000 small
 * documents in one mode.  Instructions per document = the difference
 * between two pass counts / 2000 / the difference in passes. */
static int run_count(const char *mode, int passes)
{
    bool arena_mode = strcmp(mode, "arena") == 0;
    if (!arena_mode && strcmp(mode, "malloc") != 0) {
        fprintf(stderr, "--count: mode is arena or malloc\n");
        return 2;
    }
    offheap_arena *arena = NULL;
    if (arena_mode && offheap_arena_create(&arena, ARENA_SIZE) != 0) return 1;
    scratch s = {arena};
    enum { N = 2000 };
    static char *docs[N];
    static size_t lens[N];
    for (size_t i = 0; i < N; i++) docs[i] = gen_doc(1000 + i, 60, &lens[i]);
    for (int p = 0; p < passes; p++) bench_pass(&s, docs, lens, N);
    for (size_t i = 0; i < N; i++) free(docs[i]);
    offheap_arena_destroy(arena);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--test") == 0) return run_test();
    if (argc > 3 && strcmp(argv[1], "--count") == 0) return run_count(argv[2], atoi(argv[3]));
    if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
        int rounds = argc > 2 ? atoi(argv[2]) : 15;
        return run_bench(rounds > 0 ? rounds : 15);
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s [FILE.json | --test | --bench [ROUNDS] | --count arena|malloc PASSES]\n", argv[0]);
        return 0;
    }
    return run_file(argc > 1 ? argv[1] : NULL);
}
