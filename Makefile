# hapbx top-level commands. `make demo` and `make test` are the two a newcomer runs.
SHELL := /bin/bash
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_FLAGS = -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

# Every Debian package the build, the tests and the demo use.
PACKAGES = build-essential cmake ninja-build ccache clang libclang-rt-14-dev \
  libasio-dev libssl-dev libsqlite3-dev sqlite3 libspdlog-dev libfmt-dev libcli11-dev \
  libgtest-dev libgmock-dev libbenchmark-dev \
  sip-tester baresip-core kamailio iproute2 procps python3 \
  libfuse3-dev fuse3 e2fsprogs fio pkg-config iputils-ping nftables util-linux libnl-route-3-dev
# Only the benchmarks need these (the rtpengine anchor, chrt/setsid; the failover anchors
# keepalived and Heartbeat 3 with its IPaddr agent and ifconfig, stress-ng for the soak), so
# `make test` does not install them; without recommends, so no kernel module is built.
BENCH_PACKAGES = rtpengine-daemon util-linux keepalived heartbeat resource-agents net-tools stress-ng

.PHONY: all deps bench-deps install-packages build build-asan test unit-test asan-test integration-test demo fuzz bench bench-register bench-calls bench-media bench-replica bench-failover bench-ha clean

all: build

deps:
	@$(MAKE) --no-print-directory install-packages WANTED="$(PACKAGES)"

bench-deps: deps
	@$(MAKE) --no-print-directory install-packages WANTED="$(BENCH_PACKAGES)" APT_FLAGS=--no-install-recommends

install-packages:
	@missing=$$(for p in $(WANTED); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(APT_FLAGS) $$missing; \
	fi

build:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

build-asan:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DHAPBX_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)

unit-test: build
	cd $(BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

asan-test: build-asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -L unit --output-on-failure -j $(JOBS)

integration-test: build
	cd $(BUILD) && ctest -L integration --output-on-failure

# The whole suite: unit tests (normal and ASan+UBSan builds) and the integration tests with
# real peers (sipp, baresip).
test: deps
	$(MAKE) unit-test
	$(MAKE) asan-test
	$(MAKE) integration-test

demo: deps build
	bash lab/demo.sh $(BUILD)/bin

fuzz: deps
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(CMAKE_FLAGS) -DHAPBX_FUZZ=ON -DHAPBX_SANITIZE=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@echo "run e.g.: mkdir -p /tmp/new-corpus && $(FUZZ_BUILD)/bin/sip_message_fuzz -max_total_time=60 /tmp/new-corpus tests/fuzz/corpus/sip_message"

# Benchmarks against anchors run in the same script (docs/performance.md). Long: not in `make test`.
bench: bench-register bench-calls bench-media bench-replica bench-failover bench-ha

bench-register: deps build
	bash bench/register.sh $(BUILD)/bin

bench-calls: deps build
	bash bench/calls.sh $(BUILD)/bin

bench-media: bench-deps build
	bash bench/media.sh $(BUILD)/bin

bench-replica: deps build
	bash bench/replica.sh $(BUILD)/bin

# The failover faults, failbacks and the SIGKILL check (about 45 min); the 10-minute soak under
# stress-ng is its own mode: bash bench/failover.sh $(BUILD)/bin soak
bench-failover: bench-deps build
	bash bench/failover.sh $(BUILD)/bin

# The whole HA PBX: TRIALS power losses and cable pulls of the active node (tests/ha/ha_lib.sh).
bench-ha: deps build
	bash bench/ha.sh $(BUILD)/bin

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
