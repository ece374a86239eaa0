#!/usr/bin/env bash
# descent gradcheck and the command line's conventions: exit statuses,
# --json, --help, --version, usage errors.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"

# Every activation with every loss it fits passes.
for act in identity softplus relu leaky_relu sigmoid tanh; do
  for loss in ssr mse mae huber; do
    expect_status 0 "$act/$loss" "$cli" gradcheck --layers "4:$act,3:$act" --output identity --loss "$loss" --json
    expect_grep '"ok": true' "$act/$loss json"
  done
  expect_status 0 "$act/bce" "$cli" gradcheck --layers "4:$act" --output sigmoid --loss bce --outputs 1
  expect_status 0 "$act/ce" "$cli" gradcheck --layers "4:$act" --output softmax --loss ce --outputs 3
done
# Unfused: a probability output against bce/ce without the fused logits op.
expect_status 0 "tanh out + mse" "$cli" gradcheck --layers "" --output tanh --loss mse
expect_status 0 "softmax + mse" "$cli" gradcheck --layers 3:relu --output softmax --loss mse --outputs 3

# JSON fields.
"$cli" gradcheck --json > "$tmp/out" 2>&1
expect_grep '"max_rel_error": ' "json max_rel_error"
expect_grep '"params": 26' "json params"

# A tolerance no float computation meets fails with status 1.
expect_status 1 "impossible tolerance" "$cli" gradcheck --layers 4:tanh --tol 0

# Usage errors exit 2 with a message naming the problem.
expect_status 2 "unknown option" "$cli" gradcheck --nope
expect_grep "unknown option '--nope'" "message names the option"
expect_status 2 "bad number" "$cli" gradcheck --batch abc
expect_grep "whole number" "message for a bad number"
expect_status 2 "negative number" "$cli" gradcheck --batch -3
expect_status 2 "missing value" "$cli" gradcheck --batch
expect_status 2 "bad activation" "$cli" gradcheck --output nope
expect_grep "unknown activation 'nope'" "message for a bad activation"
expect_status 2 "bad loss" "$cli" gradcheck --loss nope
expect_status 2 "bad spec" "$cli" gradcheck --layers "4:"
expect_status 2 "--key=value form" "$cli" gradcheck --batch=0
expect_status 0 "--key=value form works" "$cli" gradcheck --batch=3 --seed=4
expect_status 2 "unknown subcommand" "$cli" nope
expect_status 2 "no subcommand" "$cli"
expect_status 0 "--help" "$cli" gradcheck --help
expect_grep "usage: descent gradcheck" "help text"
expect_status 0 "--version" "$cli" --version
expect_grep "gemm: " "version names the build"
expect_grep "threads: " "version names the threads"
# DSC_GEMM_KERNEL pins the matrix multiply's kernel; --version names the
# one in use, and a gradient check passes with each this CPU can run. A
# kernel this CPU lacks, or no such kernel, is ignored.
for k in portable avx2+fma avx512f; do
  case $k in
  avx2+fma) grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo || continue ;;
  avx512f) grep -qw avx512f /proc/cpuinfo 2>/dev/null || continue ;;
  esac
  expect_status 0 "--version with DSC_GEMM_KERNEL=$k" env DSC_GEMM_KERNEL=$k "$cli" --version
  expect_grep "gemm: built-in ($k, " "DSC_GEMM_KERNEL=$k is the kernel in use"
  expect_status 0 "gradcheck with DSC_GEMM_KERNEL=$k" env DSC_GEMM_KERNEL=$k "$cli" gradcheck \
    --inputs 20 --outputs 10 --layers 40:tanh,17:relu --batch 33 --seed 5
done
expect_status 0 "DSC_GEMM_KERNEL=nonsense is ignored" env DSC_GEMM_KERNEL=nonsense "$cli" --version
expect_grep "gemm: built-in (" "a kernel is still chosen"
expect_grep "descent: warning: DSC_GEMM_KERNEL='nonsense' names no kernel (.*portable); ignored" \
  "a kernel name that is none is reported"
if ! grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  expect_status 0 "DSC_GEMM_KERNEL=avx512f without AVX-512" env DSC_GEMM_KERNEL=avx512f "$cli" --version
  expect_grep "DSC_GEMM_KERNEL='avx512f': this CPU cannot run that kernel; ignored" \
    "a kernel this CPU lacks is reported"
fi
# The thread count from the environment: a bad one is reported, training
# goes on with the default.
for v in abc 0 -2 3x; do
  expect_status 0 "DSC_NUM_THREADS='$v'" env DSC_NUM_THREADS="$v" "$cli" gradcheck \
    --inputs 3 --outputs 2 --layers 4:tanh --batch 5 --seed 5
  expect_grep "descent: warning: DSC_NUM_THREADS='$v' is not a whole number of threads from 1 to 256; ignored" \
    "DSC_NUM_THREADS='$v' is reported"
done
expect_status 0 "DSC_NUM_THREADS=100000" env DSC_NUM_THREADS=100000 "$cli" --version
expect_grep "descent: warning: DSC_NUM_THREADS='100000' is more than 256; using 256" "a count too large is capped"
expect_status 0 "two bad settings" env DSC_NUM_THREADS=x DSC_GEMM_KERNEL=y "$cli" --version
expect_grep "DSC_NUM_THREADS='x' is not .*; ignored; DSC_GEMM_KERNEL='y' names no kernel" "both are reported, on one line"
expect_status 0 "good settings" env DSC_NUM_THREADS=2 DSC_GEMM_KERNEL=portable "$cli" --version
if grep -q warning "$tmp/out"; then
  failed=$((failed + 1)); echo "FAIL: good settings gave a warning"; cat "$tmp/out"
else
  passed=$((passed + 1))
fi

finish
