# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Shared by start-cluster and stop-cluster: where the test cluster keeps its
# state, its lock, and how to find and stop one of its daemons. Sourced, not run.

readonly CLUSTER_DIR=${GRIDFOLD_CLUSTER_DIR:-/tmp/gridfold-cluster}
readonly RUN_DIR=$CLUSTER_DIR/run
readonly LOG_DIR=$CLUSTER_DIR/log
readonly MUNGE_DIR=$CLUSTER_DIR/munge
readonly MARIADB_DIR=$CLUSTER_DIR/mariadb
readonly SLURM_CONF_FILE=$CLUSTER_DIR/slurm.conf
readonly SLURMDBD_CONF_FILE=$CLUSTER_DIR/slurmdbd.conf
readonly GRES_CONF_FILE=$CLUSTER_DIR/gres.conf  # slurmd reads it beside slurm.conf
readonly FAKE_GPU_DIR=$CLUSTER_DIR/gpus
readonly ENV_FILE=$CLUSTER_DIR/env.sh

readonly MUNGE_SOCKET=$MUNGE_DIR/munge.socket
readonly MARIADB_SOCKET=$MARIADB_DIR/mariadbd.sock

readonly NODES=(n1 n2)

# Every daemon gets its own port (and munged/mariadbd their own socket) so the
# test cluster never collides with a system-wide SLURM, munge or MariaDB.
readonly SLURMCTLD_PORT=17000
readonly SLURMD_FIRST_PORT=17001 # then one port per node: n1 17001, n2 17002
readonly SLURMDBD_PORT=17003
readonly MARIADB_PORT=17004

# slurmdbd has no option naming its config file: it reads slurmdbd.conf from the
# directory of $SLURM_CONF. Client commands need it too.
export SLURM_CONF=$SLURM_CONF_FILE

log() { echo "${0##*/}: $*"; }
die() { echo "${0##*/}: error: $*" >&2; exit 1; }

# The path ends up in slurm.conf, which daemons read from other directories.
[[ $CLUSTER_DIR == /* ]] || die "GRIDFOLD_CLUSTER_DIR must be an absolute path, got '$CLUSTER_DIR'"

# Holds the cluster's lock (fd 9) until the calling script exits, so that
# concurrent start-cluster/stop-cluster runs take turns instead of racing.
lock_cluster() {
  install -d -m 0755 "$CLUSTER_DIR"
  exec 9>"$CLUSTER_DIR/.lock"
  flock --wait 600 9 || die "another start-cluster/stop-cluster has held $CLUSTER_DIR/.lock for 10 minutes"
}

# The daemon's pid file, by the name used throughout (slurmd gets one per node).
pid_file_of() {
  case $1 in
    munged) echo "$MUNGE_DIR/munged.pid" ;;
    mariadbd) echo "$MARIADB_DIR/mariadbd.pid" ;;
    *) echo "$RUN_DIR/$1.pid" ;;
  esac
}

# Prints the pid of the named daemon of this cluster if it is alive. The process
# name is checked as well, so a stale pid file whose pid was reused by some
# unrelated process is never mistaken for ours.
running_pid_of() {
  local name=$1 pid_file pid comm
  pid_file=$(pid_file_of "$name")
  [[ -r $pid_file ]] || return 1
  pid=$(tr -dc '0-9' <"$pid_file")
  [[ -n $pid && -r /proc/$pid/comm ]] || return 1
  comm=$(<"/proc/$pid/comm")
  [[ $comm == "${name%%-*}" ]] || return 1
  echo "$pid"
}

is_running() { running_pid_of "$1" >/dev/null; }

# SIGTERM, then SIGKILL if the daemon has not exited after timeout seconds.
stop_daemon() {
  local name=$1 timeout=$2 pid deadline
  pid=$(running_pid_of "$name") || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || return 0
  deadline=$((SECONDS + timeout))
  while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if [[ -e /proc/$pid ]]; then
    log "$name did not exit within ${timeout}s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}
