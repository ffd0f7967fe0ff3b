"""Merge probe reports (``immersions-osc probe --out X.json``) of one task into one Markdown table.

Run: python benchmarks/probe_tables.py synth-track.json real-track.json [--layers]

The first report should hold the baselines (random init, supervised, hand-made features); the
others may be ``--model-only`` reports of further checkpoints of the same architecture on the same
task file (same split, same seed), whose baseline rows would be identical.
"""
from __future__ import annotations

import argparse
import json
import math


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--layers", action="store_true", help="also list every layer's pooled read-out")
    args = parser.parse_args()
    reports = [json.load(open(path)) for path in args.reports]
    first = reports[0]
    for r in reports[1:]:
        if (r["n_train"], r["n_test"], r["classes"]) != (first["n_train"], first["n_test"], first["classes"]):
            raise SystemExit(f"reports are not of the same task/split: {args.reports}")
    rows = [row for r in reports for row in r["rows"] if row["kind"] == "model"]
    rows += [row for row in first["rows"] if row["kind"] == "baseline"]
    if args.layers:
        rows += [row for r in reports for row in r["rows"] if row["kind"] == "layer"]
    print("| read-out | test accuracy | 95 % interval (bootstrap over held-out groups) |")
    print("|---|---|---|")
    for row in rows:
        low, high = row.get("low", math.nan), row.get("high", math.nan)
        interval = f"{100 * low:.1f} – {100 * high:.1f} %" if math.isfinite(low) else "–"
        print(f"| {row['name']} | {100 * row['accuracy']:.1f} % | {interval} |")
    print(f"\n{len(first['classes'])} classes (chance {100 / len(first['classes']):.1f} %); train {first['n_train']} "
          f"clips from {first['train_groups']} groups, test {first['n_test']} clips from {first['test_groups']} groups")


if __name__ == "__main__":
    main()
