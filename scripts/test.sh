#!/usr/bin/env bash
# Runs the whole test suite on this machine, installing what is missing first.
# Tests start their own redis-server processes on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
pnpm run --silent lint
node scripts/run-tests.mjs "$@"
