# relay: one plain, non-recursive Makefile.
#
#   make            release build -> build/relay
#   make run        demo: private icecast2 on loopback + relay, prints URLs
#   make test       deps, build, unit + integration tests ("N passed, N failed")
#   make check      the same suite built with ASan + UBSan
#   make valgrind   the core integration tests with relay under valgrind
#   make fuzz       libFuzzer targets for every parser (FUZZ_SECONDS each)
#   make soak       SOAK_MINUTES of streaming under reloads and restarts
#   make bench      real-time CPU, RSS, wake-ups, latency beside oggenc, ices2, ffmpeg, darkice, liquidsoap
#   make lint       cppcheck + clang-format + shellcheck (when installed)
#   make deps       install missing Debian packages (root) or print the apt-get line
#                   (npm too: the build fetches the page's fallback player)
#
# Objects go to build/<variant>/obj/ (one module: make
# build/release/obj/relay/ring.o); the binary is build/<variant>/relay and
# every unit test links build/<variant>/librelay.a, so tests exercise the
# same code as the binary.

VARIANT ?= release
BUILD := build/$(VARIANT)
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

# DLOPEN_PKGS are compiled against (headers) but not linked: relay loads
# them with dlopen() when a configuration needs them (relay/dynlib.h), so a
# station without audio files, an ALSA input, resampling or an HTTP client (poller,
# listen-back, feeds) does not map them at all. The unit tests link
# libsndfile themselves (they write test files with it). libcurl's headers
# come from libcurl4-openssl-dev; at run time relay loads Debian's GnuTLS
# build (libcurl3-gnutls, installed by make deps), else the OpenSSL one.
DLOPEN_PKGS := sndfile alsa libcurl soxr
PKGS := shout vorbisenc vorbisfile vorbis ogg libmicrohttpd inih \
	libcurl libcjson libcrypto opus libebur128 $(DLOPEN_PKGS)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# LAME (codec = mp3) ships no .pc file in Debian: plain -lmp3lame, and
# the header is checked below like a package.
PKG_LIBS := $(shell pkg-config --libs $(filter-out $(DLOPEN_PKGS),$(PKGS)) \
	2>/dev/null) -lmp3lame
TEST_LIBS := $(shell pkg-config --libs sndfile 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

# Debian package for each pkg-config name, so a build on a machine without
# them says what to install instead of stopping at a missing header.
DEB_shout := libshout-dev
DEB_vorbisenc := libvorbis-dev
DEB_vorbisfile := libvorbis-dev
DEB_vorbis := libvorbis-dev
DEB_ogg := libogg-dev
DEB_libmicrohttpd := libmicrohttpd-dev
DEB_inih := libinih-dev
DEB_sndfile := libsndfile1-dev
DEB_soxr := libsoxr-dev
DEB_alsa := libasound2-dev
DEB_libcurl := libcurl4-openssl-dev
DEB_libcjson := libcjson-dev
DEB_libcrypto := libssl-dev
DEB_cmocka := libcmocka-dev
DEB_opus := libopus-dev
DEB_libebur128 := libebur128-dev
pkg_missing = $(sort $(foreach p,$(1),$(if $(shell \
	pkg-config --exists $(p) 2>/dev/null && echo y),,$(or $(DEB_$(p)),$(p)))))
PKG_MISSING := $(if $(shell command -v pkg-config),,pkg-config) \
	$(call pkg_missing,$(PKGS)) \
	$(if $(wildcard /usr/include/lame/lame.h),,libmp3lame-dev)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wold-style-definition -Wformat=2 -Wundef \
	-Wpointer-arith -Wcast-qual -Wwrite-strings -Wvla -Wdouble-promotion \
	-Wfloat-conversion -Wnull-dereference -Wimplicit-fallthrough \
	-Wswitch-enum -Wno-missing-field-initializers -Wno-format-truncation
# -Wno-format-truncation: messages are built with snprintf into fixed
# buffers on purpose (bounded, never allocated on the audio path); a cut
# message is the intended behaviour, not a bug.
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) -MMD -MP -Irelay \
	-I$(BUILD)/gen
ifeq ($(VARIANT),asan)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
LDOPT := -fsanitize=address,undefined
else ifeq ($(VARIANT),fuzz)
# libFuzzer targets (tests/fuzz/): clang, ASan + UBSan; the library is
# instrumented for coverage, the fuzz binaries link libFuzzer's main.
CC := clang
OPT := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-Wno-unknown-warning-option
LDOPT := -fsanitize=fuzzer,address,undefined
else ifeq ($(VARIANT),tsan)
OPT := -O1 -g -fsanitize=thread
LDOPT := -fsanitize=thread
else
OPT := -O2 -g -D_FORTIFY_SOURCE=2
LDOPT :=
endif
CFLAGS ?=
ALL_CFLAGS = $(BASE_CFLAGS) $(OPT) $(PKG_CFLAGS) $(CFLAGS)
LDLIBS := $(PKG_LIBS) -lm -pthread

GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

LIB_SRCS := $(filter-out relay/main.c,$(wildcard relay/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/www_assets.o
WWW_FILES := $(sort $(wildcard relay/www/*))

# icecast-metadata-player (LGPL-3.0-or-later) plays the Ogg stream where the
# browser cannot (Safari, iOS): the page loads it only there. Fetched with
# npm at build time, pinned by version and integrity, unpacked under
# build/vendor/ (never committed) and embedded under /vendor/ like the
# page's other assets. Its main script finds its chunks (the decoders) next
# to its own URL, so they keep their versioned names; the licence notice
# its first line points to is served under the name it gives. The FLAC
# and MPEG decoders are left out: relay sends Ogg Vorbis.
PLAYER_NPM := icecast-metadata-player
PLAYER_VERSION := 1.17.13
PLAYER_INTEGRITY := sha512-rI1gdxX70egQtuoHrMN7f1dtvY6hJOoGLNZvC39N9WYw6buXwDB15OSj0uccjFjrg7tHhMxRc52s7kNHwvcfDg==
PLAYER_DIR := build/vendor/$(PLAYER_NPM)-$(PLAYER_VERSION)
PLAYER_JS = $(PLAYER_DIR)/build/$(PLAYER_NPM)-$(PLAYER_VERSION).$(1).min.js
PLAYER_CHUNKS := common vorbis opus mediasource synaudio
WWW_VENDOR := /vendor/$(PLAYER_NPM).min.js=$(call PLAYER_JS,main) \
	$(foreach c,$(PLAYER_CHUNKS),/vendor/$(notdir $(call PLAYER_JS,$(c)))=$(call PLAYER_JS,$(c))) \
	/vendor/$(PLAYER_NPM)-LICENSE.txt=$(PLAYER_DIR)/LICENSE \
	/vendor/$(notdir $(call PLAYER_JS,main)).LICENSE.txt=$(call PLAYER_JS,main).LICENSE.txt

# uPlot (the operator page's charts) comes from the npm registry at build
# time, pinned by version and checked against the registry's integrity
# hash; only its two dist files are embedded, never committed.
UPLOT_VERSION := 1.6.32
UPLOT_INTEGRITY := sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==
VENDOR := build/vendor
VENDOR_FILES := $(VENDOR)/uPlot.iife.min.js $(VENDOR)/uPlot.min.css
WWW_FILES += $(VENDOR_FILES)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all run test check tsan valgrind fuzz fuzz-build soak bench lint deps \
	clean install uninstall man unit integration build-test pkgcheck
all: build/relay

# The release binary lives at build/relay; other variants at build/<v>/relay.
ifeq ($(VARIANT),release)
build/relay: $(BUILD)/relay
	$(Q)cp $< $@
else
build/relay:
	$(Q)$(MAKE) --no-print-directory VARIANT=release build/relay
endif

$(BUILD)/relay: $(BUILD)/obj/relay/main.o $(BUILD)/librelay.a
	@echo "  LD      $@"
	$(Q)$(CC) $(OPT) $(LDOPT) -o $@ $^ $(LDLIBS)

$(BUILD)/librelay.a: $(LIB_OBJS)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/obj/relay/version.o: CFLAGS += -DRELAY_GIT_REV='"$(GIT_REV)"'
# The revision is a flag of version.o alone: a stamp holding it, rewritten
# only when it changes, rebuilds version.o when HEAD moves (not only when
# version.c does; tests/integration/72_version_follows_git.sh).
$(BUILD)/obj/relay/version.o: $(BUILD)/gen/git-rev
$(BUILD)/gen/git-rev: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)echo '$(GIT_REV)' | cmp -s - $@ || echo '$(GIT_REV)' >$@
FORCE:
.PHONY: FORCE

# Order-only: runs before any compile, never forces a rebuild. Unit tests
# need cmocka too.
ifneq ($(filter build-test test check tsan,$(MAKECMDGOALS)),)
PKG_MISSING += $(call pkg_missing,cmocka)
endif
pkgcheck:
ifneq ($(strip $(PKG_MISSING)),)
	@echo "relay: missing Debian packages: $(strip $(PKG_MISSING))" >&2
	@echo "relay: 'make deps' installs them (as root), or run:" >&2
	@echo "  apt-get install $(strip $(PKG_MISSING))" >&2
	@exit 1
endif

$(BUILD)/obj/%.o: %.c | pkgcheck
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Page assets (relay/www/* and the vendored player) are embedded at build
# time: relay/www_embed.sh writes a C file of byte arrays plus a
# path -> (type, bytes) table.
$(BUILD)/gen/www_assets.c: $(WWW_FILES) $(PLAYER_DIR)/.unpacked \
		relay/www_embed.sh Makefile
	@mkdir -p $(dir $@)
	@echo "  EMBED   $@"
	$(Q)sh relay/www_embed.sh $@ $(WWW_FILES) $(WWW_VENDOR)

# Needs the network only when neither build/vendor/ nor npm's cache holds
# the tarball.
$(PLAYER_DIR)/.unpacked: relay/www_vendor.sh
	$(Q)sh relay/www_vendor.sh build/vendor $(PLAYER_NPM) \
		$(PLAYER_VERSION) $(PLAYER_INTEGRITY)
	$(Q)touch $@

# npm pack fetches the tarball (or takes it from npm's cache: offline
# builds work once it was fetched); the hash must match before anything in
# it is used.
$(VENDOR)/uplot-$(UPLOT_VERSION).tgz:
	@mkdir -p $(VENDOR)
	@echo "  NPM     uplot@$(UPLOT_VERSION)"
	$(Q)npm pack --silent --prefer-offline --pack-destination $(VENDOR) \
		uplot@$(UPLOT_VERSION) >/dev/null
	$(Q)got="sha512-$$(openssl dgst -sha512 -binary $@ | base64 -w0)"; \
	if [ "$$got" != "$(UPLOT_INTEGRITY)" ]; then \
		echo "uplot@$(UPLOT_VERSION): integrity $$got," \
		    "expected $(UPLOT_INTEGRITY)" >&2; rm -f $@; exit 1; fi

$(VENDOR_FILES): $(VENDOR)/uplot-$(UPLOT_VERSION).tgz
	$(Q)tar -xzf $< -C $(VENDOR) --strip-components=2 \
		package/dist/$(notdir $@)
	$(Q)touch $@

$(BUILD)/obj/www_assets.o: $(BUILD)/gen/www_assets.c | pkgcheck
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/librelay.a
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDOPT) -o $@ $< $(BUILD)/librelay.a \
		$(CMOCKA_LIBS) $(LDLIBS) $(TEST_LIBS)

build-test: $(BUILD)/relay $(UNIT_BINS)

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/bin/%)
FUZZ_SECONDS ?= 60

build/fuzz/bin/%: tests/fuzz/%.c tests/fuzz/fuzz_util.h build/fuzz/librelay.a
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/fuzz $(LDOPT) -o $@ $< \
		build/fuzz/librelay.a $(LDLIBS)

fuzz-build:
	$(Q)$(MAKE) --no-print-directory VARIANT=fuzz $(FUZZ_BINS)

# make fuzz FUZZ_SECONDS=N: every target N seconds from its seeds (and the
# crashes kept as regression inputs); a crash fails.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh

deps:
	@sh tests/deps.sh

run: deps
	$(Q)$(MAKE) --no-print-directory build/relay
	$(Q)sh tests/demo.sh

test: deps
	$(Q)$(MAKE) --no-print-directory VARIANT=$(VARIANT) build-test
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)RELAY_BUILD=$(BUILD) bash tests/run

check: deps
	$(Q)$(MAKE) --no-print-directory VARIANT=asan build-test
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)RELAY_BUILD=build/asan \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	RELAY_TEST_TIMEOUT_MULT=3 RELAY_TEST_JOBS=1 bash tests/run

# The core pipeline's integration tests with relay under valgrind
# (memcheck): any error or definite leak fails the test.
VALGRIND_TESTS ?= 02_tone 03_stdin 04_file 10_sigterm 11_sighup 35_reload
valgrind: deps
	$(Q)$(MAKE) --no-print-directory build-test
	$(Q)RELAY_BUILD=build/release RELAY_TEST_TIMEOUT_MULT=6 RELAY_TEST_JOBS=1 \
	RELAY_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite \
	--suppressions=$(CURDIR)/tests/valgrind.supp" \
	bash tests/run $(VALGRIND_TESTS)

# make soak SOAK_MINUTES=N: N minutes of streaming under reloads, control
# calls, status polling and Icecast restarts (tests/soak.sh).
SOAK_MINUTES ?= 10
soak: deps
	$(Q)$(MAKE) --no-print-directory build/relay
	$(Q)RELAY_BUILD=build/release SOAK_MINUTES=$(SOAK_MINUTES) \
	bash tests/soak.sh

tsan: deps
	$(Q)$(MAKE) --no-print-directory VARIANT=tsan build-test
	$(Q)RELAY_BUILD=build/tsan RELAY_TEST_TIMEOUT_MULT=4 RELAY_TEST_JOBS=1 bash tests/run

bench: deps
	$(Q)$(MAKE) --no-print-directory build/relay
	$(Q)bash tests/bench.sh

lint:
	$(Q)cppcheck --error-exitcode=1 --quiet --enable=warning,performance \
		--inline-suppr -D_GNU_SOURCE relay/
	$(Q)clang-format --dry-run -Werror relay/*.c relay/*.h
	$(Q)if command -v shellcheck >/dev/null; then shellcheck tests/*.sh; fi

# make install PREFIX=/usr/local DESTDIR=...: the binary, the man pages
# (relay.conf(5) lists the key table: generated from relay --dump-config),
# the docs and example configs, and the systemd unit with its paths set.
# make uninstall removes exactly the files in INSTALL_FILES.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
DOCDIR := $(PREFIX)/share/doc/relay
UNITDIR := $(PREFIX)/lib/systemd/system
DOC_FILES := $(wildcard docs/*.md)
INSTALL_FILES := $(BINDIR)/relay $(MANDIR)/man1/relay.1 \
	$(MANDIR)/man5/relay.conf.5 $(UNITDIR)/relay.service \
	$(DOCDIR)/relay.conf.example $(DOCDIR)/demo.conf.example \
	$(DOCDIR)/README.md $(DOC_FILES:docs/%=$(DOCDIR)/%)

man: build/man/relay.1 build/man/relay.conf.5

build/man/relay.1: docs/man/relay.1
	@mkdir -p $(dir $@)
	$(Q)cp $< $@

build/man/relay.conf.5: docs/man/relay.conf.5.in docs/man/relay.conf.5.tail \
		docs/man/keys.awk build/relay
	@mkdir -p $(dir $@)
	@echo "  MAN     $@"
	$(Q){ cat docs/man/relay.conf.5.in; \
	    build/relay --dump-config | awk -f docs/man/keys.awk; \
	    cat docs/man/relay.conf.5.tail; } >$@.tmp && mv $@.tmp $@

install: build/relay man
	install -D -m 0755 build/relay $(DESTDIR)$(BINDIR)/relay
	install -D -m 0644 build/man/relay.1 $(DESTDIR)$(MANDIR)/man1/relay.1
	install -D -m 0644 build/man/relay.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/relay.conf.5
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)
	sed 's#@BINDIR@#$(BINDIR)#g' config/relay.service \
		>$(DESTDIR)$(UNITDIR)/relay.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/relay.service
	install -m 0644 config/relay.conf $(DESTDIR)$(DOCDIR)/relay.conf.example
	install -m 0644 config/demo.conf $(DESTDIR)$(DOCDIR)/demo.conf.example
	install -m 0644 README.md $(DOC_FILES) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build

# Only the compiler's files: a failed test keeps its directory under
# test-logs/, and a file there named *.d (test 70's etc/ca.d) broke make.
-include $(shell find build -path '*/test-logs' -prune -o -name '*.d' \
    -type f -print 2>/dev/null)

# Old layout (objects in build/<variant>/relay/): clear it once.
$(shell for d in build/*/relay; do [ -d "$$d" ] && rm -rf "$$d"; done 2>/dev/null)
