// SPDX-License-Identifier: MIT
// boost::regex: perl and extended syntax, icase, regex_match with
// captures, sregex_iterator over all matches, regex_replace with a format,
// regex_split-style token iteration, and a bad pattern (exception) now and
// then.
#include "battery.h"

#include <string>

#include <boost/regex.hpp>

static const char *const patterns[] = {"(\\w+)=(\\d+)", "\\b([A-Z][a-z]+)\\b", "(\\d{4})-(\\d{2})-(\\d{2})",
                                       "[[:alpha:]]+[[:digit:]]", "(a|b)*c(d|e)?", "(?<key>\\w+):(?<val>\\w+)"};

static void request(int i, char *line, size_t cap)
{
    std::string s;
    for (int k = 0; k < 2 + i % 18; k++)
        s += "Key" + std::to_string(k) + "=" + std::to_string(i * k) + " Date 20" + std::to_string(10 + k % 20) + "-0" +
             std::to_string(1 + k % 9) + "-1" + std::to_string(k % 10) + " abc" + std::to_string(i % 10) + " k:v" +
             std::to_string(k) + "; ";
    try {
        boost::regex::flag_type f = i % 5 == 0 ? boost::regex::extended : boost::regex::perl;
        if (i % 3 == 0) f |= boost::regex::icase;
        std::string pat = i % 5 == 0 ? "([a-z]+)([0-9]+)" : patterns[i % 6];
        if (i % 41 == 13) pat = "(unclosed[";
        boost::regex re(pat, f);
        int count = 0;
        uint64_t h = 0;
        for (boost::sregex_iterator it(s.begin(), s.end(), re), end; it != end; ++it) {
            count++;
            h = h * 31 + bt_fnv((*it)[0].str().data(), (*it)[0].length());
        }
        std::string rep = boost::regex_replace(s, re, i % 2 ? "[$1]" : "(?1<$1>)", i % 2 ? boost::format_perl : boost::format_all);
        boost::smatch m;
        std::string probe = "Key" + std::to_string(i) + "=" + std::to_string(i * 2);
        bool full = boost::regex_match(probe, m, boost::regex("(\\w+)=(\\d+)"));
        int tokens = 0;
        boost::regex sep("[;\\s]+");
        for (boost::sregex_token_iterator t(s.begin(), s.end(), sep, -1), e; t != e; ++t) tokens++;
        bt_add(line, cap, "pattern=%d matches=%d hash=%016llx replaced=%zu/%016llx full=%d %s tokens=%d", i % 6, count,
               (unsigned long long)h, rep.size(), (unsigned long long)bt_fnv(rep.data(), rep.size()), full,
               full ? m[1].str().c_str() : "-", tokens);
    } catch (const boost::regex_error &e) {
        bt_add(line, cap, "regex_error code=%d", static_cast<int>(e.code()));
    }
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
