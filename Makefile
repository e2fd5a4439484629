# fastlane — build, test, install.
#   make              build fl-relay, fl-apply, fl-dump into build/
#   make test         install dependencies, build, run unit tests (plain and ASan+UBSan),
#                     fuzz briefly, run integration tests against private servers
#   make check-asan   unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make check-stage-trace  the build with per-stage trace points (STAGE_TRACE=1) still builds
#   make check-layers no file includes a header from a higher floor (docs/DESIGN.md)
#   make format-check the sources match .clang-format (scripts/format-check.sh --fix applies it)
#   make fuzz         build and briefly run the libFuzzer targets (clang)
#   make bench        run the benchmarks in bench/
#   make demo         run the live demo (MariaDB -> fl-relay -> fl-apply -> Redis)
#   make deb          a Debian package (dpkg-buildpackage) in build/deb/
#   make install      programs, units, sysusers entry, man pages, example configs
#                     (PREFIX=/usr/local SYSCONFDIR=/etc DESTDIR=)

CC       ?= gcc
# STAGE_TRACE=1: the live path's per-stage timestamps compiled in (common/stage_trace.h), for
# bench/latency.sh's BENCH_LAT_TRACE; never a release. Its objects differ, so it builds into
# build-stages/ unless BUILD names another directory (never build/).
STAGE_TRACE ?=
ifneq ($(STAGE_TRACE),)
BUILD    ?= build-stages
ifeq ($(BUILD),build)
$(error STAGE_TRACE=1 builds into its own directory (BUILD=build-stages), not build/)
endif
endif
BUILD    ?= build
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
UNITDIR  ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR   ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
SAN      ?=
FUZZ_SECONDS ?= 20

PKGS     := lmdb hiredis libmemcached mysqlclient inih libzstd zlib openssl libsystemd
# Dependency headers come in through -isystem: the project's warnings are for its own code.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lm -lpthread
# The Debian package that provides each pkg-config module (and libev, which has none).
PKG_DEBS := lmdb:liblmdb-dev hiredis:libhiredis-dev libmemcached:libmemcached-dev \
	mysqlclient:default-libmysqlclient-dev inih:libinih-dev libzstd:libzstd-dev zlib:zlib1g-dev \
	openssl:libssl-dev libsystemd:libsystemd-dev

# The version every program prints with --version: git describe of the checkout it is built from.
FL_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)

CFLAGS   ?= -O2 -g
WARNINGS := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Werror
override CFLAGS += -std=c17 -D_GNU_SOURCE $(WARNINGS) -I. $(PKG_CFLAGS) $(SAN)
ifneq ($(STAGE_TRACE),)
override CFLAGS += -DFL_STAGE_TRACE
endif
override LDFLAGS += $(SAN)

# Every .c file of a module is library code except the programs' entry points.
MAINS    := fl-relay/main.c fl-apply/main.c fl-dump/main.c
LIB_SRC  := $(filter-out $(MAINS),$(wildcard common/*.c journal/*.c feed/*.c fl-relay/*.c fl-apply/*.c))
# ar keeps members by file name only: two sources with one name would replace each other.
DUP_NAMES := $(shell printf '%s\n' $(notdir $(LIB_SRC)) | sort | uniq -d)
ifneq ($(DUP_NAMES),)
$(error library sources must have distinct file names (libfastlane.a): $(DUP_NAMES))
endif
OBJ      := $(BUILD)/obj
LIB_OBJ  := $(LIB_SRC:%.c=$(OBJ)/%.o)
LIB      := $(BUILD)/libfastlane.a
PROGS    := $(BUILD)/fl-relay $(BUILD)/fl-apply $(BUILD)/fl-dump
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
UNIT_HELPER_OBJ := $(UNIT_HELPERS:%.c=$(OBJ)/%.o)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)

.PHONY: all deps check-libs test unit check-asan check-stage-trace check-layers format-check fuzz integration bench demo install deb clean
all: $(PROGS)

deps:
	@bash scripts/deps.sh

# Before the first compile: every library present, or one line naming the packages to install.
check-libs:
	@missing=""; \
	command -v pkg-config >/dev/null || missing=" pkg-config"; \
	for m in $(PKG_DEBS); do \
		pkg-config --exists "$${m%%:*}" 2>/dev/null || missing="$$missing $${m#*:}"; done; \
	echo '#include <ev.h>' | $(CC) -E -x c - >/dev/null 2>&1 || missing="$$missing libev-dev"; \
	if [ -n "$$missing" ]; then \
		echo "fastlane: cannot build, missing:$$missing. Run 'make deps' (as root: installs every package the build and the tests need), or: apt-get install$$missing" >&2; \
		exit 1; fi

$(OBJ)/%.o: %.c | check-libs
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# cli.o carries the version; it is rebuilt whenever the checkout's HEAD moves.
$(OBJ)/common/cli.o: override CFLAGS += -DFL_VERSION='"$(FL_VERSION)"'
GIT_DIR_PATH := $(shell git rev-parse --git-dir 2>/dev/null)
$(OBJ)/common/cli.o: $(wildcard $(GIT_DIR_PATH)/HEAD $(GIT_DIR_PATH)/index)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fl-relay: $(OBJ)/fl-relay/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/fl-apply: $(OBJ)/fl-apply/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/fl-dump: $(OBJ)/fl-dump/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(UNIT_HELPER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/bench/%: $(OBJ)/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Programs the integration tests drive (tests/tools/NAME.c -> build/tests/tools/NAME).
$(BUILD)/tests/tools/%: $(OBJ)/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

unit: $(PROGS) $(UNIT_BIN)
	@bash tests/run-unit.sh $(BUILD)

check-asan:
	$(MAKE) BUILD=build-asan CC=gcc CFLAGS="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" unit

# The trace points are compiled only with STAGE_TRACE=1: build that way too, so they cannot rot.
check-stage-trace:
	$(MAKE) STAGE_TRACE=1 BUILD=build-stages all

check-layers:
	@bash scripts/check-layers.sh

# Sources as .clang-format has them (scripts/format-check.sh --fix reformats).
format-check:
	@bash scripts/format-check.sh

fuzz:
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

integration: $(PROGS) $(BENCH_BIN) $(TOOL_BIN)
	@bash tests/run-integration.sh $(BUILD)

# The README's test command: everything, on a fresh machine.
test: deps
	@bash tests/run-all.sh

bench: deps $(PROGS) $(BENCH_BIN)
	@bash bench/run.sh $(BUILD)

demo: deps $(PROGS)
	@bash scripts/demo.sh $(BUILD)

MAN_PAGES := $(wildcard man/*.[1-8])

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(SYSCONFDIR)/fastlane
	install -m 0644 systemd/fastlane.sysusers $(DESTDIR)$(SYSUSERSDIR)/fastlane.conf
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)
	for u in systemd/*.service; do \
		sed -e 's#/usr/local/bin/#$(BINDIR)/#g' -e 's#/etc/fastlane/#$(SYSCONFDIR)/fastlane/#g' \
			"$$u" > $(DESTDIR)$(UNITDIR)/$$(basename "$$u") && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename "$$u") || exit 1; done
	for m in $(MAN_PAGES); do \
		s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s && \
		install -m 0644 "$$m" $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	install -m 0644 docs/examples/relay.ini $(DESTDIR)$(SYSCONFDIR)/fastlane/relay.ini.example
	install -m 0644 docs/examples/apply.ini $(DESTDIR)$(SYSCONFDIR)/fastlane/apply.ini.example

# The Debian package (debian/), built from a copy of the checkout's files in $(BUILD)/deb/src so
# that the tree stays clean; the .deb lands in $(BUILD)/deb/.
DEB_DIR := $(BUILD)/deb
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "fastlane: make deb needs dpkg-dev and debhelper (make deps installs them)" >&2; exit 1; }
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z | xargs -0 cp -P --parents -t $(DEB_DIR)/src; \
	else \
		tar -c --exclude=./build\* --exclude=./.git . | tar -x -C $(DEB_DIR)/src; \
	fi
	cd $(DEB_DIR)/src && FL_VERSION=$(FL_VERSION) dpkg-buildpackage -us -uc -b -Jauto
	@ls $(DEB_DIR)/*.deb

clean:
	rm -rf build build-asan build-fuzz build-stages

-include $(LIB_OBJ:.o=.d) $(MAINS:%.c=$(OBJ)/%.d) $(UNIT_BIN:$(BUILD)/tests/%=$(OBJ)/tests/unit/%.d)
