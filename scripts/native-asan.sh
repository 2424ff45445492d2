#!/usr/bin/env bash
# Builds the native addon with g++ -fsanitize=address,undefined (CMakeLists.txt's EITP_SANITIZE) and runs the suites
# that drive its C++ on it: every kernel on every instruction set and pool size (the per-ISA tests start fresh
# processes, which load the same build through EITP_NATIVE_ADDON), the cross-backend parity and fused-vs-composite
# suites, the argument sweep (bad attributes that pass the JS checks reach the kernels), training and the CLI.
# First it checks that the build is instrumented, so a silently dropped flag cannot pass.
#   scripts/native-asan.sh          (build dir: build/native-asan, override with EITP_NATIVE_ASAN_DIR)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${EITP_NATIVE_ASAN_DIR:-$root/build/native-asan}"
cxx="${CXX:-g++}"
cd "$root"
echo "[native-asan] building the addon with -fsanitize=address,undefined in $out"
npx cmake-js compile -O "$out" --parallel "${EITP_BUILD_JOBS:-2}" --CDEITP_SANITIZE=address,undefined
addon="$out/Release/eitp_native.node"
# An instrumented build calls ASan's and UBSan's runtimes: their entry points are undefined symbols of the addon.
imports="$(nm -D --undefined-only "$addon")"
for symbol in __asan_report_load4 __ubsan_handle_type_mismatch_v1; do
  if ! grep -q "$symbol" <<<"$imports"; then
    echo "[native-asan] FAIL: $addon does not call $symbol: the sanitizers are not in the build" >&2
    exit 1
  fi
done
echo "[native-asan] running the native suites on it"
# node is not instrumented, so the runtimes must be loaded first. allocator_may_return_null: test/errors.test.ts asks
# for an impossible size on purpose and expects an error, not an abort. detect_leaks=0: the addon's pool and stream
# threads live until exit by design. test/native-heap-thresholds.test.ts is left out: it tests glibc's malloc, which
# ASan's allocator replaces (its own case for that, "an allocator in front of glibc's", runs in npm test).
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}:allocator_may_return_null=1" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
LD_PRELOAD="$("$cxx" -print-file-name=libasan.so) $("$cxx" -print-file-name=libubsan.so)" \
EITP_NATIVE_ADDON="$addon" EITP_REQUIRE_NATIVE=1 \
  npx vitest run $(ls test/native-*.test.ts | grep -v native-heap-thresholds) test/native.test.ts test/parity.test.ts \
  test/fused-vs-composite.test.ts test/public-api-arguments.test.ts test/errors.test.ts test/train-fused-ops.test.ts \
  test/train-trainer.test.ts test/cli.test.ts
echo "[native-asan] ok: the native suites pass on the sanitized addon"
