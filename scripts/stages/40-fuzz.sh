#!/usr/bin/env bash
# Each libFuzzer target (fuzz/) for FUZZ_SECONDS (default 60) from its seed
# corpus in fuzz/corpus/<target>/, built with clang, ASan and UBSan in
# build-fuzz/. New inputs go to a scratch copy, never into the repository; a
# crash leaves its input in build-fuzz/ and fails the stage.
# The targets run side by side, one per core (each still gets its FUZZ_SECONDS
# of one core): on 2 cores the three take 2 x 60 s instead of 3 x 60 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-60}
jobs=$(nproc)
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMOTE_FUZZ=ON -DMOTE_SANITIZE=address,undefined -DMOTE_BUILD_TESTS=OFF -DMOTE_WERROR=ON >/dev/null
cmake --build build-fuzz -j "$jobs" --target fuzz_model_file fuzz_npz fuzz_idx

# One target: its verdict line goes to build-fuzz/fuzz_<t>.verdict, the exit
# status says whether it found something.
fuzz_one() {
  local t=$1 work log status=0
  work=$(mktemp -d)
  cp fuzz/corpus/"$t"/* "$work"/
  log=build-fuzz/fuzz_$t.log
  if build-fuzz/fuzz/fuzz_"$t" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$PWD/build-fuzz/crash-$t-" "$work" >"$log" 2>&1; then
    echo "fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') executions in ${seconds} s, no finding"
  else
    echo "fuzz_$t: FAILED (input saved as build-fuzz/crash-$t-*)"
    status=1
  fi >build-fuzz/fuzz_"$t".verdict
  rm -rf "$work"
  return $status
}

targets=(model_file npz idx)
failed=0
running=()
for t in "${targets[@]}"; do
  if [ ${#running[@]} -ge "$jobs" ]; then  # wait for the oldest before starting another
    wait "${running[0]}" || failed=1
    running=("${running[@]:1}")
  fi
  fuzz_one "$t" &
  running+=($!)
done
for pid in "${running[@]}"; do wait "$pid" || failed=1; done
for t in "${targets[@]}"; do
  cat build-fuzz/fuzz_"$t".verdict
  if grep -q FAILED build-fuzz/fuzz_"$t".verdict; then tail -n 40 build-fuzz/fuzz_"$t".log; fi
done
exit $failed
