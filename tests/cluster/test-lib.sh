# Shared by the cluster integration tests (tests/cluster/test-*): a scratch directory, a
# small duplex experiment, waiting for SLURM jobs, and checks that count. Sourced, not run.
# Expects GRIDFOLD_BIN and GRIDFOLD_SOURCE (tests/support/script-checks.sh).
# Jobs run on the slurmd "nodes" of this machine, so the work directory must be visible
# to them under the same path: any local directory is (sbatch passes the environment, the
# Open MPI settings included, on to the jobs).
# shellcheck source=../support/script-checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../support/script-checks.sh" gridfold-cluster-test
CLUSTER_DIR=${GRIDFOLD_CLUSTER_DIR:-/tmp/gridfold-cluster}
# shellcheck source=/dev/null
source "$CLUSTER_DIR/env.sh"

# A duplex experiment on the first `rows` rows of the shipped data, small enough to train
# in seconds: write_duplex_spec FILE NAME ROWS, then the slurm: section on stdin.
write_duplex_spec() {
  local file=$1 name=$2 rows=$3
  head -n "$((rows + 1))" "$GRIDFOLD_SOURCE/grids/data/duplex_thermo.csv" >"$(dirname "$file")/duplex.csv"
  {
    cat <<YAML
name: $name
data:
  path: duplex.csv
  id_column: id
  targets: [dG, dH, dS, Tm]
model:
  family: cnn1d
  filters: [16]
  kernel_size: 3
  dense: [16]
  dropout: 0.0
training:
  epochs: 2
  batch_size: 32
  patience: 0
  threads: 1
grid:
  training.lr: [0.003, 0.001]
resampling:
  outer: {kfold: {k: 5}}
  seed: 3
YAML
    cat
  } >"$file"
}

# Waits until none of the given jobs is pending or running; fails after `timeout` seconds.
wait_for_jobs() {
  local timeout=$1
  shift
  local ids
  ids=$(IFS=,; echo "$*")
  local deadline=$((SECONDS + timeout))
  while [[ -n $(squeue -h -j "$ids" -o %i 2>/dev/null) ]]; do
    if ((SECONDS > deadline)); then
      echo "jobs $ids still queued or running after ${timeout}s:"
      squeue -j "$ids"
      return 1
    fi
    sleep 2
  done
}

# Job ids recorded by gridfold submit: the arrays, then the pack job.
submitted_array_ids() {
  /usr/bin/python3 -c 'import json,sys; print(" ".join(a["job_id"] for s in json.load(open(sys.argv[1])) for a in s["arrays"]))' \
    "$1/slurm/submissions.json"
}
submitted_pack_id() {
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[-1]["pack_job_id"])' "$1/slurm/submissions.json"
}

# sacct's final state of every job step row of a job (array elements included), one per line.
job_states() {
  sacct -n -X -P -j "$1" -o State | sort | uniq -c
}
