/* SPDX-License-Identifier: MIT */
/* cJSON: parse (with an error now and then), navigate, build objects and
 * arrays, duplicate and compare, print formatted and unformatted, minify. */
#include "battery.h"

#include <cjson/cJSON.h>

static void request(int i, char *line, size_t cap)
{
    char src[4096];
    int n = snprintf(src, sizeof src, "{ \"id\" : %d,\n \"name\": \"r\\u00e9q %d\", \"vals\": [", i, i);
    for (int k = 0; k < 1 + i % 20; k++) n += snprintf(src + n, sizeof src - (size_t)n, "%s%d.%d", k ? ", " : "", k * i, k);
    n += snprintf(src + n, sizeof src - (size_t)n, "], \"obj\": {\"x\": true, \"y\": null, \"z\": \"%s\"}%s }",
                  i % 2 ? "odd" : "even", i % 31 == 4 ? "," : "");
    cJSON *root = cJSON_Parse(src);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        bt_add(line, cap, "error at offset %ld", at ? (long)(at - src) : -1L);
        return;
    }
    cJSON *vals = cJSON_GetObjectItemCaseSensitive(root, "vals");
    double sum = 0;
    cJSON *v;
    cJSON_ArrayForEach(v, vals) sum += v->valuedouble;
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "request", i);
    cJSON_AddStringToObject(out, "name", cJSON_GetObjectItem(root, "name")->valuestring);
    cJSON_AddItemToObject(out, "obj", cJSON_Duplicate(cJSON_GetObjectItem(root, "obj"), 1));
    cJSON *arr = cJSON_AddArrayToObject(out, "squares");
    for (int k = 0; k < i % 12; k++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(k * k));
    cJSON_ReplaceItemInObject(out, "request", cJSON_CreateString("replaced"));
    cJSON *dup = cJSON_Duplicate(out, 1);
    char *flat = cJSON_PrintUnformatted(out);
    char *pretty = cJSON_Print(root);
    size_t plen = strlen(pretty);
    cJSON_Minify(pretty);
    bt_add(line, cap, "vals=%d sum=%.1f equal=%d out=%s pretty=%zu minified=%016llx", cJSON_GetArraySize(vals), sum,
           cJSON_Compare(out, dup, 1), flat, plen, (unsigned long long)bt_fnv_str(pretty));
    cJSON_free(flat);
    cJSON_free(pretty);
    cJSON_Delete(dup);
    cJSON_Delete(out);
    cJSON_Delete(root);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
