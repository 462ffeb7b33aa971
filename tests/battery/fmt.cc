// SPDX-License-Identifier: MIT
// {fmt}: format with positional and named arguments, widths, precision,
// floating point (shortest and fixed), hex/binary, containers via
// fmt/ranges, format_to a memory_buffer, dynamic format strings
// (vformat), a format error now and then, and locale-aware 'L' output.
#include "battery.h"

#include <map>
#include <string>
#include <vector>

#include <fmt/args.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

static void request(int i, char *line, size_t cap)
{
    std::string a = fmt::format("{0}-{1}-{0} {2:>8.3f} {3:#x} {3:#b} {4:e} {5}", i, "req", i / 7.0, i * 37, i * 1e10,
                                1.0 / (i + 1));
    std::string b = fmt::format("{name:*^20} {value:+d}", fmt::arg("name", "n" + std::to_string(i)), fmt::arg("value", -i));
    std::vector<int> v;
    for (int k = 0; k < i % 10; k++) v.push_back(k * i);
    std::map<std::string, double> m{{"x", i * 0.5}, {"y", i * 0.25}};
    std::string c = fmt::format("{} {} {:n}", v, m, std::vector<std::string>{"a", "b"});
    fmt::memory_buffer buf;
    for (int k = 0; k < 5 + i % 50; k++) fmt::format_to(std::back_inserter(buf), "[{:03}]", k);
    fmt::dynamic_format_arg_store<fmt::format_context> store;
    store.push_back(i);
    store.push_back(std::string("dyn"));
    std::string d = fmt::vformat(i % 2 ? "{1}:{0:>6}" : "{0:<6}|{1}", store);
    std::string e;
    try {
        e = fmt::vformat(i % 13 == 5 ? "{:d}" : "{}", fmt::make_format_args("text"));
    } catch (const fmt::format_error &err) {
        e = std::string("format_error: ") + err.what();
    }
    std::string l = fmt::format(std::locale::classic(), "{:L}", 1234567 + i);
    bt_add(line, cap, "%s | %s | %s | buf=%zu/%016llx | %s | %s | %s", a.c_str(), b.c_str(), c.c_str(), buf.size(),
           (unsigned long long)bt_fnv(buf.data(), buf.size()), d.c_str(), e.c_str(), l.c_str());
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
