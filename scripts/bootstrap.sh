#!/usr/bin/env bash
# Installs what Coyotes needs on a fresh Debian machine with Node 20 and npm:
# pnpm, a redis-server (Debian's package) when none is installed, a C compiler for the native
# command spawner (Debian's gcc and libc6-dev) when none is installed, the dependencies, the build.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pnpm >/dev/null 2>&1; then
  echo "bootstrap: installing pnpm" >&2
  as_root npm install -g pnpm@9 >/dev/null
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "bootstrap: installing redis-server from Debian's packages" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
if ! command -v cc >/dev/null 2>&1 || [ ! -e /usr/include/spawn.h ]; then
  echo "bootstrap: installing gcc and libc6-dev from Debian's packages (the native command spawner)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "bootstrap: installing chromium from Debian's packages (the dashboard's browser tests)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v supervisord >/dev/null 2>&1; then
  echo "bootstrap: installing supervisor from Debian's packages (the process-manager tests)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq supervisor >/dev/null
fi
# a machine-wide redis-server started by the package is not ours to keep running
pnpm install --frozen-lockfile --reporter=silent
pnpm run --silent build
