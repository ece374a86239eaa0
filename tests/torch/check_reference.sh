#!/bin/sh
# The PyTorch judge, run by PyTorch itself (CTest label `torch`): regenerates
# the reference runs with Debian's python3-torch, checks that they still
# match the committed ones, then holds descent to the fresh ones.
# Usage: check_reference.sh TEST_TORCH_REF SOURCE_DIR
# Exits 77 (CTest: skipped) when PyTorch cannot be imported, unless
# DSC_REQUIRE_TORCH=1 (CI), where that is a failure.
set -u
py=/usr/bin/python3
here=$2/tests/torch
if ! "$py" -c "import torch" > /dev/null 2>&1; then
  if [ "${DSC_REQUIRE_TORCH:-0}" = 1 ]; then
    echo "error: DSC_REQUIRE_TORCH=1 but $py cannot import torch"
    exit 1
  fi
  echo "skipped: PyTorch is not installed for $py (Debian: apt-get install python3-torch)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" "$here/gen_reference.py" "$tmp/reference.txt" || exit 1
"$py" "$here/compare_reference.py" "$here/reference.txt" "$tmp/reference.txt" || exit 1
"$1" "$tmp/reference.txt" > "$tmp/descent.txt"
status=$?
tail -2 "$tmp/descent.txt"
[ $status = 0 ] || grep FAIL "$tmp/descent.txt"
exit $status
