/* SPDX-License-Identifier: MIT */
/* libarchive: write an archive in memory (ustar, pax, cpio newc, zip with
 * deflate, 7-Zip, or a tar through the gzip/xz/zstd filters) holding
 * files, a directory and a symlink with fixed metadata; read it back with
 * every format and filter enabled, list entries, check their contents.
 * Archives whose bytes carry the time of writing (compression filters)
 * are compared by size and content only. */
#include "battery.h"

#include <archive.h>
#include <archive_entry.h>

struct fmt {
    const char *name;
    int (*set)(struct archive *);
    int (*filter)(struct archive *);
    int stable; /* same bytes on every run */
};

static const struct fmt fmts[] = {
    {"ustar", archive_write_set_format_ustar, NULL, 1},
    {"pax", archive_write_set_format_pax_restricted, NULL, 1},
    {"cpio", archive_write_set_format_cpio_newc, NULL, 1},
    {"zip", archive_write_set_format_zip, NULL, 1},
    {"7zip", archive_write_set_format_7zip, NULL, 1},
    {"tar.gz", archive_write_set_format_gnutar, archive_write_add_filter_gzip, 0},
    {"tar.xz", archive_write_set_format_pax_restricted, archive_write_add_filter_xz, 0},
    {"tar.zst", archive_write_set_format_ustar, archive_write_add_filter_zstd, 0},
};

static void request(int i, char *line, size_t cap)
{
    static unsigned char buf[256 * 1024];
    const struct fmt *f = &fmts[i % 8];
    struct archive *a = archive_write_new();
    f->set(a);
    if (f->filter) f->filter(a);
    size_t used = 0;
    int r = archive_write_open_memory(a, buf, sizeof buf, &used);
    int files = 2 + i % 6;
    uint64_t want = 0;
    for (int k = 0; k < files && r == ARCHIVE_OK; k++) {
        char name[64], data[4096];
        snprintf(name, sizeof name, "dir%d/file-%d-%d.txt", k % 2, i, k);
        int len = 0;
        for (int m = 0; m < (k + 1) * (1 + i % 13); m++)
            len += snprintf(data + len, sizeof data - (size_t)len, "line %d of %s\n", m, name);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_size(e, len);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 1600000000 + i, 0);
        archive_entry_set_uid(e, 1000);
        archive_entry_set_gid(e, 1000);
        archive_entry_set_uname(e, "battery");
        archive_entry_set_gname(e, "battery");
        r = archive_write_header(a, e);
        if (r == ARCHIVE_OK) r = archive_write_data(a, data, (size_t)len) == len ? ARCHIVE_OK : ARCHIVE_FATAL;
        want = want * 31 + bt_fnv(data, (size_t)len);
        archive_entry_free(e);
    }
    if (r == ARCHIVE_OK && i % 2) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, "link");
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, "dir0/target");
        archive_entry_set_perm(e, 0777);
        archive_entry_set_mtime(e, 1600000000, 0);
        r = archive_write_header(a, e);
        archive_entry_free(e);
    }
    if (r == ARCHIVE_OK) r = archive_write_close(a);
    if (r != ARCHIVE_OK) bt_add(line, cap, "%s write FAILED: %s", f->name, archive_error_string(a));
    archive_write_free(a);
    if (r != ARCHIVE_OK) return;
    if (f->stable)
        bt_add(line, cap, "%s size=%zu hash=%016llx", f->name, used, (unsigned long long)bt_fnv(buf, used));
    else
        bt_add(line, cap, "%s written", f->name);

    a = archive_read_new();
    archive_read_support_format_all(a);
    archive_read_support_filter_all(a);
    r = archive_read_open_memory(a, buf, used);
    struct archive_entry *e;
    int entries = 0, links = 0;
    uint64_t got = 0;
    while (r == ARCHIVE_OK && archive_read_next_header(a, &e) == ARCHIVE_OK) {
        entries++;
        if (archive_entry_filetype(e) == AE_IFLNK) {
            links++;
            continue;
        }
        char data[4096];
        la_ssize_t n = archive_read_data(a, data, sizeof data);
        if (n >= 0) got = got * 31 + bt_fnv(data, (size_t)n);
    }
    bt_add(line, cap, " read=%s entries=%d links=%d contents=%s", archive_format_name(a), entries, links,
           got == want ? "same" : "DIFFERENT");
    archive_read_free(a);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
