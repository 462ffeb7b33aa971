// SPDX-License-Identifier: MIT
// RE2: compile patterns per request (with options), FullMatch and
// PartialMatch with typed captures, FindAndConsume over a subject,
// GlobalReplace, Extract, QuoteMeta, and an RE2::Set.
#include "battery.h"

#include <string>

#include <re2/re2.h>
#include <re2/set.h>

static void request(int i, char *line, size_t cap)
{
    std::string subject;
    for (int k = 0; k < 3 + i % 25; k++)
        subject += "user" + std::to_string(k) + "@host" + std::to_string(i % 7) + ".example id=" + std::to_string(i * 31 + k) +
                   " caf\xc3\xa9 ";
    RE2::Options opt;
    opt.set_case_sensitive(i % 3 != 0);
    opt.set_longest_match(i % 4 == 0);
    RE2 email("(\\w+)@(\\w+)\\.example", opt);
    RE2 idre("id=(\\d+)");
    RE2 full("(\\w+)-(\\d+)");
    std::string user, host;
    int n = 0;
    bool pm = RE2::PartialMatch(subject, email, &user, &host);
    std::string fs = "item-" + std::to_string(i);
    std::string w;
    int num = -1;
    bool fm = RE2::FullMatch(fs, full, &w, &num);
    re2::StringPiece in(subject);
    long long sum = 0;
    int id;
    while (RE2::FindAndConsume(&in, idre, &id)) {
        sum += id;
        n++;
    }
    std::string replaced = subject;
    int reps = RE2::GlobalReplace(&replaced, email, "<\\2:\\1>");
    std::string extracted;
    RE2::Extract(subject, idre, "#\\1", &extracted);
    std::string quoted = RE2::QuoteMeta("a.b*c" + std::to_string(i));
    RE2::Set set(RE2::DefaultOptions, RE2::UNANCHORED);
    set.Add("host[0-3]", nullptr);
    set.Add("id=\\d*7\\b", nullptr);
    set.Add("caf\xc3\xa9", nullptr);
    set.Add("z{3}", nullptr);
    std::vector<int> hits;
    bool compiled = set.Compile();
    if (compiled) set.Match(subject, &hits);
    std::string hs;
    for (int h : hits) hs += std::to_string(h);
    // Named groups: one pattern has some, idre has none (RE2 hands back
    // a shared empty map for those).
    RE2 named("(?P<user>\\w+)@(?P<host>\\w+)");
    size_t groups = named.NamedCapturingGroups().size() * 10 + idre.NamedCapturingGroups().size() +
                    idre.CapturingGroupNames().size() * 100;
    bt_add(line, cap, "partial=%d %s@%s full=%d %s/%d ids=%d sum=%lld reps=%d replaced=%016llx extract=%s quoted=%s set=%s named=%zu",
           pm, user.c_str(), host.c_str(), fm, w.c_str(), num, n, sum, reps,
           (unsigned long long)bt_fnv(replaced.data(), replaced.size()), extracted.c_str(), quoted.c_str(),
           compiled ? hs.c_str() : "FAILED", groups);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
