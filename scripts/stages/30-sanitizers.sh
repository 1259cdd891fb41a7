#!/usr/bin/env bash
# The whole ctest suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (GCC, -O1, its own build-asan/). Any report aborts the test that made it.
# The heap-counting test is left out by tests/CMakeLists.txt (it replaces
# malloc, which the sanitizers own); the data tests run on their usual small
# subsets. Warnings are the host stage's business: not errors here, where -O1
# brings GCC's flow-sensitive false positives.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DMOTE_SANITIZE=address,undefined -DMOTE_BUILD_BENCH=OFF -DMOTE_WERROR=OFF >/dev/null
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "$(nproc)" --timeout 900
