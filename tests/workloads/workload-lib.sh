# Shared by the end-to-end workload tests (tests/workloads/test-*): each runs one shipped
# experiment of grids/, shrunk to seconds, through plan -> run --local (workers under real
# mpirun, then pack and report) -> harvest, and checks what comes out. Sourced, not run.
# Expects GRIDFOLD_BIN and GRIDFOLD_SOURCE (tests/support/script-checks.sh).
# shellcheck source=../support/script-checks.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../support/script-checks.sh" gridfold-workload-test
WORKLOADS=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")

# The shipped grid plans as its comments say: planned_tasks GRID prints its task count.
planned_tasks() {
  gridfold plan "$GRIDFOLD_SOURCE/grids/$1" --dry-run --json --out "$WORK/dry-run" |
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["tasks"])'
}

# json_field FILE KEY...: a value of a JSON file, by path.
json_field() {
  /usr/bin/python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v[k]
print(v)' "$@"
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
