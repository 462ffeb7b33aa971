// SPDX-License-Identifier: MIT
// guard_user.cc — offheap.hpp's guards from an installed tree (link
// nothing).  Prints what it saw; tests/consumer/install.sh compares.
#include <offheap.hpp>

#include <cstdio>
#include <string>

int main()
{
    int depth = -1, owned = -1;
    {
        offheap::scope s;
        std::string text(200, 'x');
        depth = OFFHEAP_SCOPE_DEPTH();
        owned = OFFHEAP_OWNS(text.data());
    }
    std::printf("loaded %d depth %d owned %d after %d\n", offheap::loaded() ? 1 : 0, depth, owned,
                OFFHEAP_SCOPE_DEPTH());
    return 0;
}
