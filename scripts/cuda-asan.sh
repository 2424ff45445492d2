#!/usr/bin/env bash
# Builds the CUDA kernel tests (cuda/tests/*.cc: the real kernel headers under the CPU emulator) with
# g++ -fsanitize=address,undefined and runs them, then checks that a deliberate out-of-bounds read in a kernel is
# caught, so a silently broken sanitizer setup cannot pass. No GPU, nvcc or Node needed: g++ >= 10 on x86-64.
#   scripts/cuda-asan.sh            (build dir: build/cuda-asan, override with EITP_CUDA_ASAN_DIR)
#   scripts/cuda-asan.sh --addon    also builds the emulated addon with the sanitizers and runs the parity,
#                                   fused-vs-composite, cuda, cuda-eitp and cuda-train-fused suites on it (node with libasan preloaded)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${EITP_CUDA_ASAN_DIR:-$root/build/cuda-asan}"
mkdir -p "$out"
cxx="${CXX:-g++}"
flags=(-std=c++20 -O1 -g -DEITP_CUDA_EMU -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
       -fno-strict-aliasing -Wall -Wno-unknown-pragmas -I"$root/cuda")
echo "[cuda-asan] building $out/kernels-test"
"$cxx" "${flags[@]}" -o "$out/kernels-test" "$root/cuda/tests/kernels-test.cc" "$root/cuda/tests/eitp-kernels-test.cc" "$root/cuda/tests/train-kernels-test.cc" \
  "$root/cuda/addon/launch-emu.cc" "$root/cuda/addon/launch-eitp-emu.cc" -lpthread
# detect_leaks=0: the emulator's worker pool is deliberately never torn down (see cuda/emu/emu.h).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
echo "[cuda-asan] running the kernel tests"
"$out/kernels-test"
echo "[cuda-asan] checking that an out-of-bounds kernel read is reported"
if log="$("$out/kernels-test" --out-of-bounds 2>&1)"; then
  echo "$log"
  echo "[cuda-asan] FAIL: the out-of-bounds read was not reported" >&2
  exit 1
fi
if ! grep -q "heap-buffer-overflow" <<<"$log"; then
  echo "$log"
  echo "[cuda-asan] FAIL: expected a heap-buffer-overflow report" >&2
  exit 1
fi
echo "[cuda-asan] ok: kernel tests pass and out-of-bounds kernel reads are caught"

if [[ "${1:-}" == "--addon" ]]; then
  addon_build="$out/addon"
  echo "[cuda-asan] building the emulated addon with -fsanitize=address,undefined in $addon_build"
  cmake -S "$root/cuda/dev" -B "$addon_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEITP_CUDA_SANITIZE=address,undefined >/dev/null
  cmake --build "$addon_build" --target eitp_cuda_emu --parallel "${EITP_BUILD_JOBS:-2}"
  echo "[cuda-asan] running the JS suites on it"
  # node is not instrumented, so the ASan runtime must be loaded first; EITP_CUDA_NO_CACHE=1 frees device memory
  # for real, so a use after free is seen.
  # allocator_may_return_null: test/cuda.test.ts asks for 2^46 bytes on purpose and expects an error, not an abort.
  (cd "$root" && ASAN_OPTIONS="$ASAN_OPTIONS:allocator_may_return_null=1" LD_PRELOAD="$("$cxx" -print-file-name=libasan.so)" EITP_CUDA_NO_CACHE=1 EITP_CUDA_EMULATION=1 EITP_REQUIRE_CUDA=1 \
    EITP_CUDA_ADDON_DIR="$addon_build/Release" npx vitest run test/parity.test.ts test/fused-vs-composite.test.ts test/cuda.test.ts test/cuda-eitp.test.ts test/cuda-train-fused.test.ts)
  echo "[cuda-asan] ok: the JS suites pass on the sanitized emulated addon"
fi
