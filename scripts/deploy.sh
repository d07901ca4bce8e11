#!/usr/bin/env bash
# `make deploy`: put the current commit in production with Docker Compose, safely.
#
#   scripts/deploy.sh [--dry-run] [--scale] [--pull] [--skip-tests] [--tag TAG]
#
#   1. back up Redis (BGSAVE, then copy dump.rdb to $BACKUP_DIR)
#   2. test the candidate: `make test` (trains the model if data changed, runs every test)
#   3. build the images tagged TAG (default: the git commit), or pull them (--pull)
#   4. test the model baked into the new Rasa image (`rasa test core` on tests/test_stories.yml)
#   5. switch: action servers first, then Rasa servers, then the review UI; with --scale
#      (docker-compose.scale.yml, replicas behind the proxy) a rolling restart: new
#      containers start next to the old ones and the old ones stop once the new are healthy
#   6. check readiness (/webhooks/evolution/ready, the action server's /ready)
#   7. on any failure after the switch began: roll back to the previous tag and check again
#
# --dry-run prints every command instead of running it (no Docker needed).
# The tag in production is kept in $STATE_DIR/current-tag; the previous one is the rollback.
set -euo pipefail
cd "$(dirname "$0")/.."

DRY_RUN=0
SCALE=0
PULL=0
SKIP_TESTS=0
TAG=""
BACKUP_DIR="${BACKUP_DIR:-backups}"
STATE_DIR="${DEPLOY_STATE_DIR:-.cache/deploy}"
KEEP_BACKUPS="${DEPLOY_KEEP_BACKUPS:-14}"
# Bounds on waiting (a slow machine loads the model for minutes); not speed checks.
READY_TIMEOUT_S="${DEPLOY_READY_TIMEOUT:-600}"
BGSAVE_TIMEOUT_S="${DEPLOY_BGSAVE_TIMEOUT:-300}"
RASA_URL="${DEPLOY_RASA_URL:-http://localhost:${RASA_PORT:-5005}}"

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --scale) SCALE=1 ;;
    --pull) PULL=1 ;;
    --skip-tests) SKIP_TESTS=1 ;;
    --tag) TAG="${2:?--tag needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

step() { echo; echo "==> $*"; }
# Runs a command, or only shows it with --dry-run.
run() {
  echo "+ $*"
  if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}

compose_files=(-f docker-compose.yml)
if [ "$SCALE" = 1 ]; then compose_files+=(-f docker-compose.scale.yml); fi
compose() { docker compose "${compose_files[@]}" "$@"; }

TAG="${TAG:-$(git rev-parse --short=12 HEAD 2>/dev/null || date +%Y%m%d%H%M%S)}"
PREVIOUS_TAG="$(cat "$STATE_DIR/current-tag" 2>/dev/null || true)"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"

if [ "$DRY_RUN" = 0 ]; then
  docker compose version >/dev/null 2>&1 || { echo "error: needs Docker with the compose plugin" >&2; exit 1; }
  : "${RASA_AUTH_TOKEN:?set RASA_AUTH_TOKEN (in .env or the environment)}"
fi
echo "deploy: tag $TAG (previous: ${PREVIOUS_TAG:-none}), scale=$SCALE, dry-run=$DRY_RUN"

# --- 1. backup -----------------------------------------------------------------------------------

backup_redis() {
  step "1. back up Redis to $BACKUP_DIR/redis-$STAMP.rdb"
  run mkdir -p "$BACKUP_DIR"
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ compose exec -T redis redis-cli BGSAVE   (then wait until LASTSAVE changes)"
  else
    local before
    before="$(compose exec -T redis redis-cli LASTSAVE | tr -d '\r')"
    compose exec -T redis redis-cli BGSAVE >/dev/null
    local waited=0
    until [ "$(compose exec -T redis redis-cli LASTSAVE | tr -d '\r')" != "$before" ]; do
      sleep 1; waited=$((waited + 1))
      [ "$waited" -lt "$BGSAVE_TIMEOUT_S" ] || { echo "error: BGSAVE did not finish" >&2; exit 1; }
    done
  fi
  run compose cp redis:/data/dump.rdb "$BACKUP_DIR/redis-$STAMP.rdb"
  if [ "$DRY_RUN" = 0 ]; then
    # Keep the newest $KEEP_BACKUPS backups.
    ls -1t "$BACKUP_DIR"/redis-*.rdb 2>/dev/null | tail -n +"$((KEEP_BACKUPS + 1))" | xargs -r rm -f
  else
    echo "+ keep the newest $KEEP_BACKUPS backups in $BACKUP_DIR"
  fi
}

# --- 2-4. candidate ------------------------------------------------------------------------------

test_candidate() {
  step "2. test the candidate (make test: trains when needed, runs every test)"
  if [ "$SKIP_TESTS" = 1 ]; then echo "skipped (--skip-tests)"; else run make test; fi
}

build_images() {
  if [ "$PULL" = 1 ]; then
    step "3. pull the images tagged $TAG"
    run env APP_TAG="$TAG" docker compose "${compose_files[@]}" pull actions rasa
  else
    step "3. build the images tagged $TAG (the Rasa image trains its model while building)"
    run env APP_TAG="$TAG" docker compose "${compose_files[@]}" build actions rasa
  fi
}

test_image_model() {
  step "4. test the model inside solarprime/rasa:$TAG"
  run env APP_TAG="$TAG" docker compose "${compose_files[@]}" run --rm --no-deps \
    -v "$PWD/tests:/app/tests:ro" rasa \
    rasa test core --model models/current.tar.gz --stories tests/test_stories.yml \
    --fail-on-prediction-errors --out /tmp/results
}

# --- 5-6. switch and check -----------------------------------------------------------------------

wait_healthy() {  # container ids...
  local id status waited=0
  for id in "$@"; do
    while true; do
      status="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")"
      case "$status" in
        healthy) break ;;
        unhealthy|exited|dead) echo "error: container $id is $status" >&2; return 1 ;;
      esac
      sleep 2; waited=$((waited + 2))
      [ "$waited" -lt "$READY_TIMEOUT_S" ] || { echo "error: container $id not healthy" >&2; return 1; }
    done
  done
}

# Starts the service's containers on tag $1. With --scale: new replicas next to the old
# ones, then the old ones go (no moment without a healthy replica); without: recreate.
switch_service() {
  local tag="$1" service="$2"
  # The review UI is one container on a fixed host port: recreated, never doubled.
  if [ "$SCALE" = 0 ] || [ "$service" = review ]; then
    run env APP_TAG="$tag" docker compose "${compose_files[@]}" up -d --no-deps "$service"
    return
  fi
  local old new replicas
  old="$(compose ps -q "$service" 2>/dev/null || true)"
  replicas="$(echo "$old" | grep -c . || true)"
  [ "$replicas" -gt 0 ] || replicas=1
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ APP_TAG=$tag compose up -d --no-deps --no-recreate --scale $service=<2 x replicas> $service"
    echo "+ wait until the new $service containers are healthy"
    echo "+ docker stop / docker rm the old $service containers"
    echo "+ APP_TAG=$tag compose up -d --no-deps --no-recreate --scale $service=<replicas> $service"
    return
  fi
  APP_TAG="$tag" compose up -d --no-deps --no-recreate --scale "$service=$((replicas * 2))" "$service" || return 1
  new="$(compose ps -q "$service" | grep -vxF "$old" || true)"
  # Old replicas keep serving until every new one is healthy; if one is not, they stay.
  wait_healthy $new || return 1
  for id in $old; do docker stop "$id" >/dev/null && docker rm "$id" >/dev/null || return 1; done
  APP_TAG="$tag" compose up -d --no-deps --no-recreate --scale "$service=$replicas" "$service"
}

switch_to() {
  local tag="$1"
  # Explicit returns: inside `switch_to ... || rollback`, bash ignores `set -e`.
  switch_service "$tag" actions || return 1
  switch_service "$tag" rasa || return 1
  switch_service "$tag" review || return 1
  if [ "$SCALE" = 1 ]; then run env APP_TAG="$tag" docker compose "${compose_files[@]}" up -d --no-deps proxy; fi
}

check_ready() {
  step "6. check readiness"
  if [ "$DRY_RUN" = 1 ]; then
    echo "+ wait for GET $RASA_URL/webhooks/evolution/ready = 200 (model, Redis, action server)"
    echo "+ wait for the action servers' GET /ready = 200 and every container healthy"
    return 0
  fi
  local waited=0
  until curl -fsS "$RASA_URL/webhooks/evolution/ready" >/dev/null 2>&1; do
    sleep 2; waited=$((waited + 2))
    [ "$waited" -lt "$READY_TIMEOUT_S" ] || { echo "error: $RASA_URL/webhooks/evolution/ready never answered 200" >&2; return 1; }
  done
  wait_healthy $(compose ps -q actions rasa review)
}

rollback() {
  echo
  echo "==> 7. ROLLBACK to ${PREVIOUS_TAG:-nothing}"
  if [ -z "$PREVIOUS_TAG" ]; then
    echo "error: no previous tag recorded in $STATE_DIR/current-tag: fix forward, or deploy an older commit with --tag" >&2
    exit 1
  fi
  switch_to "$PREVIOUS_TAG"
  check_ready || { echo "error: the rollback is not ready either: look at 'docker compose logs'" >&2; exit 1; }
  echo "rolled back to $PREVIOUS_TAG; the failed tag $TAG stays built for inspection"
  exit 1
}

backup_redis
test_candidate
build_images
test_image_model

step "5. switch to $TAG (action servers, then Rasa servers, then the review UI)"
if [ "$DRY_RUN" = 1 ]; then
  switch_to "$TAG"
  check_ready
  echo
  echo "==> 7. on failure of step 5 or 6: the same switch to the previous tag (${PREVIOUS_TAG:-none recorded}), then step 6 again"
  echo "+ record $TAG in $STATE_DIR/current-tag"
  exit 0
fi
switch_to "$TAG" || rollback
check_ready || rollback

mkdir -p "$STATE_DIR"
[ -z "$PREVIOUS_TAG" ] || echo "$PREVIOUS_TAG" > "$STATE_DIR/previous-tag"
echo "$TAG" > "$STATE_DIR/current-tag"
echo
echo "deployed $TAG (rollback target: ${PREVIOUS_TAG:-none})"
