#!/usr/bin/env bash
# In a coverage build, every way the CLI ends (success, usage error, failed
# run) still writes the .gcda counts of the CLI and of the library: the CLI
# ends with _exit, which skips the exit handler that would have written
# them. GCOV_PREFIX sends this test's counts to a directory of its own, so
# the counts of the tests running beside it are not touched.
set -u
descent=$1
bindir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # NAME EXPECTED-STATUS -- ARGS...
    local name=$1 want=$2
    shift 3
    rm -rf "$tmp/gcda"
    GCOV_PREFIX="$tmp/gcda" GCOV_PREFIX_STRIP=0 "$descent" "$@" > /dev/null 2>&1
    local rc=$?
    if [ "$rc" != "$want" ]; then
        echo "FAIL: $name: exit status $rc, expected $want"
        fails=$((fails + 1))
        return
    fi
    for f in descent_cli.dir/cli/main.c.gcda descent_obj.dir/src/base/error.c.gcda; do
        if ! find "$tmp/gcda" -path "*$f" 2> /dev/null | grep -q .; then
            echo "FAIL: $name: no counts written for $f"
            fails=$((fails + 1))
        fi
    done
    echo "ok: $name"
}

printf 'x,y\n1,2\n2,4\n3,6\n' > "$tmp/d.csv"
check "--version" 0 -- --version
check "unknown subcommand" 2 -- nosuch
check "missing data file" 1 -- train --data "$tmp/missing.csv" --target y --layers 1:identity
check "a short training run" 0 -- train --data "$tmp/d.csv" --target y --layers 1:identity --epochs 2 --save "$tmp/m.model"
[ "$fails" = 0 ] || exit 1
echo "coverage_dump: all passed"
