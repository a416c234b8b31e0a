#!/usr/bin/python3
"""Checks a harvest directory with pandas: the best config of a target reaches a score, every
config has its outer results, nested selection is there when the plan has an inner loop, and
the per-sample table covers the data.

Usage: check-harvest.py HARVEST_DIR --target T --metric M --at-least X [--at-most X]
                        [--configs N] [--outer N] [--nested] [--samples N]
Exit status 0 when every check holds; each failed check is printed.
"""
import argparse
import json
import os
import sys

import pandas as pd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("harvest")
    parser.add_argument("--target", required=True)
    parser.add_argument("--metric", required=True)
    parser.add_argument("--at-least", type=float)
    parser.add_argument("--at-most", type=float)
    parser.add_argument("--configs", type=int)
    parser.add_argument("--outer", type=int)
    parser.add_argument("--nested", action="store_true")
    parser.add_argument("--samples", type=int)
    args = parser.parse_args()

    problems = []
    configs = pd.read_csv(os.path.join(args.harvest, "configs.csv"))
    mine = configs[configs["target"] == args.target]
    if mine.empty:
        problems.append(f"configs.csv has no rows for target {args.target}; targets: {sorted(configs['target'].unique())}")
    else:
        best = mine.sort_values("rank").iloc[0]
        score = best[f"{args.metric}_mean"]
        print(f"{args.target}: best config {best['config_id']} {args.metric} {score:.4f} "
              f"over {best['outer_results']} outer results")
        if args.at_least is not None and not score >= args.at_least:
            problems.append(f"best {args.metric} of {args.target} is {score}, expected >= {args.at_least}")
        if args.at_most is not None and not score <= args.at_most:
            problems.append(f"best {args.metric} of {args.target} is {score}, expected <= {args.at_most}")
        if args.configs is not None and len(mine) != args.configs:
            problems.append(f"{len(mine)} configs ranked for {args.target}, expected {args.configs}")
        if args.outer is not None and not (mine["outer_results"] == args.outer).all():
            problems.append(f"outer results per config {sorted(mine['outer_results'].unique())}, expected {args.outer}")
    if args.nested:
        nested = pd.read_csv(os.path.join(args.harvest, "nested.csv"))
        rows = nested[(nested["target"] == args.target) & (nested["metric"] == args.metric)]
        if args.outer is not None and len(rows) != args.outer:
            problems.append(f"nested.csv has {len(rows)} outer folds for {args.target}, expected {args.outer}")
        if rows["outer_score"].isna().any():
            problems.append("nested.csv has outer folds without a score")
    if args.samples is not None:
        predictions = pd.read_csv(os.path.join(args.harvest, "predictions.csv"))
        best_rows = predictions[(predictions["selection"] == "best") & (predictions["target"] == args.target)]
        if best_rows["sample"].nunique() != args.samples:
            problems.append(f"predictions.csv covers {best_rows['sample'].nunique()} samples of {args.target} "
                            f"for the best config, expected {args.samples}")
    with open(os.path.join(args.harvest, "best.json")) as f:
        json.load(f)
    for problem in problems:
        print("FAILED:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
