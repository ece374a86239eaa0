# Shared helpers for the command-line tests: run a command, compare its
# exit status, grep its output; print "N passed, N failed" at the end.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect_status STATUS NAME COMMAND...: output goes to $tmp/out.
expect_status() {
  local want=$1 name=$2
  shift 2
  "$@" > "$tmp/out" 2>&1
  local got=$?
  if [ "$got" = "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $name: exit status $got, expected $want: $*"
    sed 's/^/    /' "$tmp/out" | head -20
  fi
}

# expect_grep PATTERN NAME: the last command's output contains PATTERN.
expect_grep() {
  if grep -q -- "$1" "$tmp/out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $2: output lacks '$1'"
    sed 's/^/    /' "$tmp/out" | head -20
  fi
}

# expect_no_grep PATTERN NAME
expect_no_grep() {
  if grep -q -- "$1" "$tmp/out"; then
    failed=$((failed + 1))
    echo "FAIL: $2: output contains '$1'"
  else
    passed=$((passed + 1))
  fi
}

# expect_eq A B NAME
expect_eq() {
  if [ "$1" = "$2" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $3: '$1' != '$2'"
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
}
