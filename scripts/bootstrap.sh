#!/usr/bin/env bash
# Installs what Coyotes needs on a fresh Debian machine with Node 20 and npm, then the
# dependencies and the build. Two sets, so that running it installs nothing only tests use:
#   bootstrap.sh run    what running needs: pnpm, a redis-server (Debian's package) when none is
#                       installed (skipped with COYOTES_BOOTSTRAP_REDIS=no: one answers already)
#   bootstrap.sh test   that, and what only the tests need: Chromium, supervisord, and the SQL
#                       servers the task-history tests start their own of (MariaDB, PostgreSQL),
#                       and rabbitmq-server for the RabbitMQ transport's tests
# scripts/start.sh runs the first, scripts/test.sh the second.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=no
# apt_install WHY PACKAGE…: Debian's packages, the index refreshed once per run
apt_install() {
  local why="$1"
  shift
  echo "bootstrap: installing $* from Debian's packages ($why)" >&2
  if [ "$apt_updated" = no ]; then
    as_root apt-get update -qq
    apt_updated=yes
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- what running needs ---------------------------------------------------------------------
install_run_needs() {
  if ! command -v pnpm >/dev/null 2>&1; then
    echo "bootstrap: installing pnpm" >&2
    as_root npm install -g pnpm@9 >/dev/null
  fi
  # a machine-wide redis-server started by the package is not ours to keep running
  if [ "${COYOTES_BOOTSTRAP_REDIS:-yes}" != no ] && ! command -v redis-server >/dev/null 2>&1; then
    apt_install "no Redis answers" redis-server redis-tools
  fi
  # the native command spawner is compiled by the build; without a compiler Coyotes falls back
  # to node:child_process (slower), so the compiler is a run-time need
  if ! command -v cc >/dev/null 2>&1 || [ ! -e /usr/include/spawn.h ]; then
    apt_install "the native command spawner" gcc libc6-dev
  fi
}

# --- what only the tests need ---------------------------------------------------------------
install_test_needs() {
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install "the tests start their own" redis-server redis-tools
  fi
  if ! command -v chromium >/dev/null 2>&1; then
    apt_install "the dashboard's browser tests" chromium
  fi
  if ! command -v supervisord >/dev/null 2>&1; then
    apt_install "the process-manager tests" supervisor
  fi
  # the task-history tests start private servers (test/helpers/mariadb.ts, postgres.ts); the
  # package's own service is not started (policy-rc.d in containers) and is not ours to use
  if ! command -v mariadb-install-db >/dev/null 2>&1; then
    apt_install "the task-history tests (MySQL side)" mariadb-server
  fi
  # the server's binaries live under /usr/lib/postgresql/<version>/bin; its wrappers are on PATH
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install "the task-history tests (PostgreSQL side)" postgresql
  fi
  # the RabbitMQ transport's tests start a private node (test/helpers/rabbitmq.ts); running
  # Coyotes never needs it (an operator who picks -broker-url amqp://… runs their own)
  # (the package's wrapper is in /usr/sbin, on root's PATH: as_root installs)
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    apt_install "the RabbitMQ transport's tests" rabbitmq-server
  fi
}

# --- the dependencies and the build ---------------------------------------------------------
install_dependencies_and_build() {
  pnpm install --frozen-lockfile --reporter=silent
  pnpm run --silent build
}

case "${1:-}" in
  run) install_run_needs ;;
  test)
    install_run_needs
    install_test_needs
    ;;
  *)
    echo "usage: scripts/bootstrap.sh run|test" >&2
    exit 2
    ;;
esac
install_dependencies_and_build
