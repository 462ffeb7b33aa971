/* SPDX-License-Identifier: MIT */
/* json-c: the incremental tokener fed in pieces (and an error now and
 * then), object and array access, building and modifying objects,
 * json_object_deep_copy / equal, and serialisation with several flags. */
#include "battery.h"

#include <json-c/json.h>

static void request(int i, char *line, size_t cap)
{
    char src[4096];
    int n = snprintf(src, sizeof src, "{\"id\": %d, \"name\": \"r\\u00e9q %d\", \"vals\": [", i, i);
    for (int k = 0; k < 1 + i % 20; k++) n += snprintf(src + n, sizeof src - (size_t)n, "%s%d.5", k ? ", " : "", k * i);
    n += snprintf(src + n, sizeof src - (size_t)n, "], \"o\": {\"t\": true, \"n\": null}%s}", i % 29 == 6 ? "," : "");
    json_tokener *tok = json_tokener_new();
    json_object *root = NULL;
    enum json_tokener_error jerr = json_tokener_continue;
    int piece = 5 + i % 30;
    for (int off = 0; off < n && jerr == json_tokener_continue; off += piece) {
        root = json_tokener_parse_ex(tok, src + off, n - off < piece ? n - off : piece);
        jerr = json_tokener_get_error(tok);
    }
    if (!root) {
        bt_add(line, cap, "parse error: %s", json_tokener_error_desc(jerr));
        json_tokener_free(tok);
        return;
    }
    json_tokener_free(tok);
    json_object *vals = NULL;
    json_object_object_get_ex(root, "vals", &vals);
    double sum = 0;
    for (size_t k = 0; k < json_object_array_length(vals); k++) sum += json_object_get_double(json_object_array_get_idx(vals, k));
    json_object *out = json_object_new_object();
    json_object_object_add(out, "request", json_object_new_int(i));
    json_object_object_add(out, "sum", json_object_new_double(sum));
    json_object_object_add(out, "vals", json_object_get(vals));
    json_object *arr = json_object_new_array();
    for (int k = 0; k < i % 8; k++) json_object_array_add(arr, json_object_new_string_len("abcdefgh", k));
    json_object_object_add(out, "strs", arr);
    json_object_object_del(root, "o");
    json_object *copy = NULL;
    json_object_deep_copy(out, &copy, NULL);
    const char *s = json_object_to_json_string_ext(out, i % 3 == 0 ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN);
    bt_add(line, cap, "sum=%.1f equal=%d root-keys=%d out=%zu/%016llx name=%s", sum, json_object_equal(out, copy),
           json_object_object_length(root), strlen(s), (unsigned long long)bt_fnv_str(s),
           json_object_get_string(json_object_object_get(root, "name")));
    json_object_put(copy);
    json_object_put(out);
    json_object_put(root);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
