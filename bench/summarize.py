#!/usr/bin/env python3
"""Summarizes bench/run.sh results: per-round figures, medians, worker/passthru ratios.

usage: summarize.py results.txt   (prints Markdown)
Ratios per round compare the two contenders of that round; the median ratio is the median of
the per-round ratios (the medians' ratio is printed too).
"""
import statistics
import sys

TARGET_RATE, TARGET_CPU = 0.85, 1.3

header, rows = [], []
for line in open(sys.argv[1]):
    if line.startswith("#"):
        header.append(line[1:].strip())
    elif not line.startswith("round"):
        r, who, rate, cpu, broker, elapsed, idle = (line.split() + ["?"])[:7]
        rows.append(dict(round=int(r), who=who, rate=float(rate), cpu=float(cpu), broker=float(broker),
                         elapsed=float(elapsed), idle=idle))

rounds = sorted({r["round"] for r in rows})
by = {(r["round"], r["who"]): r for r in rows}
med = lambda xs: statistics.median(xs) if xs else float("nan")

print("\n".join(header))
print()
print("| Round | Order | passthru events/s | worker events/s | throughput worker/passthru "
      "| passthru CPU µs/event | worker CPU µs/event | CPU worker/passthru "
      "| broker CPU µs/event (passthru / worker) | idle % before (passthru / worker) |")
print("|---|---|---|---|---|---|---|---|---|---|")
rate_ratios, cpu_ratios = [], []
for n in rounds:
    p, w = by.get((n, "passthru")), by.get((n, "worker"))
    if not p or not w:
        continue
    # rate 0: watch.py saw no 10%..90% window (run failed, or filled between two samples)
    rr = w["rate"] / p["rate"] if p["rate"] and w["rate"] else float("nan")
    cr = w["cpu"] / p["cpu"] if p["cpu"] else float("nan")
    if rr == rr:
        rate_ratios.append(rr)
    cpu_ratios.append(cr)
    order = "passthru, worker" if n % 2 else "worker, passthru"
    print(f"| {n} | {order} | {p['rate']:,.0f} | {w['rate']:,.0f} | {rr:.2f} | {p['cpu']:.2f} | {w['cpu']:.2f} "
          f"| {cr:.2f} | {p['broker']:.2f} / {w['broker']:.2f} | {p['idle']} / {w['idle']} |")

def medians(who):
    got = [by[(n, who)] for n in rounds if (n, who) in by]
    return {k: med([r[k] for r in got if k != "rate" or r[k] > 0]) for k in ("rate", "cpu", "broker")}
pm, wm = medians("passthru"), medians("worker")
mr, mc = med(rate_ratios), med(cpu_ratios)
print(f"| **median** | | **{pm['rate']:,.0f}** | **{wm['rate']:,.0f}** | **{mr:.2f}** | **{pm['cpu']:.2f}** "
      f"| **{wm['cpu']:.2f}** | **{mc:.2f}** | {pm['broker']:.2f} / {wm['broker']:.2f} | |")
print()
print(f"Ratio of the medians: throughput {wm['rate'] / pm['rate']:.2f}, CPU per event {wm['cpu'] / pm['cpu']:.2f}.")
ok_rate, ok_cpu = mr >= TARGET_RATE, mc <= TARGET_CPU
print(f"Targets (median of per-round ratios): throughput >= {TARGET_RATE:.2f}x passthru: "
      f"{'met' if ok_rate else 'MISSED'} ({mr:.2f}); CPU per event <= {TARGET_CPU}x: "
      f"{'met' if ok_cpu else 'MISSED'} ({mc:.2f}).")
