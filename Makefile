# collrun — build, test, demo, install. Plain GNU make; everything lands in build/.
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
SANITIZE  ?= 0
ifeq ($(SANITIZE),1)
BUILD     ?= build-asan
else
BUILD     ?= build
endif

# Debian packages: build, tests, benchmarks. `make deps` installs them (root) or prints the line.
# slurmctld slurmd slurm-client munge: tests/integration/slurm.sh runs a one-node cluster
# (Debian's MPICH speaks PMI to srun's mpi/pmi2 plugin itself; libpmi2-0 is not needed).
DEB_PKGS  := gcc make pkg-config libseccomp-dev libcriterion-dev busybox-static \
             python3 python3-numpy python3-dev perl git strace hyperfine fuse3 libfuse3-dev \
             mpich gnuplot-nox slurmctld slurmd slurm-client munge libunwind-dev

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -DCOLLRUN_VERSION='"$(VERSION)"' \
             -I. -Isupervisor -Ipolicy -Itracee-shim -DCOLLRUN_DATADIR='"$(PREFIX)/share/collrun"' 
# libunwind's remote unwinder (supervisor/backtrace.c, --audit --backtrace); _UPT
# (libunwind-ptrace) only for bench/backtrace's comparison.
UNWIND_LIBS := -lunwind-generic -lunwind
# libseccomp is linked in (its archive is position-independent) and libunwind is loaded only
# when --backtrace walks a stack (supervisor/backtrace.c): every launch used to load four
# libraries besides libc, 0.1-0.35 ms (bench/fastpath-account.md).
LDLIBS    := -Wl,-Bstatic -lseccomp -Wl,-Bdynamic
# collrun's own libraries are found where they were at build time (DT_RPATH, searched
# before LD_LIBRARY_PATH) rather than by probing every folder of the job's LD_LIBRARY_PATH
# first: on a parallel file system that was hundreds of look-ups per rank before the job
# even started (tests/integration/discovery.sh, collrun-given-ld-path).
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
ifneq ($(MULTIARCH),)
LDFLAGS   += -Wl,--disable-new-dtags,-rpath,/lib/$(MULTIARCH):/usr/lib/$(MULTIARCH)
endif
ifeq ($(SANITIZE),1)
CFLAGS    += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
endif

POLICY_SRC := $(wildcard policy/*.c)
SHIM_SRC   := $(wildcard tracee-shim/*.c)
SUP_SRC    := $(filter-out supervisor/main.c,$(wildcard supervisor/*.c supervisor/handlers/*.c supervisor/cache/*.c)) \
              supervisor/session/mountinfo.c
LIB_OBJ    := $(patsubst %.c,$(BUILD)/obj/%.o,$(POLICY_SRC) $(SHIM_SRC) $(SUP_SRC)) $(BUILD)/obj/gen/default_policy.o
MAIN_OBJ   := $(BUILD)/obj/supervisor/main.o
HDRS       := $(wildcard */*.h supervisor/*/*.h)

UNIT_SRC   := $(wildcard tests/unit/*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
PROBES     := $(BUILD)/tests/diff/probe $(BUILD)/tests/diff/probe-static
BENCH_BIN  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

.PHONY: all check demo deps deps-if-root install uninstall clean bench bench-quick test-bins
all: $(BUILD)/collrun

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The default policy text, compiled in: the same file `make install` puts in DATADIR.
$(BUILD)/gen/default_policy.c: policy/default.policy policy/embed.sh
	@mkdir -p $(dir $@)
	policy/embed.sh $< collrun_default_policy > $@
$(BUILD)/obj/gen/default_policy.o: $(BUILD)/gen/default_policy.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# The seccomp programs, compiled once here by libseccomp instead of at every launch.
$(BUILD)/filter-gen: tracee-shim/gen/filter_gen.c $(BUILD)/libcollrun.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libcollrun.a $(LDLIBS)
$(BUILD)/gen/filter_bpf.c: $(BUILD)/filter-gen
	@mkdir -p $(dir $@)
	$(BUILD)/filter-gen > $@.tmp && mv $@.tmp $@
$(BUILD)/obj/gen/filter_bpf.o: $(BUILD)/gen/filter_bpf.c tracee-shim/filter_prebuilt.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
PREBUILT_OBJ := $(BUILD)/obj/gen/filter_bpf.o

$(BUILD)/libcollrun.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/collrun: $(MAIN_OBJ) $(PREBUILT_OBJ) $(BUILD)/libcollrun.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(PREBUILT_OBJ) $(BUILD)/libcollrun.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(PREBUILT_OBJ) $(BUILD)/libcollrun.a $(LDLIBS) -lcriterion

# The differential probe, built the two ways a real job meets: dynamic and fully static.
# Never sanitized: its output must not depend on how collrun itself was built.
PROBE_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -O1 -g -pthread
$(BUILD)/tests/diff/probe: tests/diff/probe.c
	@mkdir -p $(dir $@)
	gcc $(PROBE_CFLAGS) -o $@ $<
$(BUILD)/tests/diff/probe-static: tests/diff/probe.c
	@mkdir -p $(dir $@)
	gcc $(PROBE_CFLAGS) -static -o $@ $<

# backtrace_test's probe: open() called through outer -> middle -> inner, dynamic and static
# (a static binary has no .eh_frame_hdr). Never sanitized, like the probe.
BT_HELPERS := $(BUILD)/tests/helpers/bt_chain $(BUILD)/tests/helpers/bt_chain_static
$(BUILD)/tests/helpers/bt_chain: tests/integration/helpers/bt_chain.c
	@mkdir -p $(dir $@)
	gcc $(PROBE_CFLAGS) -o $@ $<
$(BUILD)/tests/helpers/bt_chain_static: tests/integration/helpers/bt_chain.c
	@mkdir -p $(dir $@)
	gcc $(PROBE_CFLAGS) -static -o $@ $<
$(BUILD)/tests/unit/backtrace_test: tests/unit/bt_harness.h | $(BT_HELPERS)
# Another supervisor's seccomp listener, for the diff suite's pass under it (tests/run.sh).
$(BUILD)/tests/helpers/outer_listener: tests/integration/helpers/outer_listener.c
	@mkdir -p $(dir $@)
	gcc $(PROBE_CFLAGS) -o $@ $<
test-bins: $(BUILD)/tests/helpers/outer_listener

# bt_collect against libunwind's own _UPT accessors (bench/run-backtrace.sh).
$(BUILD)/bench/backtrace: bench/backtrace.c bench/timing.h tests/unit/bt_harness.h $(BUILD)/libcollrun.a $(BT_HELPERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libcollrun.a $(LDLIBS) -lunwind-ptrace $(UNWIND_LIBS)

# decide() benchmark links the policy library itself (pure C, no other objects).
$(BUILD)/bench/decide: bench/decide.c bench/timing.h $(POLICY_SRC) policy/policy.h
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -Ipolicy -o $@ bench/decide.c $(POLICY_SRC)

$(BUILD)/bench/%: bench/%.c bench/timing.h
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2 -o $@ $<

test-bins: $(BUILD)/collrun $(UNIT_BIN) $(PROBES) $(BT_HELPERS)

# The session transport (supervisor/session/, issue 10) links libmpi, so it is built into its
# own program, collrun-session, and never into collrun: a rank wrapper must not call MPI_Init
# inside the application's MPI job. entry.c has no MPI and is unit-tested alone. Without
# MPICH's pkg-config file the MPI programs are left out and their tests SKIP. SANITIZE=1
# builds them sanitized too (tests/integration/session_stream.sh says why leak checking is
# off for MPI runs).
MPI_CFLAGS   := $(shell pkg-config --cflags mpich 2>/dev/null)
MPI_LIBS     := $(shell pkg-config --libs mpich 2>/dev/null)
SESSION_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard supervisor/session/*.c))
$(SESSION_OBJ): CFLAGS += $(MPI_CFLAGS)
ifneq ($(MPI_LIBS),)
SESSION_BINS := $(BUILD)/collrun-session $(BUILD)/bench/plain_bcast
endif
test-bins: $(SESSION_BINS)
# rendezvous.o: the members find the same private directory as collrun (no MPI in it).
$(BUILD)/collrun-session: $(SESSION_OBJ) $(BUILD)/obj/supervisor/rendezvous.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(MPI_LIBS)
$(BUILD)/tests/unit/session_entry_test: tests/unit/session_entry_test.c $(BUILD)/obj/supervisor/session/entry.o $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/obj/supervisor/session/entry.o -lcriterion
# The plain MPI_Bcast that bench/run-bcast.sh compares the stream with.
$(BUILD)/bench/plain_bcast: bench/mpi/plain_bcast.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) $(LDFLAGS) -o $@ $< $(MPI_LIBS)

deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); \
	else echo "run as root:  apt-get install -y $(DEB_PKGS)"; fi

# Install missing packages when we can (root), so `make check`/`make demo` work on a fresh machine.
deps-if-root:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deps; \
	  else echo "missing Debian packages:$$missing — run: sudo make deps"; exit 1; fi; fi

check: deps-if-root
	$(MAKE) --no-print-directory test-bins
	BUILD=$(abspath $(BUILD)) SRC=$(CURDIR) COLLRUN=$(abspath $(BUILD)/collrun) tests/run.sh

demo: deps-if-root
	$(MAKE) --no-print-directory all
	@./bench/demo.sh $(abspath $(BUILD)/collrun)

# bench: everything (~26 min on 2 cores): rewrites bench/RESULTS.md and bench/results/*.png.
# bench-quick: the same at smoke-test sizes (~2 min), written to $(BUILD)/bench/RESULTS.md and
# $(BUILD)/bench/results/ so that a smoke run never overwrites the committed full results.
bench: deps-if-root
	$(MAKE) --no-print-directory all $(BENCH_BIN) slowfs
	BUILD=$(abspath $(BUILD)) COLLRUN=$(abspath $(BUILD)/collrun) bench/run-all.sh
bench-quick: deps-if-root
	$(MAKE) --no-print-directory all $(BENCH_BIN) slowfs
	BUILD=$(abspath $(BUILD)) COLLRUN=$(abspath $(BUILD)/collrun) bench/run-all.sh quick

# collrun-session (built with MPICH) goes beside collrun: that is where sessions look first.
install: $(BUILD)/collrun $(if $(MPI_LIBS),$(BUILD)/collrun-session)
	install -D -m 0755 $(BUILD)/collrun $(DESTDIR)$(PREFIX)/bin/collrun
	if [ -x $(BUILD)/collrun-session ]; then install -D -m 0755 $(BUILD)/collrun-session $(DESTDIR)$(PREFIX)/bin/collrun-session; fi
	install -D -m 0644 man/collrun.1 $(DESTDIR)$(PREFIX)/share/man/man1/collrun.1
	install -D -m 0644 policy/default.policy $(DESTDIR)$(PREFIX)/share/collrun/default.policy
	if [ -f man/collrun-policy.5 ]; then install -D -m 0644 man/collrun-policy.5 $(DESTDIR)$(PREFIX)/share/man/man5/collrun-policy.5; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/collrun $(DESTDIR)$(PREFIX)/bin/collrun-session \
	      $(DESTDIR)$(PREFIX)/share/man/man1/collrun.1 \
	      $(DESTDIR)$(PREFIX)/share/man/man5/collrun-policy.5 $(DESTDIR)$(PREFIX)/share/collrun/default.policy

clean:
	rm -rf $(BUILD)

# bench/: the slow counting file system and the library-heavy workload (issue 5)
include bench/workload.mk

# tests/fuzz: `make fuzz` (bounded) and the corpus runner `make check` uses
include tests/fuzz/fuzz.mk
test-bins: $(FUZZ_CHECK_BIN)
