#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tables, ratios and goal checks of a scripts/bench.sh run.

usage: report.py OUTDIR

Reads OUTDIR/results.tsv (column, round, program, case, metric, value: one
line per RESULT line a benchmark printed, tagged by the script with the
allocator or variant it ran as and the interleaving round) and, when
present, OUTDIR/callgrind.tsv (column, program, case, ops, Ir).  Prints the
tables to stdout and writes OUTDIR/requests.dat for gnuplot.  Every figure is
a median over the interleaved rounds; nothing here is invented: a missing
column is printed as '-'.

Reference columns (not allocators anyone would use): "floor" is the
request loop / JSON programs under bench/floor_preload.c, the cheapest
in-scope malloc an LD_PRELOAD library can have, and "shim" the stress
programs under bench/shim_preload.c, a bare tail jump to jemalloc.  They
bound what ANY preload or interposer can reach: the LIMIT lines and the
goals table at the end say whether a goal is reachable at all.
"liboffheap-armed" is liboffheap on `stress --armed` (one empty scope before
the loop: a process that uses scopes, measured outside them).
"""
import collections
import math
import os
import statistics
import sys

PEERS = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]
ORDER = PEERS + ["shim", "liboffheap", "liboffheap-armed", "miheap", "floor", "bump"]

# The goals table printed last: key -> {"target", "cmp", "ref", "vals": {measure: value}}.
# measure is "wall", "cpu" or "Ir"; ref rows are the reference preloads.
GOALS = collections.OrderedDict()


def load(outdir):
    data = collections.defaultdict(list)  # (col, prog, case, metric) -> [values in round order]
    rounds = collections.defaultdict(dict)  # (col, prog, case, metric) -> {round: value}
    path = os.path.join(outdir, "results.tsv")
    if not os.path.exists(path):
        return data, rounds
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            col, rnd, prog, case, metric, value = parts
            try:
                v = float(value)
            except ValueError:
                continue
            data[(col, prog, case, metric)].append(v)
            rounds[(col, prog, case, metric)][rnd] = v
    return data, rounds


def med(data, col, prog, case, metric):
    v = data.get((col, prog, case, metric))
    return statistics.median(v) if v else None


def pooled_med(data, prog, case, metric):
    """Median over the runs of every column (figures that do not depend on
    the preloaded allocator, such as the Pool's)."""
    v = [x for k, vs in data.items() if k[1:] == (prog, case, metric) for x in vs]
    return statistics.median(v) if v else None


def cases_of(data, prog):
    """The program's cases, in the order they were first reported."""
    cases = []
    for k in data:
        if k[1] == prog and k[2] not in cases:
            cases.append(k[2])
    return cases


def fmt(v, spec="{:,.0f}"):
    return "-" if v is None else spec.format(v)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def cols_present(data, prog):
    present = {k[0] for k in data if k[1] == prog}
    return [c for c in ORDER if c in present] + sorted(present - set(ORDER))


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    line = "  ".join(str(h).rjust(w) if i else str(h).ljust(w) for i, (h, w) in enumerate(zip(headers, widths)))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()


def meets(value, target, cmp):
    return value >= target if cmp == ">=" else value <= target


def record(key, measure, value, target=None, cmp=None, ref=None, unit="x"):
    """Remember a figure for the goals table (ref: None for a goal, else the
    'any preload' / 'any interposer' a LIMIT row bounds, or '' for a plain
    reference ratio)."""
    g = GOALS.setdefault(key, {"target": target, "cmp": cmp, "ref": ref, "unit": unit, "vals": {}})
    if value is not None:
        g["vals"][measure] = value


def goal(name, value, target, cmp, unit="x", key=None, measure=None):
    if key is not None:
        record(key, measure, value, target, cmp, unit=unit)
    if value is None:
        print(f"  GOAL {name}: not measured (target {cmp} {target}{unit})")
        return
    ok = meets(value, target, cmp)
    print(f"  GOAL {name}: {value:.3f}{unit} (target {cmp} {target}{unit}) -> {'MET' if ok else 'MISSED'}")


def limit(name, value, target, cmp, who, key, measure, goalname):
    """A ratio of a reference preload: the best ANY preload can do.  When it
    misses the goal's target, the goal is physically unreachable that way."""
    record(key, measure, value, target, cmp, ref=who)
    if value is None:
        return
    if target is None:
        print(f"  REF  {name}: {value:.3f}x")
        return
    verdict = ("reachable" if meets(value, target, cmp) else "UNREACHABLE") + f" by {who}"
    print(f"  LIMIT {name}: {value:.3f}x -> goal '{goalname}' ({cmp} {target}x): {verdict}")


def nrounds(data, prog):
    return max((len(v) for k, v in data.items() if k[1] == prog), default=0)


LABEL = {"miheap": "mi-heap/req", "bump": "bump (limit)", "floor": "preload floor"}


def report_request(data):
    prog = "request"
    cols = cols_present(data, prog)
    if not cols:
        return
    print(f"## Request loop (200 small + 2 x 64 KiB blocks per request), median of {nrounds(data, prog)} interleaved runs\n")
    print("req/s: wall clock; req/cpu-s: requests per second of process CPU time (less disturbed by the")
    print("other processes sharing the 2 cores).\n")
    rows = []
    for c in cols:
        r = [c]
        for t in ("t1", "t2"):
            r.append(fmt(med(data, c, prog, t, "req_per_s")))
            r.append(fmt(med(data, c, prog, t, "req_per_cpu_s")))
            r.append(fmt(med(data, c, prog, t, "peak_rss_kib")))
            r.append(fmt(med(data, c, prog, t, "faults_per_req"), "{:.2f}"))
        rows.append(r)
    table(["allocator", "req/s 1 thr", "req/cpu-s", "peak RSS KiB", "faults/req",
           "req/s 2 thr", "req/cpu-s", "peak RSS KiB", "faults/req"], rows)
    with open(os.path.join(OUTDIR, "requests.dat"), "w") as f:
        f.write("# allocator, medians: req/s 1 thread, req/s 2 threads, req per CPU-s 1 thread, 2 threads\n")
        for c in cols:
            v = [med(data, c, prog, t, m) for m in ("req_per_s", "req_per_cpu_s") for t in ("t1", "t2")]
            f.write(f"\"{LABEL.get(c, c)}\" " + " ".join(f"{x if x is not None else 0:.0f}" for x in v) + "\n")
    for t in ("t1", "t2"):
        for metric, what in (("req_per_s", "wall"), ("req_per_cpu_s", "cpu")):
            off = med(data, "liboffheap", prog, t, metric)
            peers = {c: med(data, c, prog, t, metric) for c in PEERS + ["miheap"]}
            peers = {c: v for c, v in peers.items() if v is not None}
            bump = med(data, "bump", prog, t, metric)
            if not peers:
                continue
            best = max(peers, key=peers.get)
            print(f"  {t} {what}: liboffheap / peer: " +
                  ", ".join(f"{c} {fmt(ratio(off, v), '{:.2f}')}x" for c, v in peers.items()) +
                  f"; bump / best peer = {fmt(ratio(bump, peers[best]), '{:.2f}')}x")
            goal(f"request loop {t} ({what}): liboffheap / best peer ({best})", ratio(off, peers[best]), 2.0, ">=",
                 key=f"request loop, {t}: liboffheap / best peer", measure=what)
            goal(f"request loop {t} ({what}): bump / liboffheap", ratio(bump, off), 1.3, "<=",
                 key=f"request loop, {t}: bump / liboffheap", measure=what)
            flo = med(data, "floor", prog, t, metric)
            if flo is not None:
                limit(f"request loop {t} ({what}): bump / floor (the limit of any preload)", ratio(bump, flo),
                      1.3, "<=", "any preload", f"request loop, {t}: bump / floor (the limit of any preload)",
                      what, "bump / liboffheap")
                limit(f"request loop {t} ({what}): liboffheap / floor", ratio(off, flo), None, None, "",
                      f"request loop, {t}: liboffheap / floor", what, "")
    print()


def round1(rounds, col, prog, case, metric):
    return rounds.get((col, prog, case, metric), {}).get("1")


def report_json(data, rounds):
    prog = "json"
    cols = cols_present(data, prog)
    if not cols:
        return
    print(f"## Real library per request (~4 KiB JSON), median of {nrounds(data, prog)} interleaved runs\n")
    rows = []
    for c in cols:
        rows.append([c,
                     fmt(med(data, c, prog, "cjson", "req_per_s")),
                     fmt(med(data, c, prog, "cjson", "req_per_cpu_s")),
                     fmt(med(data, c, prog, "jansson", "req_per_s")),
                     fmt(med(data, c, prog, "jansson", "req_per_cpu_s")),
                     "/".join(fmt(round1(rounds, c, prog, "cjson", m)) for m in
                              ("rss_start_kib", "rss_mid_kib", "rss_end_kib")),
                     fmt(round1(rounds, c, prog, "cjson", "peak_rss_kib"))])
    table(["allocator", "cJSON req/s", "req/cpu-s", "jansson req/s", "req/cpu-s",
           "cJSON RSS start/mid/end KiB (round 1)", "peak KiB"], rows)
    for lib in ("cjson", "jansson"):
        for metric, what in (("req_per_s", "wall"), ("req_per_cpu_s", "cpu")):
            off = med(data, "liboffheap", prog, lib, metric)
            peers = {c: med(data, c, prog, lib, metric) for c in PEERS}
            peers = {c: v for c, v in peers.items() if v is not None}
            if not peers:
                continue
            best = max(peers, key=peers.get)
            print(f"  {lib} {what}: liboffheap / peer: " +
                  ", ".join(f"{c} {fmt(ratio(off, v), '{:.3f}')}x" for c, v in peers.items()))
            if lib == "cjson":
                bump = med(data, "bump", prog, lib, metric)
                print(f"  (limit / best peer = {fmt(ratio(bump, peers[best]), '{:.3f}')}x)")
                goal(f"cJSON ({what}): liboffheap / best peer ({best})", ratio(off, peers[best]), 1.10, ">=",
                     key="cJSON: liboffheap / best peer", measure=what)
                goal(f"cJSON ({what}): liboffheap / allocation-free limit (bump hooks)", ratio(off, bump), 0.95, ">=",
                     key="cJSON: liboffheap / allocation-free limit", measure=what)
            flo = med(data, "floor", prog, lib, metric)
            if flo is not None:
                if lib == "cjson":
                    limit(f"cJSON ({what}): floor / allocation-free limit (the limit of any preload)",
                          ratio(flo, bump), 0.95, ">=", "any preload",
                          "cJSON: floor / allocation-free limit (the limit of any preload)", what,
                          "liboffheap / allocation-free limit")
                limit(f"{lib} ({what}): liboffheap / floor", ratio(off, flo), None, None, "",
                      f"{'cJSON' if lib == 'cjson' else 'jansson'}: liboffheap / floor", what, "")
    s = round1(rounds, "liboffheap", prog, "cjson", "rss_start_kib")
    e = round1(rounds, "liboffheap", prog, "cjson", "rss_end_kib")
    if s is not None and e is not None:
        grow = e - s
        print(f"  GOAL cJSON RSS flat under liboffheap: start {s:.0f} KiB, end {e:.0f} KiB, growth {grow:+.0f} KiB"
              f" -> {'MET' if grow <= 0.02 * s + 256 else 'MISSED'} (tolerance 2% + 256 KiB)")
        record("cJSON: RSS growth over 100k requests (liboffheap), KiB", "wall", grow, 0.02 * s + 256, "<=",
               unit=" KiB")
    print()


def paired(rounds, col, prog, case, metric, base="jemalloc"):
    """Ratios col/base of the runs of the same round (interleaved, so they
    shared the machine's load)."""
    rb = rounds.get((base, prog, case, metric), {})
    rc = rounds.get((col, prog, case, metric), {})
    return [rc[k] / rb[k] for k in rc if k in rb and rb[k]]


def report_stress(data, rounds):
    prog = "stress"
    cols = cols_present(data, prog)
    if not cols:
        return
    print(f"## Outside scopes: stress programs, median of {nrounds(data, prog)} interleaved runs\n")
    print("Columns: jemalloc alone; shim = a bare tail jump to jemalloc's functions (the limit of any")
    print("interposer in front of jemalloc); liboffheap = a process that never opens a scope;")
    print("liboffheap-armed = the same program after one empty scope (stress --armed).")
    print("X/je: median over rounds of the ratio X/jemalloc of the runs of the same round (paired);")
    print("range: its min-max.\n")
    cases = sorted({k[2] for k in data if k[1] == prog})
    others = [c for c in cols if c != "jemalloc"]
    rows, pm = [], {}
    for metric, what in (("ops_per_s", "ops/s"), ("ops_per_cpu_s", "ops/cpu-s")):
        for case in cases:
            r = [case, what] + [fmt(med(data, c, prog, case, metric)) for c in cols]
            for c in others:
                pr = paired(rounds, c, prog, case, metric)
                pm[(c, case, what)] = statistics.median(pr) if pr else None
                r += [fmt(pm[(c, case, what)], "{:.3f}"),
                      f"{min(pr):.3f}-{max(pr):.3f}" if pr else "-"]
            rows.append(r)
    table(["program", "metric"] + cols + [h for c in others for h in (f"{c}/je", "range")], rows)
    for metric, what in (("ops_per_s", "ops/s"), ("ops_per_cpu_s", "ops/cpu-s")):
        m = "wall" if what == "ops/s" else "cpu"
        for case in cases:
            goal(f"outside scopes, {case} ({what}): liboffheap / jemalloc (paired median)",
                 pm.get(("liboffheap", case, what)), 0.98, ">=",
                 key=f"outside scopes, {case}: liboffheap / jemalloc", measure=m)
            if ("liboffheap-armed", case, what) in pm:
                goal(f"outside scopes, {case} ({what}): liboffheap-armed / jemalloc (paired median)",
                     pm[("liboffheap-armed", case, what)], 0.98, ">=",
                     key=f"outside scopes, {case}: liboffheap-armed / jemalloc", measure=m)
            if ("shim", case, what) in pm:
                limit(f"outside scopes, {case} ({what}): shim / jemalloc (paired median)",
                      pm[("shim", case, what)], 0.98, ">=", "any interposer",
                      f"outside scopes, {case}: shim / jemalloc (the limit of any interposer)", m,
                      "liboffheap / jemalloc")
    print()


def report_micro(data):
    prog = "micro_pool"
    cols = cols_present(data, prog)
    if cols:
        print("## Micro: Pool / Arena vs malloc/free (ns per op; pool figures: median over the runs of all columns)\n")
        cases = cases_of(data, prog)
        rows = []
        for case in cases:
            metrics = sorted({k[3] for k in data if k[1] == prog and k[2] == case})
            own = [m for m in metrics if m.startswith(("pool", "arena"))]
            for m in own:
                rows.append([case, m.replace("_ns", ""), fmt(pooled_med(data, prog, case, m), "{:.2f}")] +
                            [""] * len(cols))
            for m in metrics:
                if m in own:
                    continue
                rows.append([case, m.replace("_ns", ""), ""] +
                            [fmt(med(data, c, prog, case, m), "{:.2f}") for c in cols])
        table(["case", "what", "liboffheap"] + cols, rows)
    prog = "micro_concurrent"
    cols = cols_present(data, prog)
    if cols:
        print("## Micro: concurrent 64 B allocations, ns per op per thread (pools: median over all columns' runs)\n")
        cases = cases_of(data, prog)
        rows = []
        for case in cases:
            if case.startswith("malloc"):
                rows.append([case, ""] + [fmt(med(data, c, prog, case, "ns_per_op"), "{:.2f}") for c in cols])
            else:
                rows.append([case, fmt(pooled_med(data, prog, case, "ns_per_op"), "{:.2f}")] + [""] * len(cols))
        table(["case", "pool"] + cols, rows)
    prog = "micro_scope"
    cols = cols_present(data, prog)
    if cols:
        print("## Micro: scopes (liboffheap only) and malloc/free outside scopes, ns per iteration / per allocation\n")
        cases = cases_of(data, prog)
        rows = []
        for case in cases:
            rows.append([case] + [fmt(med(data, c, prog, case, "ns_per_iter"), "{:.2f}") + " / " +
                                  fmt(med(data, c, prog, case, "ns_per_alloc"), "{:.2f}") for c in cols])
        table(["case (ns/iter / ns/alloc)"] + cols, rows)
        goal("scope begin+end, no allocation (ns)", med(data, "liboffheap", prog, "scope_empty", "ns_per_iter"),
             50, "<=", " ns", key="scope begin+end, no allocation (ns)", measure="wall")
    hot = pooled_med(data, "micro_pool", "hot64", "pool_alloc_ns")
    if hot is not None:
        goal("Pool hot path 64 B (ns/alloc)", hot, 2.0, "<=", " ns",
             key="Pool hot path, 64 B, 1 thread (ns)", measure="wall")
    print()


def report_callgrind(outdir):
    path = os.path.join(outdir, "callgrind.tsv")
    if not os.path.exists(path):
        return
    rows = collections.OrderedDict()
    cols = []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) != 5:
                continue
            col, prog, case, ops, ir = p
            if col not in cols:
                cols.append(col)
            rows.setdefault((prog, case), {})[col] = float(ir) / max(1.0, float(ops))
    order = [c for c in ORDER if c in cols] + [c for c in cols if c not in ORDER]
    print("## Instructions per operation (valgrind --tool=callgrind, deterministic)\n")
    print("Ir per op: per allocation/free group for micro rows, per request for request/json,")
    print("per malloc+free for stress.  Same goals, counted in instructions instead of time:\n")
    table(["program", "case"] + order,
          [[p, c] + [fmt(v.get(col), "{:,.1f}") for col in order] for (p, c), v in rows.items()])

    def ir(prog, case, col):
        return rows.get((prog, case), {}).get(col)

    for prog, case, label in (("request", "t1", "request loop"), ("json", "cjson", "cJSON")):
        off = ir(prog, case, "liboffheap")
        bump, flo = ir(prog, case, "bump"), ir(prog, case, "floor")
        peers = {c: ir(prog, case, c) for c in PEERS if ir(prog, case, c) is not None}
        if off is None or not peers:
            continue
        best = min(peers, key=peers.get)
        # speed ratio ~ inverse instruction ratio
        print(f"  {label}: speed ratio implied by instructions (Ir_other / Ir_liboffheap, > 1 = liboffheap"
              f" faster): vs best peer {best} {peers[best] / off:.3f}x;"
              f" vs the bump limit {fmt(ratio(bump, off), '{:.3f}')}x"
              f" (liboffheap spends {off - (bump or off):,.0f} Ir/request above the limit)")
        if flo is not None:
            print(f"  {label}: the floor preload spends {flo:,.1f} Ir/request: {flo - (bump or flo):,.0f} above the"
                  f" bump limit (the call level every preload pays), liboffheap {off - flo:,.0f} above the floor;"
                  f" implied speed ratios: bump / floor {fmt(ratio(flo, bump), '{:.3f}')}x,"
                  f" liboffheap / floor {flo / off:.3f}x")
        if label == "request loop":
            record("request loop, t1: liboffheap / best peer", "Ir", peers[best] / off)
            record("request loop, t1: bump / liboffheap", "Ir", ratio(off, bump))
            if flo is not None:
                record("request loop, t1: bump / floor (the limit of any preload)", "Ir", ratio(flo, bump),
                       1.3, "<=", ref="any preload")
                record("request loop, t1: liboffheap / floor", "Ir", flo / off, ref="")
        else:
            record("cJSON: liboffheap / best peer", "Ir", peers[best] / off)
            record("cJSON: liboffheap / allocation-free limit", "Ir", ratio(bump, off))
            if flo is not None:
                record("cJSON: floor / allocation-free limit (the limit of any preload)", "Ir", ratio(bump, flo),
                       0.95, ">=", ref="any preload")
                record("cJSON: liboffheap / floor", "Ir", flo / off, ref="")
    for case in ("larson", "xmalloc", "small"):
        je = ir("stress", case, "jemalloc")
        if not je:
            continue
        for col, key, ref in (("shim", f"outside scopes, {case}: shim / jemalloc (the limit of any interposer)",
                               "any interposer"),
                              ("liboffheap", f"outside scopes, {case}: liboffheap / jemalloc", None),
                              ("liboffheap-armed", f"outside scopes, {case}: liboffheap-armed / jemalloc", None)):
            v = ir("stress", case, col)
            if v:
                print(f"  stress {case}: Ir_jemalloc / Ir_{col} = {je / v:.3f}x (goal >= 0.98)"
                      f" ({v - je:+.1f} Ir per malloc+free)")
                record(key, "Ir", je / v, 0.98, ">=", ref=ref)
    print()


def report_goals():
    """One table of every goal and the limits of the reference
    preloads, by wall clock, CPU time and instruction count."""
    if not GOALS:
        return
    print("## Goals and the limits of any preload\n")
    print("wall / cpu: medians of interleaved runs (stress: paired medians); Ir: the ratio implied by")
    print("callgrind instruction counts (1 thread).  LIMIT rows are the reference preloads: when a limit")
    print("misses a goal's target, no LD_PRELOAD library (floor) or no interposer in front of jemalloc")
    print("(shim) can meet that goal on this machine.\n")
    rows = []
    for key, g in GOALS.items():
        vals, t, cmp = g["vals"], g["target"], g["cmp"]
        if not vals:
            continue
        unit = g["unit"]
        spec = {"x": "{:.3f}x", " KiB": "{:+,.0f} KiB"}.get(unit, "{:.2f}" + unit)
        cells = [fmt(vals.get(m), spec) for m in ("wall", "cpu", "Ir")]
        if t is None:
            verdict = "(reference)"
        else:
            ok = {m: meets(v, t, cmp) for m, v in vals.items() if v is not None and not math.isnan(v)}
            if g["ref"]:
                word = {True: "reachable", False: "UNREACHABLE"}
                tail = f" by {g['ref']}"
            else:
                word = {True: "met", False: "MISSED"}
                tail = ""
            if len(set(ok.values())) == 1:
                verdict = word[next(iter(ok.values()))] + tail
            else:
                verdict = ", ".join(f"{m} {word[v]}" for m, v in ok.items()) + tail
        target = "" if t is None else f"{cmp} {t:.3g}{unit}"
        rows.append([("LIMIT " if g["ref"] else "REF " if g["ref"] == "" else "") + key, target] + cells + [verdict])
    table(["goal", "target", "wall", "cpu", "Ir", "verdict"], rows)


def report_load(outdir):
    path = os.path.join(outdir, "load.txt")
    if not os.path.exists(path):
        return
    loads = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 7:
                try:
                    loads.append(float(p[6]))
                except ValueError:
                    pass
    if loads:
        print(f"Load average (1 min) when each of the {len(loads)} timed runs started: min {min(loads):.2f},"
              f" median {statistics.median(loads):.2f}, max {max(loads):.2f} (2 cores; other developers'"
              f" builds and tests ran at the same time).\n")


if __name__ == "__main__":
    OUTDIR = sys.argv[1] if len(sys.argv) > 1 else "bench/out/latest"
    DATA, ROUNDS = load(OUTDIR)
    report_load(OUTDIR)
    report_micro(DATA)
    report_request(DATA)
    report_json(DATA, ROUNDS)
    report_stress(DATA, ROUNDS)
    report_callgrind(OUTDIR)
    report_goals()
