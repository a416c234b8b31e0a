#!/usr/bin/python3
"""Checks, with h5py alone, that every task of a planned experiment has exactly one complete
result file, and prints which SLURM node and MPI rank ran each task.

Usage: check-results.py EXPERIMENT_DIR [--expect-nodes n1,n2] [--expect-ranks 4]
Exit status 0 when every task has a complete, valid result.
"""
import argparse
import os
import sys

import h5py


def result_name(outer, inner):
    return f"outer{outer:03d}" + ("" if inner < 0 else f"-inner{inner:02d}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("experiment")
    parser.add_argument("--expect-nodes", default="")
    parser.add_argument("--expect-ranks", type=int, default=0)
    args = parser.parse_args()

    plan = h5py.File(os.path.join(args.experiment, "plan.h5"), "r")
    ids = plan["configs/id"].asstr()[:]
    tasks = zip(plan["tasks/config"][:], plan["tasks/outer_fold"][:], plan["tasks/inner_fold"][:])
    problems, nodes, ranks = [], set(), set()
    count = 0
    for config, outer, inner in tasks:
        count += 1
        path = os.path.join(args.experiment, "results", ids[config], result_name(int(outer), int(inner)) + ".h5")
        if not os.path.exists(path):
            problems.append(f"missing {path}")
            continue
        with h5py.File(path, "r") as f:
            if f.attrs.get("complete") != 1:
                problems.append(f"incomplete {path}")
            if f.attrs["config_id"] != ids[config] or f.attrs["outer_fold"] != outer:
                problems.append(f"{path} holds another task")
            if "r2" not in f["metrics/dG"].attrs:
                problems.append(f"{path} has no r2 for dG")
            p = f["provenance"].attrs
            node, rank = p.get("slurm_node", ""), int(p["mpi_rank"])
            nodes.add(node)
            ranks.add(rank)
            print(f"task config={ids[config]} outer={outer} inner={inner} node={node} rank={rank}/{p['mpi_size']}")
    leftovers = []
    for root, _, files in os.walk(os.path.join(args.experiment, "results")):
        leftovers += [os.path.join(root, n) for n in files if n.startswith(".tmp-")]
    problems += [f"temporary file left in place: {p}" for p in leftovers]
    if args.expect_nodes and set(args.expect_nodes.split(",")) != nodes:
        problems.append(f"tasks ran on nodes {sorted(nodes)}, expected {args.expect_nodes}")
    if args.expect_ranks and len(ranks) != args.expect_ranks:
        problems.append(f"tasks ran on ranks {sorted(ranks)}, expected {args.expect_ranks} distinct ranks")
    for p in problems:
        print("problem:", p)
    print(f"{count} tasks, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
