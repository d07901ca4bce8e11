#!/usr/bin/env bash
# `make run`: the production stack on this machine. The action server runs in
# the background; the Rasa server (channels of credentials.yml, HTTP API behind
# RASA_AUTH_TOKEN, Redis tracker and lock stores of endpoints.yml) in front.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

if [ -z "${RASA_AUTH_TOKEN:-}" ]; then
  echo "error: set RASA_AUTH_TOKEN (in .env or the environment): it protects Rasa's HTTP API" >&2
  exit 1
fi
if ! .venv/bin/python -c "import os, redis; redis.Redis(host=os.environ['REDIS_HOST'], port=int(os.environ['REDIS_PORT']), password=os.environ.get('REDIS_PASSWORD') or None, socket_timeout=3).ping()" 2>/dev/null; then
  echo "error: Redis does not answer at ${REDIS_HOST}:${REDIS_PORT}." >&2
  echo "Start one with: redis-server --daemonize yes --port ${REDIS_PORT}" >&2
  exit 1
fi

mkdir -p .cache
port="${ACTION_PORT:-5055}"
echo "==> action server on port $port (log: .cache/actions.log)"
.venv/bin/python -m actions.server --port "$port" > .cache/actions.log 2>&1 &
actions_pid=$!
trap 'kill $actions_pid 2>/dev/null || true' EXIT
wait_for_url "http://localhost:$port/health" 120 "action server" || { tail -20 .cache/actions.log; exit 1; }

# The review UI runs once it has accounts (`python -m review users add …`), or on a first
# run with REVIEW_TOKEN, which makes its first admin (`admin`, the token as password).
if [ -n "${REVIEW_TOKEN:-}" ] || .venv/bin/python -m review users list > /dev/null 2>&1; then
  echo "==> review UI on http://${REVIEW_HOST:-127.0.0.1}:${REVIEW_PORT:-5002}/ (log: .cache/review.log)"
  RASA_URL="http://localhost:${RASA_PORT:-5005}" .venv/bin/python -m review > .cache/review.log 2>&1 &
  review_pid=$!
  trap 'kill $actions_pid $review_pid 2>/dev/null || true' EXIT
else
  echo "==> review UI skipped (no account yet: set REVIEW_TOKEN for a first admin, or run python -m review users add NAME --role admin)"
fi

workers="${SANIC_WORKERS:-2}"
echo "==> Rasa server on port ${RASA_PORT:-5005} ($workers worker processes)"
# Sanic's access log: Rasa discards its lines at the default LOG_LEVEL_LIBRARIES,
# but building them costs every request (~12% of a webhook); "true" brings it back.
SANIC_ACCESS_LOG="${SANIC_ACCESS_LOG:-false}" SANIC_WORKERS="$workers" .venv/bin/rasa run --enable-api --auth-token "$RASA_AUTH_TOKEN" \
  --model models/current.tar.gz --endpoints endpoints.yml --credentials credentials.yml \
  --port "${RASA_PORT:-5005}"
