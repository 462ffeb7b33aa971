/* SPDX-License-Identifier: MIT */
/* libxslt (+ libexslt): compile a stylesheet with a key, sorting,
 * format-number, a parameter and EXSLT functions; transform a document
 * built from the request number; serialise the result. */
#include "battery.h"

#include <libexslt/exslt.h>
#include <libxml/parser.h>
#include <libxslt/transform.h>
#include <libxslt/xslt.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>

static const char *sheet_src =
    "<?xml version=\"1.0\"?>\n"
    "<xsl:stylesheet version=\"1.0\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\"\n"
    "  xmlns:str=\"http://exslt.org/strings\" xmlns:math=\"http://exslt.org/math\"\n"
    "  extension-element-prefixes=\"str math\">\n"
    "<xsl:param name=\"who\" select=\"'nobody'\"/>\n"
    "<xsl:key name=\"by-cat\" match=\"row\" use=\"@cat\"/>\n"
    "<xsl:output method=\"%s\" indent=\"%s\"/>\n"
    "<xsl:template match=\"/\">\n"
    "  <report for=\"{$who}\" max=\"{math:max(//row/@v)}\">\n"
    "    <xsl:for-each select=\"//row\">\n"
    "      <xsl:sort select=\"@v\" data-type=\"number\" order=\"descending\"/>\n"
    "      <line n=\"{position()}\" cat=\"{@cat}\" same=\"{count(key('by-cat', @cat))}\">"
    "<xsl:value-of select=\"format-number(@v div 7, '#,##0.000')\"/>"
    "<xsl:for-each select=\"str:tokenize(., ' ')\"><w><xsl:value-of select=\"translate(., 'abc', 'XYZ')\"/></w></xsl:for-each>"
    "</line>\n"
    "    </xsl:for-each>\n"
    "  </report>\n"
    "</xsl:template>\n"
    "</xsl:stylesheet>\n";

static int registered;

static void request(int i, char *line, size_t cap)
{
    if (!registered) { /* once, as a program does before its first transform */
        exsltRegisterAll();
        registered = 1;
    }
    char sheet[4096];
    snprintf(sheet, sizeof sheet, sheet_src, i % 3 ? "xml" : "html", i % 2 ? "yes" : "no");
    xmlDocPtr sdoc = xmlReadMemory(sheet, (int)strlen(sheet), "sheet.xsl", NULL, XML_PARSE_NONET);
    xsltStylesheetPtr style = sdoc ? xsltParseStylesheetDoc(sdoc) : NULL;
    if (!style) {
        if (sdoc) xmlFreeDoc(sdoc);
        bt_add(line, cap, "stylesheet failed");
        return;
    }
    char src[4096];
    snprintf(src, sizeof src, "<data>");
    int n = 3 + i % 11;
    for (int k = 0; k < n; k++) {
        size_t used = strlen(src);
        snprintf(src + used, sizeof src - used, "<row cat=\"c%d\" v=\"%d\">abc cab %d bca</row>", (i + k) % 4,
                 (i * 31 + k * 17) % 1000, k);
    }
    size_t used = strlen(src);
    snprintf(src + used, sizeof src - used, "</data>");
    xmlDocPtr doc = xmlReadMemory(src, (int)strlen(src), "data.xml", NULL, XML_PARSE_NONET);
    char who[32];
    snprintf(who, sizeof who, "'user%d'", i);
    const char *params[] = {"who", who, NULL};
    xmlDocPtr res = xsltApplyStylesheet(style, doc, params);
    xmlChar *out = NULL;
    int len = 0;
    if (res) xsltSaveResultToString(&out, &len, res, style);
    char head[80] = "";
    if (out) {
        const char *r = strstr((const char *)out, "<report");
        snprintf(head, sizeof head, "%.60s", r ? r : (const char *)out);
        for (char *p = head; *p; p++)
            if (*p == '\n') *p = ' ';
    }
    bt_add(line, cap, "len=%d hash=%016llx head=%s", len, (unsigned long long)bt_fnv(out, (size_t)len), head);
    xmlFree(out);
    xmlFreeDoc(res);
    xmlFreeDoc(doc);
    xsltFreeStylesheet(style);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, 1, request);
    xsltCleanupGlobals();
    xmlCleanupParser();
    return 0;
}
