#!/usr/bin/env bash
# Calls from the i386 ABI (int 0x80 in a 64-bit process) are trapped and passed, never
# served nor let slip past the cache: an i386 rename must make collrun forget what it
# cached for both names (by name, not by flushing). The output must equal the native run's.
set -u
: "${BUILD:?}" "${COLLRUN:?}" "${SRC:?}"
dir=$BUILD/tests/integration/foreign; rm -rf "$dir"; mkdir -p "$dir"
helper=$dir/i386_calls
gcc -O1 -Wall -Werror -o "$helper" "$SRC/tests/integration/helpers/i386_calls.c" ||
  { echo "FAIL: integration/foreign-abi: cannot build helper"; exit 1; }
for t in native collrun; do mkdir -p "$dir/$t"; echo data >"$dir/$t/a"; done
# collrun never caches what changed since its job started (coarse clock): let the clock
# pass the files' ctime so the collrun run really caches "a" before the i386 rename.
ctime=$(stat -c %Z "$dir/collrun/a")
for _ in $(seq 200); do [ "$(date +%s)" -gt "$ctime" ] && break; sleep 0.01; done

"$helper" "$dir/native" >"$dir/native.out" 2>&1; echo "rc=$?" >>"$dir/native.out"
if ! grep -q '^i386 open a: ok' "$dir/native.out"; then
  echo "SKIP: integration/foreign-abi: this kernel runs no i386 system calls (no IA32 emulation)"; exit 0
fi
"$COLLRUN" --cache="$dir/collrun" --stats-file="$dir/stats" -- "$helper" "$dir/collrun" >"$dir/collrun.out" 2>&1
echo "rc=$?" >>"$dir/collrun.out"
sed -i "s|$dir/native|DIR|g" "$dir/native.out"; sed -i "s|$dir/collrun|DIR|g" "$dir/collrun.out"

fail=0
if diff -u "$dir/native.out" "$dir/collrun.out" >"$dir/diff"; then echo "PASS: integration/foreign-abi/same-results"
else echo "FAIL: integration/foreign-abi/same-results: $(grep '^[-+][^-+]' "$dir/diff" | head -2 | tr '\n' ' ')"; fail=1; fi
foreign=$(sed -nE 's/.*foreign-ABI calls ([0-9]+).*/\1/p' "$dir/stats")
marks=$(sed -nE 's/.*invalidations=([0-9]+).*/\1/p' "$dir/stats")
filled=$(sed -nE 's/.*filled=([0-9]+).*/\1/p' "$dir/stats")
if [ "${foreign:-0}" -ge 3 ]; then echo "PASS: integration/foreign-abi/i386-calls-trapped"
else echo "FAIL: integration/foreign-abi/i386-calls-trapped: foreign-ABI calls=${foreign:-none} (want >= 3)"; fail=1; fi
if [ "${filled:-0}" -ge 1 ] && [ "${marks:-0}" -ge 1 ]; then echo "PASS: integration/foreign-abi/i386-rename-invalidates-both-names"
else echo "FAIL: integration/foreign-abi/i386-rename-invalidates-both-names: filled=${filled:-?} invalidations=${marks:-?}"; fail=1; fi
exit $fail
