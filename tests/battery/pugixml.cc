// SPDX-License-Identifier: MIT
// pugixml: load a document from memory (parse errors now and then),
// XPath queries (node sets, numbers, strings, a compiled query with a
// variable), DOM edits, and saving to a string with format options.
#include "battery.h"

#include <sstream>
#include <string>

#include <pugixml.hpp>

static void request(int i, char *line, size_t cap)
{
    std::string src = "<?xml version=\"1.0\"?><shop id=\"" + std::to_string(i) + "\">";
    for (int k = 0; k < 2 + i % 12; k++)
        src += "<item sku=\"s" + std::to_string(k) + "\" price=\"" + std::to_string((i * 13 + k * 7) % 100) +
               "\"><name>Item &amp; " + std::to_string(k) + "</name></item>";
    src += i % 43 == 17 ? "<unclosed>" : "</shop>";
    pugi::xml_document doc;
    pugi::xml_parse_result r = doc.load_buffer(src.data(), src.size());
    if (!r) {
        bt_add(line, cap, "parse error: %s at %ld", r.description(), static_cast<long>(r.offset));
        return;
    }
    pugi::xpath_variable_set vars;
    vars.add("limit", pugi::xpath_type_number);
    vars.set("limit", static_cast<double>(i % 60));
    pugi::xpath_query q("//item[@price > $limit]", &vars);
    pugi::xpath_node_set hits = q.evaluate_node_set(doc);
    double sum = pugi::xpath_query("sum(//item/@price)").evaluate_number(doc);
    std::string last = pugi::xpath_query("string(//item[last()]/name)").evaluate_string(doc);
    pugi::xml_node shop = doc.child("shop");
    pugi::xml_node added = shop.prepend_child("note");
    added.append_attribute("n") = i;
    added.text().set("added <by> request");
    shop.remove_child(shop.last_child());
    std::ostringstream os;
    doc.save(os, i % 2 ? "  " : "", i % 2 ? pugi::format_default : pugi::format_raw);
    std::string out = os.str();
    bt_add(line, cap, "hits=%zu sum=%.0f last='%s' out=%zu/%016llx", hits.size(), sum, last.c_str(), out.size(),
           (unsigned long long)bt_fnv(out.data(), out.size()));
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
