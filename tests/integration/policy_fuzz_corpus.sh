#!/usr/bin/env bash
# The policy fuzz target (tests/fuzz/policy_fuzz.c) over every file of tests/fuzz/corpus
# once, built with ASan+UBSan (tests/fuzz/fuzz.mk builds $BUILD/tests/fuzz/corpus-runner):
# no crash, sanitizer report, leak or hang. `make fuzz` is the long run.
set -u
: "${BUILD:?}" "${SRC:?}"
name=integration/policy-fuzz-corpus
runner=$BUILD/tests/fuzz/corpus-runner
if [ ! -x "$runner" ]; then echo "FAIL: $name: no $runner (make test-bins builds it)"; exit 1; fi
out=$BUILD/tests/integration/policy-fuzz-corpus.txt
mkdir -p "$(dirname "$out")"
"$runner" -T 30 "$SRC/tests/fuzz/corpus" >"$out" 2>&1; rc=$?
grep -E '^(PASS|FAIL): ' "$out"
if [ "$rc" != 0 ]; then
  grep -q '^FAIL: ' "$out" || echo "FAIL: $name: corpus runner exited $rc"
  grep -E 'ERROR|runtime error|SUMMARY' "$out" | head -5 | sed 's/^/    /'
  exit 1
fi
grep -q '^PASS: ' "$out" || { echo "FAIL: $name: no PASS line"; exit 1; }
