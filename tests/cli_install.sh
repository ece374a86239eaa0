#!/usr/bin/env bash
# make install puts the libraries, headers, tool and descent.pc in place,
# and the example program builds against the installed copy and runs.
set -u
cli=$1
. "$(dirname "$0")/lib_cli.sh"
src=$2
build=$(dirname "$cli")
prefix=$tmp/prefix

expect_status 0 "cmake --install" cmake --install "$build" --prefix "$prefix"
libdir=$(dirname "$(find "$prefix" -name descent.pc | head -1)")/..
expect_status 0 "header installed" test -f "$prefix/include/descent.h"
expect_status 0 "graph header installed" test -f "$prefix/include/descent_graph.h"
expect_status 0 "tool installed" test -x "$prefix/bin/descent"
expect_status 0 "static library installed" test -f "$libdir/libdescent.a"
expect_status 0 "shared library installed" test -f "$libdir/libdescent.so"

cc=${CC:-cc}
if command -v pkg-config > /dev/null; then
  export PKG_CONFIG_PATH=$libdir/pkgconfig
  flags=$(pkg-config --cflags --libs descent)
  expect_status 0 "pkg-config knows descent" pkg-config --exists descent
else
  flags="-I$prefix/include -L$libdir -ldescent"
fi
# Against the shared library.
expect_status 0 "example builds (shared)" \
  "$cc" -std=c11 ${DSC_EXAMPLE_CFLAGS:-} "$src/examples/seed_network.c" $flags -Wl,-rpath,"$libdir" -o "$tmp/example"
expect_status 0 "example runs" "$tmp/example"
expect_grep "w3 = " "example prints a named parameter"
expect_grep "after [0-9]* steps" "example trained"
expect_status 0 "second example builds" \
  "$cc" -std=c11 ${DSC_EXAMPLE_CFLAGS:-} "$src/examples/save_load_predict.c" $flags -Wl,-rpath,"$libdir" -o "$tmp/example2"
expect_status 0 "save, load and predict from C" "$tmp/example2" "$tmp/xor.model"
expect_grep "4 of 4 right" "the loaded model predicts XOR"
expect_status 0 "the saved model reads in the tool" "$prefix/bin/descent" info --model "$tmp/xor.model"
finish
