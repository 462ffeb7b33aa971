/* SPDX-License-Identifier: MIT */
/* expat: a parser per request (with namespaces on odd requests), fed in
 * chunks, with element, character-data and entity handlers. */
#include "battery.h"

#include <expat.h>

struct state {
    int elements, attrs, depth, max_depth;
    uint64_t text;
    char last[64];
};

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
    struct state *s = ud;
    s->elements++;
    for (int k = 0; atts[k]; k += 2) s->attrs++;
    if (++s->depth > s->max_depth) s->max_depth = s->depth;
    snprintf(s->last, sizeof s->last, "%s", name);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    ((struct state *)ud)->depth--;
}

static void XMLCALL on_text(void *ud, const XML_Char *t, int len)
{
    struct state *s = ud;
    s->text = s->text * 31 + bt_fnv(t, (size_t)len);
}

static void request(int i, char *line, size_t cap)
{
    char doc[8192];
    int n = 1 + i % 13;
    snprintf(doc, sizeof doc,
             "<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE r [<!ENTITY e 'ent%d'>]>\n"
             "<r xmlns='urn:a' xmlns:b='urn:b' id='%d'>", i, i);
    for (int k = 0; k < n; k++) {
        size_t used = strlen(doc);
        snprintf(doc + used, sizeof doc - used, "<b:c k='%d' v='%d'>text &e; &amp; \xe2\x82\xac%d<d/></b:c>", k, i * k,
                 k);
    }
    size_t used = strlen(doc);
    snprintf(doc + used, sizeof doc - used, "</r>");
    if (i % 17 == 5) doc[used - 3] = '<'; /* a broken document now and then */

    XML_Parser p = i % 2 ? XML_ParserCreateNS("UTF-8", '|') : XML_ParserCreate(NULL);
    struct state s = {0};
    XML_SetUserData(p, &s);
    XML_SetElementHandler(p, on_start, on_end);
    XML_SetCharacterDataHandler(p, on_text);
    size_t len = strlen(doc), chunk = 7 + (size_t)i % 50;
    enum XML_Status st = XML_STATUS_OK;
    for (size_t off = 0; off < len && st == XML_STATUS_OK; off += chunk) {
        size_t c = len - off < chunk ? len - off : chunk;
        st = XML_Parse(p, doc + off, (int)c, off + c == len);
    }
    if (st == XML_STATUS_OK)
        bt_add(line, cap, "ok elements=%d attrs=%d depth=%d text=%016llx last=%s", s.elements, s.attrs, s.max_depth,
               (unsigned long long)s.text, s.last);
    else
        bt_add(line, cap, "error '%s' at line %lu col %lu", XML_ErrorString(XML_GetErrorCode(p)),
               (unsigned long)XML_GetCurrentLineNumber(p), (unsigned long)XML_GetCurrentColumnNumber(p));
    XML_ParserFree(p);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, 1, request);
    return 0;
}
