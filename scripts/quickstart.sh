#!/usr/bin/env bash
# Set up, then train the default model on the built-in code-interpreter env (CPU, ~15 min).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
turngym train examples/quickstart.yaml "$@"
