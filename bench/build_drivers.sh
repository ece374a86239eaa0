#!/bin/sh
# Builds the benchmark drivers against BUILD/libdescent.a (a release build
# made by `make bench`): BUILD/bench/dscbench, BUILD/bench/gemm_bench,
# BUILD/bench/gemm_best and BUILD/bench/twocores.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-bench}
CC=${CC:-cc}
CFLAGS="-std=c11 -O3 -march=native -fopenmp -Wall -Wextra"
mkdir -p "$B/bench"
LIBS="-lm -lpthread"
BLASDEF=""
if "$B/descent" --version 2>/dev/null | grep -q 'cblas: yes'; then
    blas=$(sed -n 's/^CBLAS_LIBRARY:FILEPATH=//p' "$B/CMakeCache.txt")
    inc=$(sed -n 's/^CBLAS_INCLUDE_DIR:PATH=//p' "$B/CMakeCache.txt")
    LIBS="$blas $LIBS"
    BLASDEF="-DDSC_USE_CBLAS=1 -I$inc"
fi
if "$B/descent" --version 2>/dev/null | grep -q 'zlib: yes'; then LIBS="-lz $LIBS"; fi
# shellcheck disable=SC2086
$CC $CFLAGS -Iinclude bench/dscbench.c "$B/libdescent.a" $LIBS -o "$B/bench/dscbench"
# shellcheck disable=SC2086
$CC $CFLAGS $BLASDEF -Iinclude -Isrc bench/gemm_bench.c "$B/libdescent.a" $LIBS -o "$B/bench/gemm_bench"
# shellcheck disable=SC2086
$CC $CFLAGS $BLASDEF -Iinclude -Isrc bench/gemm_best.c "$B/libdescent.a" $LIBS -o "$B/bench/gemm_best"
# shellcheck disable=SC2086
$CC $CFLAGS -Iinclude -Isrc bench/twocores.c "$B/libdescent.a" $LIBS -o "$B/bench/twocores"
