// SPDX-License-Identifier: MIT
// yaml-cpp: parse a document with anchors, aliases, flow and block
// collections and multi-line scalars; navigate and convert nodes; build a
// new node tree; emit it with YAML::Emitter (block and flow); parse errors
// as exceptions on some requests.
#include "battery.h"

#include <string>

#include <yaml-cpp/yaml.h>

static void request(int i, char *line, size_t cap)
{
    std::string doc = "version: " + std::to_string(i) +
                      "\n"
                      "defaults: &defaults\n  retries: " +
                      std::to_string(i % 5) +
                      "\n  timeout: 2.5\n"
                      "service:\n  <<: *defaults\n  name: svc-" +
                      std::to_string(i) +
                      "\n"
                      "  tags: [a, b, 'c d', " +
                      std::to_string(i * 3) +
                      "]\n"
                      "  text: |\n    line one\n    line two " +
                      std::to_string(i) + "\nitems:\n";
    for (int k = 0; k < 1 + i % 9; k++)
        doc += "  - {id: " + std::to_string(k) + ", name: \"item " + std::to_string(k) + "\", on: " +
               (k % 2 ? "true" : "false") + "}\n";
    if (i % 23 == 11) doc += "  - [unclosed\n";
    try {
        YAML::Node root = YAML::Load(doc);
        int version = root["version"].as<int>();
        std::string name = root["service"]["name"].as<std::string>();
        size_t ntags = root["service"]["tags"].size();
        std::string text = root["service"]["text"].as<std::string>();
        int on = 0;
        for (const auto &it : root["items"]) on += it["on"].as<bool>() ? 1 : 0;
        double timeout = root["defaults"]["timeout"].as<double>();

        YAML::Node out;
        out["request"] = i;
        out["name"] = name;
        for (int k = 0; k < i % 6; k++) out["list"].push_back(k * i);
        out["nested"]["copy"] = root["service"]["tags"];
        out["nested"]["ratio"] = i / 3.0;
        YAML::Emitter em;
        if (i % 2) em << YAML::Flow;
        em << out;
        std::string emitted = em.c_str();
        YAML::Node again = YAML::Load(emitted);
        bt_add(line, cap, "version=%d name=%s tags=%zu text=%016llx on=%d timeout=%.1f emitted=%zu/%016llx again=%d",
               version, name.c_str(), ntags, (unsigned long long)bt_fnv(text.data(), text.size()), on, timeout,
               emitted.size(), (unsigned long long)bt_fnv(emitted.data(), emitted.size()), again["request"].as<int>());
    } catch (const YAML::Exception &e) {
        bt_add(line, cap, "yaml error at line %d col %d: %s", e.mark.line, e.mark.column, e.msg.c_str());
    }
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
