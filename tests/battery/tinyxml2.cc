// SPDX-License-Identifier: MIT
// tinyxml2: parse a document (errors now and then), walk and query
// elements and attributes, build new elements, print with XMLPrinter
// (compact or not), deep-clone into a second document.
#include "battery.h"

#include <string>

#include <tinyxml2.h>

using namespace tinyxml2;

static void request(int i, char *line, size_t cap)
{
    std::string src = "<?xml version=\"1.0\"?><root id=\"" + std::to_string(i) + "\">";
    for (int k = 0; k < 1 + i % 14; k++)
        src += "<e k=\"" + std::to_string(k) + "\" v=\"" + std::to_string(i * k) + ".5\">text &lt;" + std::to_string(k) +
               "&gt; caf\xc3\xa9<sub/></e>";
    src += i % 47 == 21 ? "<e>" : "</root>";
    XMLDocument doc;
    if (doc.Parse(src.c_str(), src.size()) != XML_SUCCESS) {
        bt_add(line, cap, "parse error %s line %d", doc.ErrorName(), doc.ErrorLineNum());
        return;
    }
    XMLElement *root = doc.RootElement();
    int count = 0;
    double sum = 0;
    for (XMLElement *e = root->FirstChildElement("e"); e; e = e->NextSiblingElement("e")) {
        count++;
        sum += e->DoubleAttribute("v");
    }
    XMLElement *added = doc.NewElement("added");
    added->SetAttribute("request", i);
    added->SetText("new & text");
    root->InsertFirstChild(added);
    if (XMLElement *last = root->LastChildElement("e")) root->DeleteChild(last);
    XMLPrinter printer(nullptr, i % 2 == 1);
    doc.Print(&printer);
    XMLDocument copy;
    doc.DeepCopy(&copy);
    XMLPrinter p2;
    copy.Print(&p2);
    bt_add(line, cap, "count=%d sum=%.1f first=%s out=%d/%016llx copy=%d", count, sum, root->FirstChildElement()->GetText(),
           printer.CStrSize(), (unsigned long long)bt_fnv(printer.CStr(), static_cast<size_t>(printer.CStrSize())), p2.CStrSize());
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
