#!/usr/bin/env bash
# Set up, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
TURNGYM_TEST_EXTRAS=1 bash scripts/setup.sh
. .venv/bin/activate
ruff check turngym tests benchmarks
# CI must exercise the real sandbox a real OpenAI-compatible server and a real browser: tests that would
# skip for lack of them fail instead.
TURNGYM_REQUIRE_BWRAP=1 TURNGYM_REQUIRE_LLAMA_SERVER=1 TURNGYM_REQUIRE_PLAYWRIGHT=1 python -m pytest -q "$@"
