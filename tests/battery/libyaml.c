/* SPDX-License-Identifier: MIT */
/* libyaml: the event parser over a document built from the request
 * number (counting events by type, hashing scalars), the document loader
 * (yaml_document_t), and the emitter writing a new document to memory. */
#include "battery.h"

#include <yaml.h>

static void request(int i, char *line, size_t cap)
{
    char doc[4096];
    int n = snprintf(doc, sizeof doc, "%%YAML 1.1\n---\nid: %d\nname: 'req %d'\nlist: [%d, %d, %d]\nmap:\n", i, i,
                     i, i * 2, i * 3);
    for (int k = 0; k < 1 + i % 12; k++)
        n += snprintf(doc + n, sizeof doc - (size_t)n, "  key%d: &a%d {x: %d, y: \"\\u00e9%d\"}\n  ref%d: *a%d\n", k, k,
                      k * i, k, k, k);
    if (i % 19 == 7) n += snprintf(doc + n, sizeof doc - (size_t)n, "bad: [1, 2\n");
    n += snprintf(doc + n, sizeof doc - (size_t)n, "...\n");

    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)doc, (size_t)n);
    int counts[YAML_MAPPING_END_EVENT + 1] = {0};
    uint64_t h = 0;
    int ok = 1;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            ok = 0;
            break;
        }
        counts[ev.type]++;
        if (ev.type == YAML_SCALAR_EVENT) h = h * 31 + bt_fnv(ev.data.scalar.value, ev.data.scalar.length);
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (done) break;
    }
    if (ok)
        bt_add(line, cap, "events scalar=%d alias=%d map=%d seq=%d scalars=%016llx", counts[YAML_SCALAR_EVENT],
               counts[YAML_ALIAS_EVENT], counts[YAML_MAPPING_START_EVENT], counts[YAML_SEQUENCE_START_EVENT],
               (unsigned long long)h);
    else
        bt_add(line, cap, "parse error '%s' at line %zu", p.problem ? p.problem : "?", p.problem_mark.line);
    yaml_parser_delete(&p);

    /* The loader, then emit a new document from its nodes. */
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)doc, (size_t)n);
    yaml_document_t d;
    if (yaml_parser_load(&p, &d)) {
        int nodes = 0;
        while (yaml_document_get_node(&d, nodes + 1)) nodes++;
        yaml_document_delete(&d);
        bt_add(line, cap, " nodes=%d", nodes);
    } else {
        bt_add(line, cap, " load failed");
    }
    yaml_parser_delete(&p);

    unsigned char out[4096];
    size_t written = 0;
    yaml_emitter_t em;
    yaml_emitter_initialize(&em);
    yaml_emitter_set_output_string(&em, out, sizeof out, &written);
    yaml_emitter_set_unicode(&em, 1);
    yaml_event_t ev;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    ok = yaml_emitter_emit(&em, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, i % 2 ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
    ok = ok && yaml_emitter_emit(&em, &ev);
    for (int k = 0; k < 2 + i % 7; k++) {
        char key[32], val[64];
        snprintf(key, sizeof key, "k%d", k);
        snprintf(val, sizeof val, "value %d \xc3\xa9 %s", i * k, k % 2 ? "a: b" : "plain");
        yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)key, -1, 1, 1, YAML_ANY_SCALAR_STYLE);
        ok = ok && yaml_emitter_emit(&em, &ev);
        yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)val, -1, 1, 1, YAML_ANY_SCALAR_STYLE);
        ok = ok && yaml_emitter_emit(&em, &ev);
    }
    yaml_mapping_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_document_end_event_initialize(&ev, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_stream_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_emitter_delete(&em);
    bt_add(line, cap, " emitted=%s/%zu/%016llx", ok ? "ok" : "FAILED", written, (unsigned long long)bt_fnv(out, written));
}

int main(int argc, char **argv)
{
    bt_run(argc, argv, BT_THREADS, request);
    return 0;
}
