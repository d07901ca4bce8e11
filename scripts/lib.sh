# Helpers shared by the scripts (sourced, not run).

port_open() {  # port_open PORT: something listens on localhost:PORT
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_url() {  # wait_for_url URL SECONDS NAME
  local url=$1 seconds=$2 name=$3 i
  for ((i = 0; i < seconds * 2; i++)); do
    if .venv/bin/python - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2)
PY
    sleep 0.5
  done
  echo "error: the $name did not answer at $url within ${seconds}s" >&2
  return 1
}
