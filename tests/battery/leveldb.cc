// SPDX-License-Identifier: MIT
// LevelDB: per request, a database in a fresh temporary directory with an
// LRU block cache and a Bloom filter; batched and single writes, reads,
// a snapshot, iteration over a range, deletes, a manual compaction (the
// background thread), properties; then the database is closed and
// destroyed.
#include "battery.h"

#include <memory>
#include <string>

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

static void request(int i, char *line, size_t cap)
{
    char dir[] = "/tmp/battery-leveldb-XXXXXX";
    if (!mkdtemp(dir)) {
        bt_add(line, cap, "mkdtemp FAILED");
        return;
    }
    leveldb::Options opt;
    opt.create_if_missing = true;
    opt.write_buffer_size = 64 * 1024;
    std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(256 * 1024));
    std::unique_ptr<const leveldb::FilterPolicy> bloom(leveldb::NewBloomFilterPolicy(10));
    opt.block_cache = cache.get();
    opt.filter_policy = bloom.get();
    opt.compression = i % 2 ? leveldb::kSnappyCompression : leveldb::kNoCompression;
    leveldb::DB *raw = nullptr;
    leveldb::Status s = leveldb::DB::Open(opt, dir, &raw);
    if (!s.ok()) {
        bt_add(line, cap, "open FAILED: %s", s.ToString().c_str());
        return;
    }
    std::unique_ptr<leveldb::DB> db(raw);
    int n = 50 + i % 400;
    leveldb::WriteBatch batch;
    for (int k = 0; k < n; k++) {
        char key[32];
        snprintf(key, sizeof key, "key%06d", (k * 7919 + i) % 100000);
        batch.Put(key, std::string(static_cast<size_t>(10 + k % 90), static_cast<char>('a' + k % 26)) + std::to_string(i));
    }
    s = db->Write(leveldb::WriteOptions(), &batch);
    const leveldb::Snapshot *snap = db->GetSnapshot();
    db->Put(leveldb::WriteOptions(), "extra", "after-snapshot-" + std::to_string(i));
    char gone[32];
    snprintf(gone, sizeof gone, "key%06d", i % 100000);
    db->Delete(leveldb::WriteOptions(), gone);
    std::string v1, v2;
    leveldb::ReadOptions ro;
    ro.snapshot = snap;
    bool in_snap = db->Get(ro, gone, &v1).ok();
    bool now = db->Get(leveldb::ReadOptions(), gone, &v2).ok();
    bool extra_in_snap = db->Get(ro, "extra", &v1).ok();
    db->ReleaseSnapshot(snap);
    if (i % 10 == 0) db->CompactRange(nullptr, nullptr);
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
    int walked = 0;
    uint64_t h = 0;
    for (it->Seek("key050000"); it->Valid() && it->key().ToString() < "key080000"; it->Next()) {
        walked++;
        h = h * 31 + bt_fnv(it->key().data(), it->key().size()) + bt_fnv(it->value().data(), it->value().size());
    }
    bool iter_ok = it->status().ok();
    it.reset();
    std::string files;
    db->GetProperty("leveldb.num-files-at-level0", &files);
    bt_add(line, cap, "write=%d deleted:snap=%d now=%d extra-in-snap=%d walked=%d hash=%016llx iter=%d", s.ok(), in_snap,
           now, extra_in_snap, walked, (unsigned long long)h, iter_ok);
    db.reset();
    leveldb::DestroyDB(dir, leveldb::Options());
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
