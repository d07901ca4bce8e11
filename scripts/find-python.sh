#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or explains how to get one.
# Rasa 3.6.21 (the last open-source release) requires Python >= 3.8, < 3.11;
# the project is pinned and tested on 3.10 only.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
candidates+=(python3.10)
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
for dir in "$pyenv_root"/versions/3.10*/bin; do
  [ -x "$dir/python3.10" ] && candidates+=("$dir/python3.10")
done
candidates+=(/usr/local/bin/python3.10 /usr/bin/python3.10 python3)

for candidate in "${candidates[@]}"; do
  path=$(command -v "$candidate" 2>/dev/null || true)
  if [ -n "$path" ] && is_310 "$path"; then
    # pyenv shims resolve through the shim; ask the interpreter for its real path.
    "$path" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done

cat >&2 <<'MSG'
error: Python 3.10 not found (Rasa 3.6 needs Python < 3.11).
Get one with any of:
  pyenv install 3.10.13                      # then re-run make
  apt-get install python3.10 python3.10-venv # where your distribution has it
  PYTHON=/path/to/python3.10 make setup      # point at an existing interpreter
MSG
exit 1
