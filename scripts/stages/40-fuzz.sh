#!/usr/bin/env bash
# Each libFuzzer target (fuzz/) for FUZZ_SECONDS (default 60) from its seed
# corpus in fuzz/corpus/<target>/, built with clang, ASan and UBSan in
# build-fuzz/. New inputs go to a scratch copy, never into the repository; a
# crash leaves its input in build-fuzz/ and fails the stage.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMOTE_FUZZ=ON -DMOTE_SANITIZE=address,undefined -DMOTE_BUILD_TESTS=OFF -DMOTE_WERROR=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz_model_file fuzz_npz fuzz_idx
failed=0
for t in model_file npz idx; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$t"/* "$work"/
  log=build-fuzz/fuzz_$t.log
  if build-fuzz/fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$PWD/build-fuzz/crash-$t-" "$work" >"$log" 2>&1; then
    echo "fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions in ${seconds} s, no finding"
  else
    echo "fuzz_$t: FAILED (input saved as build-fuzz/crash-$t-*)"
    tail -n 40 "$log"
    failed=1
  fi
  rm -rf "$work"
done
exit $failed
