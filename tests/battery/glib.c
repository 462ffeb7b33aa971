/* SPDX-License-Identifier: MIT */
/* GLib: GHashTable, GString, g_slice_alloc/free, GRegex (match + replace),
 * GVariant (build, print, parse), g_strsplit/g_strjoinv, GQueue/GList
 * sorting, GChecksum, base64, UTF-8 case functions, GKeyFile, markup
 * escaping, interned strings (quarks), and a UTC GDateTime.  Also built
 * with 3 threads. */
#include "battery.h"

#include <glib.h>

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(a, b);
}

static gint cmp_str_data(gconstpointer a, gconstpointer b, gpointer data)
{
    (void)data;
    return strcmp(a, b);
}

static void request(int i, char *line, size_t cap)
{
    /* Words from the request number. */
    GString *text = g_string_new(NULL);
    int n = 5 + i % 40;
    for (int k = 0; k < n; k++) g_string_append_printf(text, "%sw%d_%c", k ? "," : "", (i * 31 + k * 7) % 53, 'a' + k % 26);
    gchar **parts = g_strsplit(text->str, ",", -1);

    GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (gchar **p = parts; *p; p++) {
        gpointer old = g_hash_table_lookup(counts, *p);
        g_hash_table_replace(counts, g_strdup(*p), GINT_TO_POINTER(GPOINTER_TO_INT(old) + 1));
    }
    GList *keys = g_list_sort(g_hash_table_get_keys(counts), cmp_str);
    GString *joined = g_string_new(NULL);
    for (GList *l = keys; l; l = l->next)
        g_string_append_printf(joined, "%s=%d;", (char *)l->data, GPOINTER_TO_INT(g_hash_table_lookup(counts, l->data)));
    bt_add(line, cap, "distinct=%u joined=%016llx", g_hash_table_size(counts), (unsigned long long)bt_fnv_str(joined->str));
    g_list_free(keys);
    g_hash_table_destroy(counts);

    /* Slices. */
    gsize sizes[] = {8, 24, 64, 200, 1000};
    gpointer blocks[20];
    for (int k = 0; k < 20; k++) {
        blocks[k] = g_slice_alloc0(sizes[(i + k) % 5]);
        memset(blocks[k], k, sizes[(i + k) % 5]);
    }
    int sum = 0;
    for (int k = 0; k < 20; k++) {
        sum += ((unsigned char *)blocks[k])[0];
        g_slice_free1(sizes[(i + k) % 5], blocks[k]);
    }
    bt_add(line, cap, " slices=%d", sum);

    /* Regex. */
    GError *err = NULL;
    GRegex *re = g_regex_new(i % 2 ? "w(\\d+)_([a-e])" : "(?<num>\\d{2})_(?<ch>[m-z])", G_REGEX_OPTIMIZE, 0, &err);
    if (re) {
        GMatchInfo *mi = NULL;
        int matches = 0;
        g_regex_match(re, text->str, 0, &mi);
        while (g_match_info_matches(mi)) {
            matches++;
            g_match_info_next(mi, NULL);
        }
        g_match_info_free(mi);
        gchar *rep = g_regex_replace(re, text->str, -1, 0, "<\\2\\1>", 0, NULL);
        bt_add(line, cap, " regex=%d/%016llx", matches, (unsigned long long)bt_fnv_str(rep));
        g_free(rep);
        g_regex_unref(re);
    } else {
        bt_add(line, cap, " regex FAILED: %s", err->message);
        g_error_free(err);
    }

    /* GVariant: build, print, parse back. */
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    g_variant_builder_add(&b, "{sv}", "id", g_variant_new_int32(i));
    g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(parts[0]));
    g_variant_builder_add(&b, "{sv}", "parts", g_variant_new_strv((const gchar *const *)parts, -1));
    g_variant_builder_add(&b, "{sv}", "ratio", g_variant_new_double(i / 8.0));
    GVariant *v = g_variant_ref_sink(g_variant_builder_end(&b));
    gchar *printed = g_variant_print(v, TRUE);
    GVariant *back = g_variant_parse(NULL, printed, NULL, NULL, NULL);
    gsize vsize = g_variant_get_size(v);
    bt_add(line, cap, " variant=%zu/%016llx equal=%d", (size_t)vsize, (unsigned long long)bt_fnv_str(printed),
           back ? g_variant_equal(v, back) : -1);
    if (back) g_variant_unref(back);
    g_free(printed);
    g_variant_unref(v);

    /* Queue sorting and strjoinv. */
    GQueue *q = g_queue_new();
    for (gchar **p = parts; *p; p++) g_queue_push_tail(q, *p);
    g_queue_sort(q, cmp_str_data, NULL);
    bt_add(line, cap, " first=%s last=%s", (char *)g_queue_peek_head(q), (char *)g_queue_peek_tail(q));
    g_queue_free(q);
    gchar *rejoined = g_strjoinv("|", parts);
    g_strfreev(parts);

    /* Checksums, base64, UTF-8, markup, key file. */
    gchar *sha = g_compute_checksum_for_string(i % 2 ? G_CHECKSUM_SHA256 : G_CHECKSUM_MD5, rejoined, -1);
    gchar *b64 = g_base64_encode((const guchar *)rejoined, strlen(rejoined) < 24 ? strlen(rejoined) : 24);
    gchar *upper = g_utf8_strup("stra\xc3\x9f" "e \xc3\xa9t\xc3\xa9 \xce\xb1\xce\xb2", -1);
    gchar *esc = g_markup_printf_escaped("<a href='%s'>%d & more</a>", rejoined, i);
    bt_add(line, cap, " sha=%.16s b64=%s upper=%s esc=%zu", sha, b64, upper, strlen(esc));
    g_free(sha);
    g_free(b64);
    g_free(upper);
    g_free(esc);
    g_free(rejoined);

    GKeyFile *kf = g_key_file_new();
    gchar *ini = g_strdup_printf("[main]\nid=%d\nname=req%d\nlist=a;b;c;%d\n[extra]\nflag=%s\n", i, i, i % 7,
                                 i % 2 ? "true" : "false");
    if (g_key_file_load_from_data(kf, ini, (gsize)-1, G_KEY_FILE_NONE, NULL)) {
        gsize ln = 0;
        gchar **list = g_key_file_get_string_list(kf, "main", "list", &ln, NULL);
        bt_add(line, cap, " ini=%d/%zu/%d", g_key_file_get_integer(kf, "main", "id", NULL), (size_t)ln,
               g_key_file_get_boolean(kf, "extra", "flag", NULL));
        g_strfreev(list);
    }
    g_key_file_free(kf);
    g_free(ini);

    /* Interned strings live for the process: that is their contract. */
    gchar qname[32];
    g_snprintf(qname, sizeof qname, "battery-quark-%d", i % 50);
    GQuark qk = g_quark_from_string(qname);
    bt_add(line, cap, " quark=%s", g_quark_to_string(qk));
    bt_add(line, cap, " intern=%s", g_intern_string(qname) == g_intern_string(qname) ? "same" : "DIFFERENT");

    GDateTime *dt = g_date_time_new_utc(2000 + i % 30, 1 + i % 12, 1 + i % 28, i % 24, i % 60, 0);
    gchar *iso = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S %j %A");
    bt_add(line, cap, " date=%s", iso);
    g_free(iso);
    g_date_time_unref(dt);

    g_string_free(joined, TRUE);
    g_string_free(text, TRUE);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
