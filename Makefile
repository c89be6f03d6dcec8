# Entry points. Everything is built by CMake in $(BUILD); these targets only chain the steps.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps configure build demo check unit integration vm bench fmt clean

all: build

deps:
	scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# A container on the bundled busybox image: its hostname, its PID 1 and its id.
demo: deps build
	scripts/demo $(BUILD)

# Every test: unit (GoogleTest) and integration (bats, as root).
check: deps build
	cd $(BUILD) && ctest --output-on-failure -j 1

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: build
	cd $(BUILD) && ctest --output-on-failure -L integration

# Guests booted in qemu (Debian's kernel, fetched once into a cache): cgroup v2 and hybrid.
vm: build
	cd $(BUILD) && ctest --output-on-failure -L vm

bench: deps build
	bench/runtime-lifecycle --runtime $(BUILD)/husk-runtime

fmt:
	git ls-files '*.cpp' '*.hpp' '*.c' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
