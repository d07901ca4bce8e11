#!/usr/bin/env bash
# `make shell`: the action server in the background, then `rasa shell` in the
# terminal. Conversations stay in memory: no Redis, no API key, no WhatsApp.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

mkdir -p .cache
port="${ACTION_PORT:-5055}"
if port_open "$port"; then
  echo "==> an action server already answers on port $port; using it"
else
  echo "==> starting the action server on port $port (log: .cache/actions.log)"
  .venv/bin/python -m actions.server --port "$port" > .cache/actions.log 2>&1 &
  actions_pid=$!
  trap 'kill $actions_pid 2>/dev/null || true' EXIT
  wait_for_url "http://localhost:$port/health" 120 "action server" || { tail -20 .cache/actions.log; exit 1; }
fi
export ACTION_SERVER_URL="http://localhost:$port/webhook"
# The pinned libraries' deprecation walls stay out of the terminal (scripts/rasa.py); the
# project's own warnings still show. TensorFlow's C++ start-up chatter likewise.
export TF_CPP_MIN_LOG_LEVEL=3
echo "==> loading the model, then talk to the assistant (type /stop to leave, /restart to start over)"
.venv/bin/python -m scripts.rasa shell --quiet --model models/current.tar.gz --endpoints endpoints.local.yml
