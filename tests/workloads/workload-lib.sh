# Shared by the end-to-end workload tests (tests/workloads/test-*): each runs one shipped
# experiment of grids/, shrunk to seconds, through plan -> run --local (workers under real
# mpirun, then pack and report) -> harvest, and checks what comes out. Sourced, not run.
# Expects GRIDFOLD_BIN (the build's bin directory) and GRIDFOLD_SOURCE (the source tree).
set -euo pipefail

: "${GRIDFOLD_BIN:?set GRIDFOLD_BIN to the directory holding gridfold and gridfold-worker}"
: "${GRIDFOLD_SOURCE:?set GRIDFOLD_SOURCE to the source tree}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export PATH=$GRIDFOLD_BIN:$PATH
WORKLOADS=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
WORK=$(mktemp -d "/tmp/gridfold-workload-test.XXXXXX")
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

# The shipped grid plans as its comments say: planned_tasks GRID prints its task count.
planned_tasks() {
  gridfold plan "$GRIDFOLD_SOURCE/grids/$1" --dry-run --json --out "$WORK/dry-run" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["tasks"])'
}

# shrink GRID OUT.yaml [PATH=VALUE ...]: a copy of grids/GRID with settings replaced.
shrink() {
  local grid=$1 out=$2
  shift 2
  /usr/bin/python3 "$WORKLOADS/shrink-spec.py" "$GRIDFOLD_SOURCE/grids/$grid" "$out" "$@"
}

# run_and_harvest SPEC DIR: the whole local pipeline, then a harvest into DIR/harvest.
run_and_harvest() {
  local spec=$1 dir=$2
  gridfold run "$spec" --local --ranks 2 --out "$dir"
  gridfold harvest "$dir" --out "$dir/harvest"
}

# What every workload run must leave: a packed archive GNU tar can list, no loose results,
# a report page.
check_pipeline_outputs() {
  local dir=$1
  check "the results are packed into archives GNU tar lists" \
    bash -c "ls '$dir'/archives/*.tar.zst >/dev/null && for a in '$dir'/archives/*.tar.zst; do tar -tf \"\$a\" >/dev/null || exit 1; done"
  check "no result is left loose after packing" \
    bash -c "! find '$dir/results' -name '*.h5' 2>/dev/null | grep -q ."
  check "the report page is written" test -s "$dir/report/index.html"
}
