// SPDX-License-Identifier: MIT
// plugin_cxx.cc — a small C++ shared library that C programs dlopen: its
// operator new calls must reach liboffheap even though neither the program
// nor this library links it (and libstdc++/jemalloc export their own).
#include <cstddef>
#include <cstring>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {

__attribute__((visibility("default"))) void *plug_new(std::size_t n)
{
    char *p = new char[n];
    std::memset(p, 0x3c, n);
    return p;
}

__attribute__((visibility("default"))) void plug_delete(void *p)
{
    delete[] static_cast<char *>(p);
}

__attribute__((visibility("default"))) void *plug_new_aligned(std::size_t n, std::size_t align)
{
    return ::operator new(n, std::align_val_t(align));
}

__attribute__((visibility("default"))) void plug_delete_aligned(void *p, std::size_t align)
{
    ::operator delete(p, std::align_val_t(align));
}

// Containers and an exception round trip; returns a checksum.
__attribute__((visibility("default"))) long plug_work(int n)
{
    std::vector<std::string> v;
    std::map<std::string, int> m;
    for (int i = 0; i < n; i++) {
        v.push_back("item-" + std::to_string(i) + std::string(40, 'x'));
        m[v.back()] = i;
    }
    long sum = 0;
    for (auto &kv : m) sum += kv.second * (long)kv.first.size();
    try {
        throw std::runtime_error("plugin exception " + std::to_string(n));
    } catch (const std::exception &e) {
        sum += (long)std::strlen(e.what());
    }
    return sum;
}

// A std::string whose characters are on the heap (or in the scope).
__attribute__((visibility("default"))) void *plug_string_new(void)
{
    return new std::string(200, 's');
}

__attribute__((visibility("default"))) const void *plug_string_data(void *s)
{
    return static_cast<std::string *>(s)->data();
}

__attribute__((visibility("default"))) void plug_string_delete(void *s)
{
    delete static_cast<std::string *>(s);
}
}
