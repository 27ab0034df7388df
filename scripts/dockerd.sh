#!/usr/bin/env bash
# Start the Docker engine for the compose backend and its tests when none runs, and stop it again
# only if we started it (by the PID we recorded), never an engine someone else runs.
#
#   scripts/dockerd.sh start   # no-op when `docker info` answers; else dockerd in the background
#   scripts/dockerd.sh stop    # stops the dockerd that `start` started (its PID file), nothing else
#   scripts/dockerd.sh status
set -euo pipefail
PIDFILE=${REQRESP_DOCKERD_PIDFILE:-/run/reqresp-dockerd.pid}
LOG=${REQRESP_DOCKERD_LOG:-/run/reqresp-dockerd.log}
WAIT=${REQRESP_DOCKERD_WAIT:-90}   # seconds for a cold engine to answer `docker info`

engine_answers() { docker info >/dev/null 2>&1; }

ours() {  # the PID in our file is alive and is a dockerd
  [ -s "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = dockerd ]
}

case "${1:-}" in
  start)
    if engine_answers; then
      echo "docker engine already running (not started by us)" >&2
      exit 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
      echo "error: the Docker engine is not running and starting it needs root: sudo scripts/dockerd.sh start" >&2
      exit 1
    fi
    command -v dockerd >/dev/null 2>&1 || {
      echo "error: dockerd is not installed: sudo apt-get install docker.io (or make tools-test as root)" >&2
      exit 1
    }
    # setsid: the engine is not in our process group, so a Ctrl-C in this terminal does not reach it.
    setsid dockerd >"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 1 "$WAIT"); do
      if engine_answers; then
        echo "started dockerd (pid $(cat "$PIDFILE"), log $LOG)" >&2
        exit 0
      fi
      if ! ours; then
        echo "error: dockerd exited at start; last lines of $LOG:" >&2
        tail -n 5 "$LOG" >&2
        rm -f "$PIDFILE"
        exit 1
      fi
      sleep 1
    done
    echo "error: dockerd (pid $(cat "$PIDFILE")) did not answer docker info within $WAIT s; see $LOG" >&2
    exit 1
    ;;
  stop)
    if ! ours; then
      rm -f "$PIDFILE"
      exit 0  # not started by us (or already gone): leave the engine alone
    fi
    pid=$(cat "$PIDFILE")
    kill -TERM "$pid"
    for _ in $(seq 1 30); do
      [ -d "/proc/$pid" ] || break
      sleep 1
    done
    if [ -d "/proc/$pid" ]; then
      echo "error: dockerd (pid $pid) did not stop within 30 s on SIGTERM" >&2
      exit 1
    fi
    rm -f "$PIDFILE"
    echo "stopped dockerd (pid $pid)" >&2
    ;;
  status)
    if engine_answers; then
      ours && echo "running, started by scripts/dockerd.sh (pid $(cat "$PIDFILE"))" || echo "running (not ours)"
    else
      echo "not running"
      exit 1
    fi
    ;;
  *)
    echo "usage: scripts/dockerd.sh start|stop|status" >&2
    exit 2
    ;;
esac
