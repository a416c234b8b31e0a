# What the shell test scripts (tests/cluster, tests/workloads) share: strict mode, the build
# and source trees they test, a scratch directory removed on exit, and checks that count.
# Sourced, not run: script-checks.sh SCRATCH_PREFIX.
# Expects GRIDFOLD_BIN (the build's bin directory) and GRIDFOLD_SOURCE (the source tree).
set -euo pipefail

: "${GRIDFOLD_BIN:?set GRIDFOLD_BIN to the directory holding gridfold and gridfold-worker}"
: "${GRIDFOLD_SOURCE:?set GRIDFOLD_SOURCE to the source tree}"
# Tests run as root in CI, and Open MPI refuses root unless told otherwise.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export PATH=$GRIDFOLD_BIN:$PATH

WORK=$(mktemp -d "/tmp/$1.XXXXXX")
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
