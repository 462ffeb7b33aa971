/* SPDX-License-Identifier: MIT */
/* libpng: write an image (grey, RGB or RGBA with alpha, 8 or 16 bits,
 * interlaced or not, with text chunks) to memory through a write callback,
 * then read it back through a read callback with transformations, and
 * compare pixels.  Errors use libpng's setjmp path. */
#include "battery.h"

#include <png.h>

struct mem {
    unsigned char *data;
    size_t len, cap, pos;
};

static void mem_write(png_structp png, png_bytep p, png_size_t n)
{
    struct mem *m = png_get_io_ptr(png);
    if (m->len + n > m->cap) {
        size_t nc = (m->cap ? m->cap * 2 : 4096) + n;
        unsigned char *d = realloc(m->data, nc);
        if (!d) png_error(png, "out of memory");
        m->data = d;
        m->cap = nc;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

static void mem_read(png_structp png, png_bytep p, png_size_t n)
{
    struct mem *m = png_get_io_ptr(png);
    if (m->pos + n > m->len) png_error(png, "read past end");
    memcpy(p, m->data + m->pos, n);
    m->pos += n;
}

static void request(int i, char *line, size_t cap)
{
    static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    int type = types[i % 3], depth = i % 4 == 3 ? 16 : 8, channels = type == PNG_COLOR_TYPE_GRAY ? 1 : type == PNG_COLOR_TYPE_RGB ? 3 : 4;
    png_uint_32 w = 8 + (png_uint_32)i % 57, h = 5 + (png_uint_32)(i * 7) % 43;
    size_t rowbytes = (size_t)w * (size_t)channels * (size_t)(depth / 8);
    unsigned char *pix = malloc(rowbytes * h), *back = malloc(rowbytes * h);
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; y++) {
        rows[y] = pix + y * rowbytes;
        for (size_t x = 0; x < rowbytes; x++) rows[y][x] = (unsigned char)((x * 3 + y * 5 + (size_t)i) ^ (x * y));
    }
    struct mem m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    volatile int ok = 1;
    if (setjmp(png_jmpbuf(png))) {
        ok = 0;
    } else {
        png_set_write_fn(png, &m, mem_write, mem_flush);
        png_set_IHDR(png, info, w, h, depth, type, i % 5 == 0 ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_set_compression_level(png, i % 10);
        png_text text[2];
        memset(text, 0, sizeof text);
        char num[32];
        snprintf(num, sizeof num, "request %d", i);
        text[0].compression = PNG_TEXT_COMPRESSION_NONE;
        text[0].key = "Title";
        text[0].text = num;
        text[1].compression = PNG_TEXT_COMPRESSION_zTXt;
        text[1].key = "Comment";
        text[1].text = "written by the liboffheap battery, compressed text chunk";
        png_set_text(png, info, text, 2);
        png_write_info(png, info);
        if (depth == 16) png_set_swap(png);
        png_write_image(png, rows);
        png_write_end(png, info);
    }
    png_destroy_write_struct(&png, &info);
    if (!ok) {
        bt_add(line, cap, "write FAILED");
        goto out;
    }
    bt_add(line, cap, "%ux%u type=%d depth=%d png=%zu/%016llx", w, h, type, depth, m.len,
           (unsigned long long)bt_fnv(m.data, m.len));

    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        ok = 0;
    } else {
        png_set_read_fn(png, &m, mem_read);
        png_read_info(png, info);
        if (depth == 16) png_set_swap(png);
        png_set_interlace_handling(png);
        png_read_update_info(png, info);
        for (png_uint_32 y = 0; y < h; y++) rows[y] = back + y * rowbytes;
        png_read_image(png, rows);
        png_read_end(png, info);
        png_textp t = NULL;
        int nt = png_get_text(png, info, &t, NULL);
        bt_add(line, cap, " read=%ux%u texts=%d title='%s' pixels=%s", png_get_image_width(png, info),
               png_get_image_height(png, info), nt, nt > 0 ? t[0].text : "",
               memcmp(pix, back, rowbytes * h) == 0 ? "same" : "DIFFERENT");
    }
    png_destroy_read_struct(&png, &info, NULL);
    if (!ok) bt_add(line, cap, " read FAILED");
out:
    free(m.data);
    free(rows);
    free(pix);
    free(back);
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
