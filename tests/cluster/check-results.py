#!/usr/bin/python3
"""Checks, with h5py and GNU tar alone, that every task of a planned experiment has exactly one
complete result file, loose under results/ or packed in archives/, and prints which SLURM node
and MPI rank ran each task.

Usage: check-results.py EXPERIMENT_DIR [--expect-nodes n1,n2] [--expect-ranks 4]
Exit status 0 when every task has a complete, valid result.
"""
import argparse
import glob
import shutil
import os
import subprocess
import sys
import tempfile

import h5py


def result_name(outer, inner):
    return f"outer{outer:03d}" + ("" if inner < 0 else f"-inner{inner:02d}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("experiment")
    parser.add_argument("--expect-nodes", default="")
    parser.add_argument("--expect-ranks", type=int, default=0)
    args = parser.parse_args()

    # Archived results are extracted by GNU tar, which proves that it reads the archives too.
    unpacked = tempfile.mkdtemp(prefix="gridfold-check-")
    archives = sorted(glob.glob(os.path.join(args.experiment, "archives", "*.tar*")))
    for archive in archives:
        if not archive.endswith(".index.tsv"):
            subprocess.run(["tar", "-xf", archive, "-C", unpacked], check=True)
    print(f"{len(archives)} archive files")
    plan = h5py.File(os.path.join(args.experiment, "plan.h5"), "r")
    ids = plan["configs/id"].asstr()[:]
    tasks = zip(plan["tasks/config"][:], plan["tasks/outer_fold"][:], plan["tasks/inner_fold"][:])
    problems, nodes, ranks = [], set(), set()
    count = 0
    for config, outer, inner in tasks:
        count += 1
        relative = os.path.join("results", ids[config], result_name(int(outer), int(inner)) + ".h5")
        places = [p for p in (os.path.join(args.experiment, relative), os.path.join(unpacked, relative))
                  if os.path.exists(p)]
        if len(places) != 1:
            problems.append(f"{relative} is in {len(places)} places, expected 1")
            continue
        path = places[0]
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
    shutil.rmtree(unpacked)
    for p in problems:
        print("problem:", p)
    print(f"{count} tasks, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
