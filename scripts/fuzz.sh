#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (60) on
# a copy of its seed corpus. A crash leaves its input in fuzz/crashes/ and
# fails the script: add that input to the loader's tests.
set -euo pipefail
seconds=${1:-60}
build=${BUILD:-build-fuzz}
cd "$(dirname "$0")/.."
CC=clang cmake -S . -B "$build" -DDSC_FUZZ=ON -DDSC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
  -DDSC_BUILD_TESTS=OFF -DDSC_WITH_OPENMP=OFF > /dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_csv fuzz_idx fuzz_model
mkdir -p fuzz/crashes
for t in csv idx model; do
  work=$(mktemp -d)
  cp fuzz/corpus/$t/* "$work"/
  echo "fuzz_$t: ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1 "$build/fuzz_$t" -max_total_time="$seconds" -max_len=65536 \
    -artifact_prefix=fuzz/crashes/"$t"- -print_final_stats=1 "$work" 2>&1 |
    grep -E "stat::number_of_executed_units|ERROR|SUMMARY" || true
  rm -rf "$work"
done
if ls fuzz/crashes/* > /dev/null 2>&1; then
  echo "fuzz: crashes found in fuzz/crashes/"
  exit 1
fi
echo "fuzz: no crashes"
