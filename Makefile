# A thin wrapper around CMake. `make demo` runs the main job, `make test`
# runs every test. CMAKE_FLAGS passes options through, e.g.
#   make test CMAKE_FLAGS="-DDSC_WERROR=ON"   BUILD=build-werror
BUILD ?= build
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build test demo install clean format bench

all: build

$(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)/descent

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

format:
	clang-format -i include/*.h src/*/*.[ch] cli/*.[ch] tests/*.[ch] examples/*.c

clean:
	rm -rf $(BUILD)
