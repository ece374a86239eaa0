# A thin wrapper around CMake. `make demo` runs the main job, `make test`
# runs every test, `make bench` the benchmarks. CMAKE_FLAGS passes options through, e.g.
#   make test CMAKE_FLAGS="-DDSC_WERROR=ON"   BUILD=build-werror
BUILD ?= build
CMAKE_FLAGS ?=
# Extra ctest arguments, e.g. CTEST_ARGS="-LE browser" leaves out the tests
# labelled browser (the lesson page in Chromium).
CTEST_ARGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build test demo install clean format bench bench-peers bench-mpi bench-cnn bench-python bench-sklearn

all: build

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: build
	./scripts/demo.sh $(BUILD)/descent

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

format:
	clang-format -i include/*.h src/*/*.[ch] cli/*.[ch] tests/*.[ch] examples/*.c

clean:
	rm -rf $(BUILD)

# Benchmarks (docs/PERFORMANCE.md): a release build with -march=native in
# $(BENCH_BUILD), then the workloads; `make bench-peers` runs W1-W3 against
# PyTorch/numpy, interleaved. Neither is part of `make test`.
BENCH_BUILD ?= build-bench

$(BENCH_BUILD)/Makefile:
	cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DDSC_NATIVE=ON -DDSC_BUILD_TESTS=OFF

bench: $(BENCH_BUILD)/Makefile
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	sh bench/run_bench.sh $(BENCH_BUILD)

bench-peers: $(BENCH_BUILD)/Makefile
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	sh bench/run_peers.sh $(BENCH_BUILD)

# The convolutional network of issue 15 against PyTorch, interleaved
# (docs/PERFORMANCE.md): samples/s and peak memory; CNN_ROUNDS, CNN_BATCHES.
# `python3 bench/run_cnn.py accuracy` runs the 10-epoch accuracy comparison.
CNN_ROUNDS ?= 3
CNN_BATCHES ?= 150
bench-cnn: $(BENCH_BUILD)/Makefile
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	/usr/bin/python3 bench/run_cnn.py speed $(BENCH_BUILD) $(CNN_ROUNDS) $(CNN_BATCHES)

# Data-parallel scaling over MPI ranks (docs/SCALING.md); needs openmpi-bin.
bench-mpi: $(BENCH_BUILD)/Makefile
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	sh bench/run_scaling.sh $(BENCH_BUILD)

# DescentClassifier against scikit-learn's MLPClassifier on Debian's
# scikit-learn data and a 100,000-row table (bench/python_vs_mlp.py; needs
# python3-sklearn). Figures in bench/results-python.json.
PYTHON ?= /usr/bin/python3
bench-python: $(BENCH_BUILD)/Makefile
	cmake --build $(BENCH_BUILD) -j $(JOBS)
	DESCENT_LIBRARY=$(BENCH_BUILD)/libdescent.so $(PYTHON) bench/python_vs_mlp.py \
	  --out bench/results-python.json

# The README's real-table recipe against scikit-learn's MLP on the same
# splits of Debian's scikit-learn tables, ten seeds each, every metric
# judged as in `make test` (tests/sklearn/judge.py; needs python3-sklearn).
SKLEARN_SEEDS ?= 1,2,3,4,5,6,7,8,9,10
bench-sklearn: build
	$(PYTHON) tests/sklearn/judge.py $(BUILD)/descent --seeds $(SKLEARN_SEEDS) --mlp
