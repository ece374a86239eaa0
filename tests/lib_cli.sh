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

# json FILE EXPR: EXPR evaluated on FILE's JSON object, bound to j.
json() { python3 -c "import json,sys; j=json.load(open('$1')); print($2)"; }
# The bytes of the PARM chunk of a model file (its parameters).
params_of() {
  python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
pos = 12
while pos + 8 <= len(b):
    tag, n = b[pos:pos+4], int.from_bytes(b[pos+4:pos+8], 'little')
    if tag == b'PARM':
        print(b[pos+8:pos+8+n].hex()); break
    pos += 8 + n
PY
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
}
