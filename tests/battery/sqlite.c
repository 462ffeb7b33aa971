/* SPDX-License-Identifier: MIT */
/* SQLite: an in-memory database per request; schema with an index,
 * prepared inserts in a transaction with bound parameters, an aggregate
 * query with GROUP BY, a LIKE filter, a JSON function, printf(), a CTE,
 * and a user-defined function. */
#include "battery.h"

#include <sqlite3.h>

static void rev(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const unsigned char *s = sqlite3_value_text(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    char *out = sqlite3_malloc(n + 1);
    for (int k = 0; k < n; k++) out[k] = (char)s[n - 1 - k];
    out[n] = 0;
    sqlite3_result_text(ctx, out, n, sqlite3_free);
}

static void request(int i, char *line, size_t cap)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        bt_add(line, cap, "open FAILED");
        sqlite3_close(db);
        return;
    }
    sqlite3_create_function(db, "rev", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, rev, NULL, NULL);
    char *err = NULL;
    sqlite3_exec(db,
                 "CREATE TABLE item(id INTEGER PRIMARY KEY, cat TEXT, name TEXT, price REAL, meta TEXT);"
                 "CREATE INDEX item_cat ON item(cat);",
                 NULL, NULL, &err);
    sqlite3_free(err);
    sqlite3_stmt *ins = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO item(cat, name, price, meta) VALUES(?1, ?2, ?3, ?4)", -1, &ins, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    int rows = 10 + i % 90;
    for (int k = 0; k < rows; k++) {
        char cat[16], name[64], meta[128];
        snprintf(cat, sizeof cat, "c%d", (i + k) % 5);
        snprintf(name, sizeof name, "item %d-%d %s", i, k, k % 3 ? "blue" : "red");
        snprintf(meta, sizeof meta, "{\"w\": %d, \"tags\": [\"t%d\", \"x\"]}", (i * k) % 17, k % 4);
        sqlite3_bind_text(ins, 1, cat, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(ins, 3, ((i * 7 + k * 3) % 1000) / 10.0);
        sqlite3_bind_text(ins, 4, meta, -1, SQLITE_TRANSIENT);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(ins);

    sqlite3_stmt *q = NULL;
    uint64_t h = 0;
    int groups = 0;
    sqlite3_prepare_v2(db,
                       "SELECT cat, count(*), round(sum(price), 1), max(json_extract(meta, '$.w')), "
                       "group_concat(rev(substr(name, 1, 6)), ',') FROM item WHERE name LIKE ?1 "
                       "GROUP BY cat ORDER BY cat",
                       -1, &q, NULL);
    sqlite3_bind_text(q, 1, i % 2 ? "%blue" : "%", -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW) {
        groups++;
        char row[512];
        snprintf(row, sizeof row, "%s|%d|%s|%d|%s", sqlite3_column_text(q, 0), sqlite3_column_int(q, 1),
                 sqlite3_column_text(q, 2), sqlite3_column_int(q, 3), sqlite3_column_text(q, 4));
        h = h * 31 + bt_fnv_str(row);
    }
    sqlite3_finalize(q);

    char *txt = NULL;
    sqlite3_prepare_v2(db,
                       "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?1) "
                       "SELECT printf('%d:%.2f:%s', count(*), avg(x), (SELECT name FROM item ORDER BY price DESC, id "
                       "LIMIT 1)) FROM n",
                       -1, &q, NULL);
    sqlite3_bind_int(q, 1, 1 + i % 50);
    if (sqlite3_step(q) == SQLITE_ROW) txt = sqlite3_mprintf("%s", sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    bt_add(line, cap, "rows=%d groups=%d hash=%016llx cte=%s changes=%d", rows, groups, (unsigned long long)h,
           txt ? txt : "FAILED", sqlite3_total_changes(db));
    sqlite3_free(txt);
    sqlite3_close(db);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    sqlite3_shutdown();
    return 0;
}
