#!/usr/bin/env bash
# Linters and types (`make lint`; `make test` runs it before pytest): ruff over the whole tree,
# mypy over the product packages (strict on observability, sdr, whatsapp, crm and meetings; pyproject.toml).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
echo "ruff check"
.venv/bin/ruff check . || status=1
echo "mypy"
.venv/bin/mypy observability sdr whatsapp crm meetings connectors actions review components || status=1
exit $status
