# tests/fuzz/fuzz.mk — fuzzing the policy parser and matcher; included by the top Makefile.
#   make fuzz                 FUZZ_SECONDS (60) of fuzzing with ASan+UBSan: libFuzzer when
#                             clang has it (clang -fsanitize=fuzzer), else the random driver
#   make fuzz FUZZ_ENGINE=random|libfuzzer   choose the engine
#   $(FUZZ_CHECK_BIN)         the corpus runner `make check` uses: every file of
#                             tests/fuzz/corpus once (tests/integration/policy_fuzz_corpus.sh)
# New inputs libFuzzer finds stay in $(BUILD)/tests/fuzz/work (the next run starts from
# them); a failing input is written to $(BUILD)/tests/fuzz/artifacts/. To keep one as a
# regression test, copy it into tests/fuzz/corpus/.
FUZZ_SECONDS  ?= 60
FUZZ_ENGINE   ?= auto
FUZZ_CLANG    ?= clang
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -O1 -g -Ipolicy $(FUZZ_SAN)
FUZZ_POLICY   := policy/parse.c policy/match.c
FUZZ_DIR      := $(BUILD)/tests/fuzz
FUZZ_CHECK_BIN := $(FUZZ_DIR)/corpus-runner
FUZZ_LIBFUZZER_BIN := $(FUZZ_DIR)/policy-libfuzzer

$(FUZZ_CHECK_BIN): tests/fuzz/driver.c tests/fuzz/policy_fuzz.c $(FUZZ_POLICY) policy/policy.h
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/driver.c tests/fuzz/policy_fuzz.c $(FUZZ_POLICY)

$(FUZZ_LIBFUZZER_BIN): tests/fuzz/policy_fuzz.c $(FUZZ_POLICY) policy/policy.h
	@mkdir -p $(dir $@)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ tests/fuzz/policy_fuzz.c $(FUZZ_POLICY)

# auto: libFuzzer if clang can link -fsanitize=fuzzer (probed only when `fuzz` is a goal).
ifeq ($(FUZZ_ENGINE),auto)
ifneq ($(filter fuzz,$(MAKECMDGOALS)),)
FUZZ_AUTO := $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' | \
  $(FUZZ_CLANG) -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1 && echo libfuzzer || echo random)
FUZZ_ENGINE := $(FUZZ_AUTO)
endif
endif

.PHONY: fuzz fuzz-libfuzzer fuzz-random
fuzz: fuzz-$(FUZZ_ENGINE)

fuzz-libfuzzer: $(FUZZ_LIBFUZZER_BIN)
	@mkdir -p $(FUZZ_DIR)/work $(FUZZ_DIR)/artifacts
	$(FUZZ_LIBFUZZER_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
	  -dict=tests/fuzz/policy.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/ -print_final_stats=1 \
	  $(FUZZ_DIR)/work tests/fuzz/corpus
	@echo "fuzz: libFuzzer ran $(FUZZ_SECONDS) s without a failure ($$(ls $(FUZZ_DIR)/work | wc -l) inputs in $(FUZZ_DIR)/work)"

fuzz-random: $(FUZZ_CHECK_BIN)
	$(if $(filter random,$(FUZZ_AUTO)),@echo "fuzz: no libFuzzer ($(FUZZ_CLANG) -fsanitize=fuzzer does not link; Debian: apt-get install clang libclang-rt-14-dev): the random driver")
	@mkdir -p $(FUZZ_DIR)/artifacts
	$(FUZZ_CHECK_BIN) -t $(FUZZ_SECONDS) -o $(FUZZ_DIR)/artifacts tests/fuzz/corpus
