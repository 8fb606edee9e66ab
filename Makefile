# vsphere-copy-offload-populator
#
#   make            build build/vsphere-copy-offload-populator
#   make check      install missing build/test packages (deps), build, run every test
#   make check SAN=address,undefined     the same under sanitizers (objects in build/san/)
#   make check-valgrind                  every test binary under valgrind
#   make install PREFIX=/usr DESTDIR=... binary and manual page
#   make lint-man fmt fmt-check clean

.DEFAULT_GOAL := all
PROG       := vsphere-copy-offload-populator
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.0.0)
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config
CC         ?= cc

PKGS := libcurl libxml-2.0 jansson libssh openssl yaml-0.1

ifdef SAN
BUILD := build/san
else
BUILD := build
endif

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wswitch-enum -Wvla -Wnull-dereference -Wpointer-arith -Wcast-qual -Wundef
ifeq ($(findstring clang,$(shell $(CC) --version 2>/dev/null)),)
WARN += -Wmismatched-dealloc
endif

CFLAGS ?= -O2 -g
override CFLAGS   += -std=c11 $(WARN) -MMD -MP
override CPPFLAGS += -D_GNU_SOURCE -I. -DPOP_VERSION='"$(VERSION)"' \
                     $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread

ifdef SAN
override CFLAGS  += -fsanitize=$(SAN) -fno-sanitize-recover=all -fno-omit-frame-pointer
override LDFLAGS += -fsanitize=$(SAN)
endif
ifdef WERROR
override CFLAGS += -Werror
endif

LIB_SRCS  := $(filter-out cmd/main.c,$(wildcard lib/*.c cmd/*.c storage/*.c esxi/*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/cmd/main.o
LIBPOP    := $(BUILD)/libpop.a
BIN       := $(BUILD)/$(PROG)

FAKE_SRCS := $(wildcard test/fake/*.c)
FAKE_OBJS := $(FAKE_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(wildcard test/unit/test_*.c test/integration/test_*.c)
TEST_BINS := $(TEST_SRCS:%.c=$(BUILD)/%)
# Script suites: each prints "N passed, M failed" and exits non-zero on failure.
SCRIPT_TESTS := test/wrapper/run test/sim/test-vcsimx test/sim/arrays/run test/e2e/run test/fuzz/run \
                test/matrix/run

# The wrapper script is embedded with .incbin: rebuild when it changes.
$(BUILD)/esxi/wrapper_embed.o: esxi/vmkfstools-wrapper.sh

.PHONY: check-suites man-vendors demo bench check-image all deps check check-unit check-scripts check-valgrind install uninstall lint-man \
        fmt fmt-check clean vib fuzz fuzz-build

all: $(BIN)

$(BIN): $(MAIN_OBJ) $(LIBPOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIBPOP): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/test/%: $(BUILD)/test/%.o $(FAKE_OBJS) $(LIBPOP)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Debian packages the build and the tests need; installed only when missing.
DEB_PKGS := gcc make pkg-config binutils libcurl4-openssl-dev libjansson-dev libssh-dev \
            libxml2-dev libssl-dev libyaml-dev libcmocka-dev mandoc clang-format valgrind \
            openssl curl libxml2-utils busybox openssh-server golang-go \
            golang-github-vmware-govmomi-dev python3 time file clang libclang-rt-14-dev
deps:
	@missing=$$(dpkg-query -W -f='$${db:Status-Abbrev} $${Package}\n' $(DEB_PKGS) 2>/dev/null \
	    | awk '$$1 == "ii" { print $$2 }' | sort > $(TMPDIR_DEPS).have; \
	    for p in $(DEB_PKGS); do grep -qx "$$p" $(TMPDIR_DEPS).have || echo $$p; done); \
	rm -f $(TMPDIR_DEPS).have; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing:" $$missing; \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all present"; fi
	@# Prism (the Pure API schema check) runs on Node.js; the machine image may already carry it.
	@command -v npm >/dev/null 2>&1 || { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm; }
TMPDIR_DEPS := $(or $(TMPDIR),/tmp)/pop-deps-$(shell id -u)

# The suites are independent (each starts its own simulated world on its own
# ports; shared caches are built under a lock), so they run CHECK_JOBS at a
# time, each one's output printed whole when it ends, every one run even when
# another fails.
CHECK_JOBS ?= 3
# Longest first, so that the last ones to finish are short.
SUITES := check-image $(filter %/test_populate %/test_conformance %/test_secrets,$(TEST_BINS:%=suite-bin/%)) \
          $(SCRIPT_TESTS:%=suite-script/%) \
          $(filter-out %/test_populate %/test_conformance %/test_secrets,$(TEST_BINS:%=suite-bin/%))

check: deps
	$(MAKE) WERROR=1 all tests
	$(MAKE) -k -j$(CHECK_JOBS) --output-sync=target check-suites

check-suites: $(SUITES)

suite-script/%: $(BIN)
	@start=$$(date +%s); echo "=== $*"; \
	POP_BIN=$(abspath $(BIN)) bash $* || { echo "=== $*: FAILED after $$(( $$(date +%s) - start ))s"; exit 1; }; \
	echo "=== $*: passed in $$(( $$(date +%s) - start ))s"

suite-bin/%: %
	@start=$$(date +%s); echo "=== $*"; \
	CMOCKA_MESSAGE_OUTPUT=stdout POP_TEST_BIN=$(abspath $(BIN)) $* || { echo "=== $*: FAILED after $$(( $$(date +%s) - start ))s"; exit 1; }; \
	echo "=== $*: passed in $$(( $$(date +%s) - start ))s"

# The container image built and smoke-run; says "SKIP image: <why>" where podman cannot work.
check-image:
	@start=$$(date +%s); bash test/pkg/image || { echo "=== image: FAILED after $$(( $$(date +%s) - start ))s"; exit 1; }; \
	echo "=== image: passed in $$(( $$(date +%s) - start ))s"

tests: $(TEST_BINS)

check-unit: $(TEST_BINS:%=suite-bin/%)

check-scripts: $(SCRIPT_TESTS:%=suite-script/%)

VALGRIND := valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --suppressions=test/valgrind.supp
check-valgrind: deps
	$(MAKE) WERROR=1 all tests
	@fail=0; for t in $(TEST_BINS); do \
	    echo "=== valgrind $$t"; CMOCKA_MESSAGE_OUTPUT=stdout POP_VALGRIND=1 \
	    POP_TEST_BIN=$(abspath $(BIN)) $(VALGRIND) $$t || fail=1; \
	done; exit $$fail

# The main job on the built-in simulated world (README's first command).
# VENDOR=<driver>|all (default ontap), METHOD=vib|ssh|both (default both).
# CASE=<name>|all runs cases of the copy-offload test matrix instead (thin,
# thick-lazy, thick-eager, multi-disk, two-datastores, rdm, snapshot,
# vvol-snapshot; test/matrix/run), for VENDOR=ontap|pure (default both),
# showing each populate's result and its main log lines.
demo: deps
	$(MAKE) all
ifdef CASE
	MATRIX_VERBOSE=1 MATRIX_VENDORS="$(or $(VENDOR),ontap pure)" \
	MATRIX_METHODS="$(if $(filter-out both,$(METHOD)),$(METHOD),vib ssh)" \
	POP_BIN=$(abspath $(BIN)) bash test/matrix/run $(CASE)
else
	VENDOR="$(VENDOR)" METHOD="$(METHOD)" bash test/demo/run
endif

# Figures about ourselves (medians over several runs); never a pass/fail on time.  The static
# binary is what ships, so its peak RSS is the one measured.
bench: deps
	$(MAKE) all static
	bash test/bench/run

# The manual page's VENDORS section from the registry (test_registry checks it).
man-vendors: $(BUILD)/test/unit/test_registry
	POP_WRITE_MAN=1 $(BUILD)/test/unit/test_registry

vib: $(BUILD)/vib/vmkfstools-wrapper.vib
$(BUILD)/vib/vmkfstools-wrapper.vib: esxi/vmkfstools-wrapper.sh esxi/vib/esxcli-vmkfstools.xml esxi/vib/mkvib
	@mkdir -p $(@D)
	sh esxi/vib/mkvib esxi/vmkfstools-wrapper.sh esxi/vib/esxcli-vmkfstools.xml $(@D)

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/$(PROG)
	install -m 0644 man/$(PROG).1 $(DESTDIR)$(MANDIR)/man1/$(PROG).1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/$(PROG) $(DESTDIR)$(MANDIR)/man1/$(PROG).1

lint-man:
	mandoc -Tlint -Wwarning man/$(PROG).1

FMT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
fmt:
	clang-format -i $(FMT_FILES)
fmt-check:
	clang-format --dry-run -Werror $(FMT_FILES)

clean:
	rm -rf build

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(FAKE_OBJS:.o=.d) $(TEST_BINS:=.d)

# ==== fuzzing (libFuzzer) ========================================================================
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="vim log"]
#                      each harness fuzzes for FUZZ_SECONDS, growing test/fuzz/corpus/<target>/;
#                      crashes land in build/fuzz/artifacts/<target>/
#   make fuzz-build    the harnesses only: build/fuzz/fuzz_<target>
#   (make check runs test/fuzz/run: corpus replay plus a few seconds of fuzzing per harness)
#
# Everything is built with clang and -fsanitize=fuzzer-no-link,address,undefined in build/fuzz/;
# the harnesses link the same objects with -fsanitize=fuzzer.  test/fuzz/fuzz_seams.c replaces
# wait_ms() (no sleeping between retries) and http_transport_curl_new() (the Kubernetes client
# talks to the fuzz input) through ld --wrap.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_ALL     := vim esxcli wrapper storage kube_pv kubeconfig config log
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -O1 -g -std=c11 $(filter-out -Wmismatched-dealloc,$(WARN)) -MMD -MP $(FUZZ_SAN)
FUZZ_LIBOBJS := $(LIB_SRCS:%.c=$(FUZZ_DIR)/%.o)
FUZZ_COMMON  := $(FUZZ_DIR)/test/fuzz/fuzz_transport.o $(FUZZ_DIR)/test/fuzz/fuzz_seams.o
FUZZ_BINS    := $(FUZZ_ALL:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_WRAP    := -Wl,--wrap=wait_ms -Wl,--wrap=http_transport_curl_new

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/esxi/wrapper_embed.o: esxi/vmkfstools-wrapper.sh

$(FUZZ_DIR)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/test/fuzz/%.o: test/fuzz/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(if $(WERROR),-Werror) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libpop.a: $(FUZZ_LIBOBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/test/fuzz/fuzz_%.o $(FUZZ_COMMON) $(FUZZ_DIR)/libpop.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_WRAP) -o $@ $^ $(LDLIBS)

# One harness after the other (the machine's cores are shared), each at low priority.
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p test/fuzz/corpus/$$t $(FUZZ_DIR)/artifacts/$$t; \
	    echo "=== fuzz $$t ($(FUZZ_SECONDS)s)"; \
	    nice $(FUZZ_DIR)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	        -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ \
	        test/fuzz/corpus/$$t 2>&1 | grep -E '^(stat::|==[0-9]+==|SUMMARY|artifact_prefix|Test unit)|Done [0-9]+ runs' ; \
	done; \
	if ls $(FUZZ_DIR)/artifacts/*/* >/dev/null 2>&1; then \
	    echo "fuzz: inputs that crashed or hung:"; ls $(FUZZ_DIR)/artifacts/*/*; exit 1; fi

-include $(FUZZ_LIBOBJS:.o=.d) $(FUZZ_COMMON:.o=.d) $(FUZZ_ALL:%=$(FUZZ_DIR)/test/fuzz/fuzz_%.d)
# ==== end of fuzzing =============================================================================

# ==== packaging: static binary, container image ====================================================
# (this block is owned by the packaging work; the rest of the Makefile is edited elsewhere)
#
#   make static        build/static/vsphere-copy-offload-populator: fully static (-static), stripped
#                      in place; its debug information is kept in ...populator.debug (gnu-debuglink).
#                      libcurl, libssh and libxml2 are rebuilt from Debian's source packages with only
#                      what the populator uses (test/pkg/build-static-deps), cached in
#                      build/static/deps/prefix; the other PKGS come from Debian's static archives.
#   make check-static  check-unit and check-scripts with BIN (so POP_TEST_BIN, POP_BIN) = the static binary;
#                      only the tests that execute the binary see a difference; -k: both suites run
#   make image         the container image (Containerfile) built and smoke-run with podman (test/pkg/image)
#   (test/pkg/sizes prints the sizes of the static binary, the dynamic binary and the image)

STATIC_DIR     := build/static
STATIC_DEPS    := $(STATIC_DIR)/deps
STATIC_PREFIX  := $(STATIC_DEPS)/prefix
STATIC_STAMP   := $(STATIC_PREFIX)/.built
STATIC_BIN     := $(STATIC_DIR)/$(PROG)
STATIC_OBJS    := $(LIB_SRCS:%.c=$(STATIC_DIR)/%.o)
STATIC_MAIN    := $(STATIC_DIR)/cmd/main.o
STATIC_LIBPOP  := $(STATIC_DIR)/libpop.a
# The libraries rebuilt from source; every other entry of PKGS links from Debian's own .a files.
STATIC_REBUILT := libcurl libxml-2.0 libssh
STATIC_SYSPKGS := $(filter-out $(STATIC_REBUILT),$(PKGS))
STATIC_CPPFLAGS = -D_GNU_SOURCE -I. -DPOP_VERSION='"$(VERSION)"' -DCURL_STATICLIB \
                  -I$(STATIC_PREFIX)/include -I$(STATIC_PREFIX)/include/libxml2 \
                  $(shell $(PKG_CONFIG) --cflags $(STATIC_SYSPKGS) 2>/dev/null)
STATIC_LDLIBS   = $(STATIC_PREFIX)/lib/libcurl.a $(STATIC_PREFIX)/lib/libssh.a \
                  $(STATIC_PREFIX)/lib/libxml2.a \
                  $(shell $(PKG_CONFIG) --static --libs $(STATIC_SYSPKGS) 2>/dev/null) -lz -lm -lpthread

.PHONY: static check-static image

# Header dependencies of the static objects (without them a changed struct in a header would link
# stale objects of the old layout into the static binary).
-include $(STATIC_OBJS:.o=.d) $(STATIC_MAIN:.o=.d)

static: $(STATIC_BIN)

$(STATIC_STAMP): test/pkg/build-static-deps
	bash test/pkg/build-static-deps $(STATIC_DEPS)
	@touch $@

$(STATIC_DIR)/%.o: %.c | $(STATIC_STAMP)
	@mkdir -p $(@D)
	$(CC) $(STATIC_CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(STATIC_DIR)/esxi/wrapper_embed.o: esxi/vmkfstools-wrapper.sh

$(STATIC_LIBPOP): $(STATIC_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

# check-static re-enters make with BIN=$(STATIC_BIN) and -o $(STATIC_BIN): there the main link rule
# names this file, and this rule must stay out of the way.
ifneq ($(BIN),$(STATIC_BIN))
# glibc warns that getaddrinfo, getpwnam and dlopen need its shared objects at run time: the
# populator resolves names through files/dns only and never expands ~, so the warnings are expected.
$(STATIC_BIN): $(STATIC_MAIN) $(STATIC_LIBPOP) $(STATIC_STAMP)
	$(CC) -static $(LDFLAGS) -o $@.tmp $(STATIC_MAIN) $(STATIC_LIBPOP) $(STATIC_LDLIBS)
	@if readelf -l $@.tmp | grep -q INTERP; then echo "$@: not static" >&2; rm -f $@.tmp; exit 1; fi
	objcopy --only-keep-debug $@.tmp $@.debug
	strip --strip-all $@.tmp
	objcopy --add-gnu-debuglink=$@.debug $@.tmp
	mv -f $@.tmp $@
	@ls -l $@ | awk '{ printf "%s: %d bytes (%.1f MiB) stripped, static\n", $$NF, $$5, $$5 / 1048576 }'
endif

check-static: static
	$(MAKE) -k -o $(STATIC_BIN) BIN=$(STATIC_BIN) check-unit check-scripts

image:
	bash test/pkg/image
# ==== end of packaging block =====================================================================
