/* SPDX-License-Identifier: MIT */
/* libxml2: DOM parse, XPath, tree edits, serialisation, the streaming
 * reader and the HTML parser, on documents built from the request number. */
#include "battery.h"

#include <libxml/HTMLparser.h>
#include <libxml/HTMLtree.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlreader.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

static void make_doc(int i, char *buf, size_t cap)
{
    int n = 2 + i % 9;
    snprintf(buf, cap, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<!DOCTYPE catalog [<!ENTITY co \"Caf\xc3\xa9 &amp; Co %d\">]>\n"
                       "<catalog xmlns:x=\"urn:x-battery\" id=\"c%d\">", i, i);
    for (int k = 0; k < n; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used,
                 "<item sku=\"%d-%d\" price=\"%d.%02d\"><name>&co; item %d</name>"
                 "<x:tag>t%d</x:tag><![CDATA[<raw %d>]]></item>",
                 i, k, (i * 7 + k * 13) % 100, (i + k) % 100, k, (i + k) % 5, k);
    }
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "</catalog>");
}

static void request(int i, char *line, size_t cap)
{
    char src[8192];
    make_doc(i, src, sizeof src);

    xmlDocPtr doc = xmlReadMemory(src, (int)strlen(src), "req.xml", NULL, XML_PARSE_NOENT | XML_PARSE_NONET);
    if (!doc) {
        bt_add(line, cap, "parse failed");
        return;
    }
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "x", BAD_CAST "urn:x-battery");
    char expr[128];
    snprintf(expr, sizeof expr, "//item[number(@price) > %d]", i % 60);
    xmlXPathObjectPtr res = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    int hits = res && res->nodesetval ? res->nodesetval->nodeNr : -1;
    xmlXPathFreeObject(res);
    res = xmlXPathEvalExpression(BAD_CAST "sum(//item/@price)", ctx);
    double sum = res ? res->floatval : -1;
    xmlXPathFreeObject(res);
    res = xmlXPathEvalExpression(BAD_CAST "string(//item[last()]/x:tag)", ctx);
    char tag[32] = "";
    if (res && res->stringval) snprintf(tag, sizeof tag, "%s", (const char *)res->stringval);
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);

    /* Edit the tree and serialise it. */
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr extra = xmlNewChild(root, NULL, BAD_CAST "note", BAD_CAST "added <by> request");
    xmlNewProp(extra, BAD_CAST "n", BAD_CAST (i % 2 ? "odd" : "even"));
    xmlChar *out = NULL;
    int outlen = 0;
    xmlDocDumpFormatMemoryEnc(doc, &out, &outlen, "UTF-8", i % 2);
    uint64_t h = bt_fnv(out, (size_t)outlen);
    xmlChar *content = xmlNodeGetContent(root->children);
    char first[64] = "";
    if (content) snprintf(first, sizeof first, "%s", (const char *)content);
    xmlFree(content);
    xmlFree(out);
    xmlFreeDoc(doc);

    /* The streaming reader over the same source. */
    int elements = 0, depth_max = 0;
    xmlTextReaderPtr rd = xmlReaderForMemory(src, (int)strlen(src), "req.xml", NULL, XML_PARSE_NOENT);
    while (rd && xmlTextReaderRead(rd) == 1) {
        if (xmlTextReaderNodeType(rd) == XML_READER_TYPE_ELEMENT) elements++;
        if (xmlTextReaderDepth(rd) > depth_max) depth_max = xmlTextReaderDepth(rd);
    }
    xmlFreeTextReader(rd);

    /* The HTML parser on tag soup. */
    char html[512];
    snprintf(html, sizeof html, "<html><body><p class=r%d>Request %d<br>unclosed <b>bold<li>x&amp;y &copy; %d</body>",
             i % 4, i, i * 3);
    htmlDocPtr hd = htmlReadMemory(html, (int)strlen(html), "req.html", "UTF-8",
                                   HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    xmlChar *hout = NULL;
    int hlen = 0;
    htmlDocDumpMemory(hd, &hout, &hlen);
    uint64_t hh = bt_fnv(hout, (size_t)hlen);
    xmlFree(hout);
    xmlFreeDoc(hd);

    bt_add(line, cap, "hits=%d sum=%.2f tag=%s first='%s' len=%d xml=%016llx elements=%d depth=%d html=%016llx",
           hits, sum, tag, first, outlen, (unsigned long long)h, elements, depth_max, (unsigned long long)hh);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    xmlCleanupParser();
    return 0;
}
