#!/usr/bin/env python3
"""`consent-gate check` against Python's json.loads over the same events (issue 12: check must
be at least 5x faster).

    python3 bench/check_vs_json.py [--events N] [--seed S] [--runs R] [--binary PATH] [--config PATH]

Generates N events with ../shared/bench/gen_events.py (default 200,000, seed 1) and keeps the JSON
after the tab of each line (the Kafka value; the key is not part of the event), so both sides
read the same file of one event per line. Then, R times each (default 3), alternating:
- python: `python3 -c 'import json, sys` + `for line in open(FILE, "rb"): json.loads(line)'`
  (parses only, writes nothing);
- check:  `consent-gate check --config CONFIG FILE > /dev/null` (parses, decides for each of the
  five destinations of ../shared/bench/worker.yaml and writes one JSON line per event).
Prints the wall-clock time of every run, the best of R for each, and python/check. Build the
binary first: `swift build -c release --product consent-gate`.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_BENCH = os.path.join(ROOT, "..", "shared", "bench")

PYTHON_LOADS = "import json, sys\nfor line in open(sys.argv[1], 'rb'):\n    json.loads(line)\n"


def timed(command, stdout):
    start = time.perf_counter()
    subprocess.run(command, stdout=stdout, check=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "consent-gate"))
    parser.add_argument("--config", default=os.path.join(SHARED_BENCH, "worker.yaml"))
    parser.add_argument("--generator", default=os.path.join(SHARED_BENCH, "gen_events.py"))
    args = parser.parse_args()
    if not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary}: not built (swift build -c release --product consent-gate)")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "events.jsonl")
        generated = subprocess.run([sys.executable, args.generator, str(args.events), "--seed", str(args.seed)],
                                   stdout=subprocess.PIPE, check=True).stdout
        with open(path, "wb") as f:
            for line in generated.splitlines():
                f.write(line.partition(b"\t")[2] + b"\n")
        size = os.path.getsize(path)
        print(f"{args.events} events from gen_events.py --seed {args.seed}, {size / 1e6:.1f} MB; "
              f"best of {args.runs}; check with {os.path.relpath(args.config)}")

        commands = {
            "python json.loads": [sys.executable, "-c", PYTHON_LOADS, path],
            "consent-gate check": [args.binary, "check", "--config", args.config, path],
        }
        # Warm the page cache (and check the binary runs) before timing.
        with open(os.devnull, "wb") as null:
            subprocess.run(commands["consent-gate check"], stdout=null, check=True)
        times = {name: [] for name in commands}
        with open(os.devnull, "wb") as null:
            for _ in range(args.runs):
                for name, command in commands.items():
                    times[name].append(timed(command, null))
        best = {name: min(values) for name, values in times.items()}
        for name, values in times.items():
            runs = " ".join(f"{v:.3f}" for v in values)
            print(f"{name:20} best {best[name]:.3f} s  ({args.events / best[name] / 1e6:.2f} M events/s, "
                  f"{size / best[name] / 1e6:.0f} MB/s)  runs: {runs}")
        ratio = best["python json.loads"] / best["consent-gate check"]
        print(f"ratio python/check: {ratio:.2f}x")


if __name__ == "__main__":
    main()
