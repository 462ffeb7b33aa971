/* SPDX-License-Identifier: MIT */
/* jansson: json_loads of a document built from the request number (an
 * invalid one now and then), navigation, json_pack/json_unpack, object
 * iteration, deep copy and equality, and json_dumps with sorted keys. */
#include "battery.h"

#include <jansson.h>

static void request(int i, char *line, size_t cap)
{
    char src[4096];
    int n = snprintf(src, sizeof src, "{\"id\": %d, \"name\": \"req \\u00e9 %d\", \"tags\": [", i, i);
    for (int k = 0; k < 1 + i % 15; k++) n += snprintf(src + n, sizeof src - (size_t)n, "%s\"t%d\"", k ? "," : "", k * i % 97);
    n += snprintf(src + n, sizeof src - (size_t)n, "], \"nested\": {\"a\": {\"b\": [1, 2.5, null, true, %d]}}%s}", i,
                  i % 29 == 3 ? "," : "");
    json_error_t err;
    json_t *root = json_loads(src, 0, &err);
    if (!root) {
        bt_add(line, cap, "error line %d col %d: %s", err.line, err.column, err.text);
        return;
    }
    json_t *tags = json_object_get(root, "tags");
    const char *name = json_string_value(json_object_get(root, "name"));
    int id = 0, b0 = 0;
    double b1 = 0;
    int unpacked = json_unpack(root, "{s:i, s:{s:{s:[i,f]}}}", "id", &id, "nested", "a", "b", &b0, &b1);
    json_t *built = json_pack("{s:i, s:s, s:[i,i,i], s:{s:b, s:n, s:f}}", "request", i, "echo", name, "triple", i, i * 2,
                              i * 3, "more", "odd", i % 2, "nothing", "ratio", i / 7.0);
    json_object_set(built, "tags", tags);
    for (int k = 0; k < i % 10; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%02d", (k * 7 + i) % 10);
        json_object_set_new(built, key, json_integer(k));
    }
    json_t *copy = json_deep_copy(built);
    const char *key;
    json_t *val;
    int keys = 0;
    json_object_foreach(copy, key, val) keys++;
    char *dump = json_dumps(built, JSON_SORT_KEYS | JSON_COMPACT | (i % 2 ? JSON_ENSURE_ASCII : 0));
    char *dump2 = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(2));
    bt_add(line, cap, "unpack=%d/%d/%.1f id=%d name=%s tags=%zu keys=%d equal=%d dump=%s root=%zu/%016llx", unpacked, b0, b1, id, name, json_array_size(tags),
           keys, json_equal(built, copy), dump, strlen(dump2), (unsigned long long)bt_fnv_str(dump2));
    free(dump);
    free(dump2);
    json_decref(copy);
    json_decref(built);
    json_decref(root);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
