#!/usr/bin/env bash
# Calls from the i386 ABI (int 0x80 in a 64-bit process) are trapped and passed, never
# served nor let slip past the cache: an i386 rename must make collrun forget what it
# cached for both names (by name, not by flushing). The output must equal the native run's.
# More i386 calls (helpers/i386_more.c, static so every trapped call is its own): a
# truncate64, chown32, lchown32 or umount between two 64-bit look-ups of a cached path must
# show in the second (collrun must trap them), and an i386 clone3 without namespace flags
# must not make collrun forget its cache (the look-up after it is served; no flush).
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

# --- more i386 calls: one helper run per call, natively and under collrun --cache=DIR ----
more=$dir/i386_more
if ! gcc -static -O1 -Wall -Werror -D_GNU_SOURCE -o "$more" "$SRC/tests/integration/helpers/i386_more.c" 2>"$dir/more.log"; then
  echo "FAIL: integration/foreign-abi/build-i386_more: $(head -2 "$dir/more.log" | tr '\n' ' ')"; exit 1
fi
settle() {  # collrun never caches what changed since its job began: let the coarse clock move
  local a i; : >"$dir/.t1"; a=$(stat -c %z "$dir/.t1")
  for i in $(seq 10000); do : >"$dir/.t2"; [ "$(stat -c %z "$dir/.t2")" != "$a" ] && break; done
}
mounted=()
trap 'for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done' EXIT
# setup T: fresh DIR/T/{native,collrun} with a file f, a link l -> f and (root) a tmpfs on mnt
setup() {
  local t=$1 side
  for side in native collrun; do
    local d=$dir/$t/$side
    mountpoint -q "$d/mnt" 2>/dev/null && umount "$d/mnt"
    rm -rf "$d"; mkdir -p "$d/mnt"; printf 'some data\n' >"$d/f"; ln -s f "$d/l"
    if [ "$t" = umount ]; then
      mount -t tmpfs -o size=64k tmpfs "$d/mnt" || return 1
      mounted+=("$d/mnt"); printf 'on the tmpfs\n' >"$d/mnt/f"
    fi
  done
  settle
}
# more T ARGS... — run `i386_more T ARGS` (DIR in ARGS stands for the side's folder)
more() {
  local t=$1 side d; shift
  for side in native collrun; do
    d=$dir/$t/$side
    local args=("${@//DIR/$d}") pre=()
    [ $side = collrun ] && pre=(timeout -k 10 120 "$COLLRUN" --cache="$d" --stats-file="$dir/$t/stats" --)
    "${pre[@]}" "$more" "$t" "${args[@]}" >"$dir/$t/$side.out" 2>&1; echo "rc=$?" >>"$dir/$t/$side.out"
  done
  if grep -q '^no i386 system calls here' "$dir/$t/native.out"; then
    echo "SKIP: integration/foreign-abi/i386-$t: this kernel runs no i386 system calls"; return 1
  fi
  return 0
}
check() {   # check NAME T: the collrun run printed what the native run printed
  if diff -u "$dir/$2/native.out" "$dir/$2/collrun.out" >"$dir/$2/diff"; then echo "PASS: integration/foreign-abi/$1"
  else echo "FAIL: integration/foreign-abi/$1: $(grep '^[-+][^-+]' "$dir/$2/diff" | head -2 | tr '\n' ' ')"; fail=1; fi
}
setup truncate64 && more truncate64 DIR/f && check i386-truncate64-seen-by-stat truncate64
setup chown32 && more chown32 DIR/f && check i386-chown32-seen-by-stat chown32
setup lchown32 && more lchown32 DIR/l && check i386-lchown32-seen-by-lstat lchown32
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: integration/foreign-abi/i386-umount-trapped: needs root to mount a tmpfs"
elif setup umount; then
  more umount DIR/mnt DIR/mnt/f && check i386-umount-trapped umount
else
  echo "SKIP: integration/foreign-abi/i386-umount-trapped: cannot mount a tmpfs here"
fi
# clone3 without CLONE_NEWNS/NEWUSER: the stat after it must be a hit (the only look-up that
# can be: the helper is static, and the stat before it is the path's first), nothing forgotten.
if setup clone3 && more clone3 DIR/f; then
  check i386-clone3-same-results clone3
  st=$dir/clone3/stats
  served=$(tail -n 1 "$st" 2>/dev/null | tr ' ' '\n' | sed -n 's/^served=//p')
  fl=$(tail -n 1 "$st" 2>/dev/null | tr ' ' '\n' | sed -n 's/^invalidations=//p')
  if [ "${served:-0}" -ge 1 ] && [ "${fl:-0}" = 0 ]; then echo "PASS: integration/foreign-abi/i386-clone3-keeps-cache"
  else echo "FAIL: integration/foreign-abi/i386-clone3-keeps-cache: served=${served:-?} invalidations=${fl:-?} (want the stat after clone3 served, nothing forgotten): $(tail -n 1 "$st" 2>/dev/null)"; fail=1; fi
fi
exit $fail
