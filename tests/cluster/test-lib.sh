# Shared by the cluster integration tests (tests/cluster/test-*): a scratch directory, a
# small duplex experiment, waiting for SLURM jobs, and checks that count. Sourced, not run.
# Expects GRIDFOLD_BIN (the build's bin directory) and GRIDFOLD_SOURCE (the source tree).
set -euo pipefail

: "${GRIDFOLD_BIN:?set GRIDFOLD_BIN to the directory holding gridfold and gridfold-worker}"
: "${GRIDFOLD_SOURCE:?set GRIDFOLD_SOURCE to the source tree}"
CLUSTER_DIR=${GRIDFOLD_CLUSTER_DIR:-/tmp/gridfold-cluster}
# shellcheck source=/dev/null
source "$CLUSTER_DIR/env.sh"
# The test cluster runs jobs as root, and Open MPI refuses root unless told otherwise;
# sbatch passes the environment on to the jobs.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export PATH=$GRIDFOLD_BIN:$PATH

# Jobs run on the slurmd "nodes" of this machine, so the work directory must be visible
# to them under the same path: any local directory is.
WORK=$(mktemp -d "/tmp/gridfold-cluster-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

check() {
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $what"
  else
    failed=$((failed + 1))
    echo "FAILED: $what"
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  ((failed == 0))
}

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
