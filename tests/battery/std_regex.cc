// SPDX-License-Identifier: MIT
// std::regex (libstdc++): ECMAScript and extended syntax, icase,
// regex_match with captures, sregex_iterator over all matches,
// regex_replace, sregex_token_iterator splitting, and a bad pattern
// (exception) now and then.
#include "battery.h"

#include <string>

#include <regex>

static const char *const patterns[] = {"(\\w+)=(\\d+)", "\\b([A-Z][a-z]+)\\b", "(\\d{4})-(\\d{2})-(\\d{2})",
                                       "[[:alpha:]]+[[:digit:]]", "(a|b)*c(d|e)?", "(\\w+):(\\w+)"};

static void request(int i, char *line, size_t cap)
{
    std::string s;
    for (int k = 0; k < 2 + i % 18; k++)
        s += "Key" + std::to_string(k) + "=" + std::to_string(i * k) + " Date 20" + std::to_string(10 + k % 20) + "-0" +
             std::to_string(1 + k % 9) + "-1" + std::to_string(k % 10) + " abc" + std::to_string(i % 10) + " k:v" +
             std::to_string(k) + "; ";
    try {
        std::regex::flag_type f = i % 5 == 0 ? std::regex::extended : std::regex::ECMAScript;
        if (i % 3 == 0) f |= std::regex::icase;
        std::string pat = i % 5 == 0 ? "([a-z]+)([0-9]+)" : patterns[i % 6];
        if (i % 41 == 13) pat = "(unclosed[";
        std::regex re(pat, f);
        int count = 0;
        uint64_t h = 0;
        for (std::sregex_iterator it(s.begin(), s.end(), re), end; it != end; ++it) {
            count++;
            h = h * 31 + bt_fnv((*it)[0].str().data(), (*it)[0].length());
        }
        std::string rep = std::regex_replace(s, re, i % 2 ? "[$1]" : "<$&>", i % 2 ? std::regex_constants::format_default : std::regex_constants::format_first_only);
        std::smatch m;
        std::string probe = "Key" + std::to_string(i) + "=" + std::to_string(i * 2);
        bool full = std::regex_match(probe, m, std::regex("(\\w+)=(\\d+)"));
        int tokens = 0;
        std::regex sep("[;\\s]+");
        for (std::sregex_token_iterator t(s.begin(), s.end(), sep, -1), e; t != e; ++t) tokens++;
        bt_add(line, cap, "pattern=%d matches=%d hash=%016llx replaced=%zu/%016llx full=%d %s tokens=%d", i % 6, count,
               (unsigned long long)h, rep.size(), (unsigned long long)bt_fnv(rep.data(), rep.size()), full,
               full ? m[1].str().c_str() : "-", tokens);
    } catch (const std::regex_error &e) {
        bt_add(line, cap, "regex_error code=%d", static_cast<int>(e.code()));
    }
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
