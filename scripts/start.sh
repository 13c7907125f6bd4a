#!/usr/bin/env bash
# Starts Coyotes against a local Redis, installing what running needs first (nothing only tests use:
# see scripts/bootstrap.sh).
# Arguments are the server's flags (Go style, as the seed: -redis-host 127.0.0.1:6379 -concurrent 5).
# When nothing answers on the Redis address, a project-local redis-server is started with its
# data under .coyotes/redis/ and stopped when Coyotes exits.
set -euo pipefail
cd "$(dirname "$0")/.."

redis_addr="${COYOTES_REDIS_HOST:-127.0.0.1:6379}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    -redis-host | --redis-host | -host | --host) redis_addr="${args[$((i + 1))]:-$redis_addr}" ;;
    -redis-host=* | --redis-host=* | -host=* | --host=*) redis_addr="${args[$i]#*=}" ;;
  esac
done
redis_host="${redis_addr%:*}"
redis_port="${redis_addr##*:}"
redis_answers() { (exec 3<>"/dev/tcp/$redis_host/$redis_port") 2>/dev/null; }

# a redis-server is installed only when none answers
if redis_answers; then
  COYOTES_BOOTSTRAP_REDIS=no bash scripts/bootstrap.sh run
else
  bash scripts/bootstrap.sh run
fi

local_redis=""
if ! redis_answers; then
  case "$redis_host" in
    127.* | localhost) ;;
    *) echo "start: nothing answers on $redis_addr and it is not local; start Redis there first" >&2; exit 2 ;;
  esac
  mkdir -p .coyotes/redis
  echo "start: no Redis on $redis_addr: starting a project-local redis-server (data in .coyotes/redis)" >&2
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$PWD/.coyotes/redis" --appendonly yes \
    --daemonize no --logfile "$PWD/.coyotes/redis/redis.log" &
  local_redis=$!
  for _ in $(seq 1 100); do redis_answers && break; sleep 0.1; done
fi

node packages/cli/bin/coyotes.js "$@" &
coyotes=$!
# signals reach coyotes, which drains; Redis stops only after it has exited
for sig in TERM INT USR2; do trap "kill -$sig $coyotes 2>/dev/null" "$sig"; done
status=0
while kill -0 "$coyotes" 2>/dev/null; do wait "$coyotes" && status=0 || status=$?; done
if [ -n "$local_redis" ]; then
  kill -TERM "$local_redis" 2>/dev/null || true
  wait "$local_redis" 2>/dev/null || true
fi
exit "$status"
