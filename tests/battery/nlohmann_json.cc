// SPDX-License-Identifier: MIT
// nlohmann::json (header-only): parse (with a parse error now and then),
// navigate, build, merge_patch, JSON pointer, flatten, diff/patch, dump
// with indent, and CBOR/MessagePack round trips.
#include "battery.h"

#include <string>

#include <nlohmann/json.hpp>

using json = nlohmann::json;

static void request(int i, char *line, size_t cap)
{
    std::string src = "{\"id\": " + std::to_string(i) + ", \"name\": \"r\\u00e9q " + std::to_string(i) + "\", \"list\": [";
    for (int k = 0; k < 1 + i % 15; k++) src += (k ? "," : "") + std::to_string(k * i);
    src += "], \"nested\": {\"a\": {\"b\": " + std::string(i % 2 ? "true" : "null") + "}}}";
    if (i % 37 == 9) src += "trailing";
    try {
        json j = json::parse(src);
        json out;
        out["request"] = i;
        out["sum"] = 0;
        for (auto &v : j["list"]) out["sum"] = out["sum"].get<int>() + v.get<int>();
        out["tags"] = json::array({"a", "b", std::to_string(i)});
        out["map"][std::string("k") + std::to_string(i % 4)] = i / 2.0;
        json patched = j;
        patched.merge_patch(json::parse("{\"name\": null, \"extra\": {\"x\": " + std::to_string(i) + "}}"));
        json diff = json::diff(j, patched);
        json back = j.patch(diff);
        std::string flat = j.flatten().dump();
        std::vector<uint8_t> cbor = json::to_cbor(out), mp = json::to_msgpack(j);
        bool rt = json::from_cbor(cbor) == out && json::from_msgpack(mp) == j;
        std::string d = out.dump(i % 2 ? -1 : 2);
        bt_add(line, cap, "ptr=%s out=%zu/%016llx diff=%zu patched=%d flat=%016llx cbor=%zu msgpack=%zu rt=%d",
               j.at(json::json_pointer("/nested/a/b")).dump().c_str(), d.size(),
               (unsigned long long)bt_fnv(d.data(), d.size()), diff.size(), back == patched,
               (unsigned long long)bt_fnv(flat.data(), flat.size()), cbor.size(), mp.size(), rt);
    } catch (const json::exception &e) {
        bt_add(line, cap, "json exception %d: %s", e.id, e.what());
    }
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
