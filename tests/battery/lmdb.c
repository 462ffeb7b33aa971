/* SPDX-License-Identifier: MIT */
/* LMDB: per request, an environment in a fresh temporary directory with
 * two named databases (one DUPSORT), a write transaction of puts, a read
 * transaction with gets and cursor walks (ranges, duplicates), a delete,
 * stats; then the environment is closed and its files removed. */
#include "battery.h"

#include <lmdb.h>
#include <unistd.h>

static void request(int i, char *line, size_t cap)
{
    char dir[] = "/tmp/battery-lmdb-XXXXXX";
    if (!mkdtemp(dir)) {
        bt_add(line, cap, "mkdtemp FAILED");
        return;
    }
    MDB_env *env = NULL;
    int rc = mdb_env_create(&env);
    if (!rc) rc = mdb_env_set_maxdbs(env, 4);
    if (!rc) rc = mdb_env_set_mapsize(env, 4u << 20);
    if (!rc) rc = mdb_env_open(env, dir, MDB_NOSYNC | (i % 2 ? MDB_NOTLS : 0), 0600);
    if (rc) {
        bt_add(line, cap, "open FAILED: %s", mdb_strerror(rc));
        goto out;
    }
    MDB_txn *txn;
    MDB_dbi db, dups;
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, "main", MDB_CREATE, &db);
    mdb_dbi_open(txn, "dups", MDB_CREATE | MDB_DUPSORT, &dups);
    int n = 20 + i % 200;
    for (int k = 0; k < n; k++) {
        char ks[32], vs[64];
        snprintf(ks, sizeof ks, "key%06d", (k * 7919 + i) % 100000);
        int vl = snprintf(vs, sizeof vs, "value %d of request %d", k, i);
        MDB_val key = {strlen(ks), ks}, val = {(size_t)vl, vs};
        mdb_put(txn, db, &key, &val, 0);
        char ds[16];
        snprintf(ds, sizeof ds, "d%03d", k % 10);
        MDB_val dk = {4, "tags"}, dv = {strlen(ds), ds};
        mdb_put(txn, dups, &dk, &dv, 0);
    }
    char first[32];
    snprintf(first, sizeof first, "key%06d", i % 100000);
    MDB_val fk = {strlen(first), first};
    int del = mdb_del(txn, db, &fk, NULL);
    rc = mdb_txn_commit(txn);

    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    MDB_cursor *cur;
    mdb_cursor_open(txn, db, &cur);
    MDB_val key, val;
    uint64_t h = 0;
    int walked = 0;
    char from[32];
    snprintf(from, sizeof from, "key%06d", 50000);
    key.mv_data = from;
    key.mv_size = strlen(from);
    for (int op = MDB_SET_RANGE; mdb_cursor_get(cur, &key, &val, (MDB_cursor_op)op) == 0; op = MDB_NEXT) {
        walked++;
        h = h * 31 + bt_fnv(key.mv_data, key.mv_size) + bt_fnv(val.mv_data, val.mv_size);
    }
    mdb_cursor_close(cur);
    mdb_cursor_open(txn, dups, &cur);
    size_t ndup = 0;
    MDB_val dk = {4, "tags"};
    if (mdb_cursor_get(cur, &dk, &val, MDB_SET) == 0) mdb_cursor_count(cur, &ndup);
    mdb_cursor_close(cur);
    MDB_stat st;
    mdb_stat(txn, db, &st);
    mdb_txn_abort(txn);
    bt_add(line, cap, "commit=%d del=%d entries=%zu walked=%d hash=%016llx dups=%zu depth=%u", rc, del, st.ms_entries,
           walked, (unsigned long long)h, ndup, st.ms_depth);
    mdb_dbi_close(env, db);
    mdb_dbi_close(env, dups);
out:
    mdb_env_close(env);
    char path[64];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
