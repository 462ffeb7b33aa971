#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""soak_python.py — a real program under the preload with scopes off.

Run as LD_PRELOAD=liboffheap.so python3 soak_python.py [SECONDS] (default 20):
eight threads (plus the main one) churn through the interpreter's allocation
paths — dicts, lists, sets, strings, bytes, JSON, regular expressions,
hashing, sorting, pickling, decimal arithmetic, a queue between threads —
for a bounded time.  Every unit of work is checked against the result the
same unit gave on the main thread before the threads started, so a corrupted
block shows up as a wrong answer rather than only as a crash.  Exits 0 and
prints a summary; any mismatch, exception or missing preload is a failure
(77 = skipped when the preload is not loaded).
"""
import decimal
import hashlib
import json
import os
import pickle
import queue
import random
import re
import sys
import threading
import time
import zlib


def preloaded():
    try:
        with open("/proc/self/maps") as f:
            return "liboffheap" in f.read()
    except OSError:
        return False


WORD = re.compile(r"[a-z]+(\d+)")


def unit(seed):
    """One deterministic unit of allocation-heavy work; returns a digest."""
    rng = random.Random(seed)
    d = {}
    for i in range(300):
        k = "k%d_%d" % (seed, rng.randrange(1000))
        d[k] = [rng.random() for _ in range(rng.randrange(1, 20))]
    s = {frozenset(v[:3]) for v in d.values() if len(v) > 2}
    text = " ".join("w%d%s" % (rng.randrange(10000), "x" * rng.randrange(50)) for _ in range(400))
    nums = [int(m.group(1)) for m in WORD.finditer(text)]
    blob = json.dumps({"d": d, "n": nums, "s": len(s)}, sort_keys=True)
    back = json.loads(blob)
    assert back["n"] == nums
    packed = pickle.dumps((d, nums), protocol=pickle.HIGHEST_PROTOCOL)
    d2, n2 = pickle.loads(packed)
    assert d2 == d and n2 == nums
    z = zlib.compress(blob.encode() * 3)
    assert zlib.decompress(z) == blob.encode() * 3
    big = bytearray(rng.randrange(100_000, 600_000))
    big[::4096] = b"\x01" * len(big[::4096])
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        dec = sum(decimal.Decimal(x) / 7 for x in nums[:200])
    srt = sorted(text.split(), key=lambda w: (len(w), w))
    h = hashlib.sha256()
    h.update(blob.encode())
    h.update(str(dec).encode())
    h.update("".join(srt[:50]).encode())
    h.update(bytes(big[::4096]))
    h.update(str(len(z) > 0).encode())
    return h.hexdigest()


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    if not preloaded():
        print("soak_python: liboffheap.so is not preloaded; skipping")
        return 77
    seeds = list(range(16))
    expected = {s: unit(s) for s in seeds}
    deadline = time.monotonic() + seconds
    errors = []
    done = [0] * 8
    q = queue.Queue(maxsize=256)

    def worker(t):
        rng = random.Random(t)
        try:
            while time.monotonic() < deadline:
                s = rng.choice(seeds)
                got = unit(s)
                if got != expected[s]:
                    errors.append("thread %d: unit %d gave %s, expected %s" % (t, s, got, expected[s]))
                    return
                # Hand objects to another thread (freed there).
                try:
                    q.put_nowait((s, [got] * 100, {"x": bytes(1000)}))
                except queue.Full:
                    pass
                try:
                    s2, lst, dd = q.get_nowait()
                    if lst[0] != expected[s2] or len(dd["x"]) != 1000:
                        errors.append("thread %d: handed-over object corrupted" % t)
                        return
                except queue.Empty:
                    pass
                done[t] += 1
        except Exception as e:  # noqa: BLE001 - any failure is a finding
            errors.append("thread %d: %r" % (t, e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    # The main thread keeps short-lived threads coming meanwhile.
    spawned = 0
    while time.monotonic() < deadline and not errors:
        th = threading.Thread(target=lambda: unit(spawned % 16))
        th.start()
        th.join()
        spawned += 1
    for th in threads:
        th.join()
    if errors:
        for e in errors[:10]:
            print("soak_python: " + e, file=sys.stderr)
        return 1
    print("soak_python: %.0fs, %d units on 8 threads, %d short threads, pid %d: all results as expected"
          % (seconds, sum(done), spawned, os.getpid()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
