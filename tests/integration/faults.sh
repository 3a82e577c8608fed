#!/usr/bin/env bash
# faults.sh — corner cases of serving found by review (issue 9), each native vs collrun:
#   redirect-emfile-*      a redirected open with no descriptor left fails with EMFILE and
#                          creates nothing (helpers/emfile_open.c)
#   script-without-shebang-*  `collrun -- ./script` of a script without #! runs it with
#                          /bin/sh, as shells and env(1) (execvp) do
#   memfd-group-other-*    under --data=memfd, files that uid 65534 may read only through
#                          their group or other bits are served (a second open in the same
#                          process is a hit) and read identically
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
TR=$S/tree                  # a cached tree (--cache), never under /tmp
mkdir -p "$TR"; chmod 0755 "$S" "$TR"
trap 'kill_with "$S/"' EXIT
umask 022

# --- a redirect whose descriptor cannot be installed --------------------------------
EM=$(helper emfile_open)
if [ -n "$EM" ]; then
  R=$S/redirect; mkdir -p "$R"
  printf 'redirect %s %s\n' "$R/orig.txt" "$R/target.txt" >"$S/redirect.policy"
  rm -f "$R/orig.txt" "$R/target.txt"
  "$EM" "$R/orig.txt" >"$S/emfile.native" 2>&1; echo "rc=$?" >>"$S/emfile.native"
  ls -A "$R" >"$S/emfile.native.ls"
  rm -f "$R/orig.txt" "$R/target.txt"
  timeout -k 10 "$HANG" "$COLLRUN" --policy="$S/redirect.policy" -- "$EM" "$R/orig.txt" >"$S/emfile.collrun" 2>&1
  echo "rc=$?" >>"$S/emfile.collrun"
  if ! grep -q '= -1 EMFILE$' "$S/emfile.native" || [ -s "$S/emfile.native.ls" ]; then
    fail redirect-emfile "native run did not fail with EMFILE and create nothing: $(head -1 "$S/emfile.native")"
  else
    if cmp -s "$S/emfile.native" "$S/emfile.collrun"; then pass redirect-emfile-fails-with-emfile
    else fail redirect-emfile-fails-with-emfile "native: $(head -1 "$S/emfile.native"); collrun: $(head -1 "$S/emfile.collrun")"; fi
    if [ ! -e "$R/orig.txt" ]; then pass redirect-emfile-original-not-created
    else fail redirect-emfile-original-not-created "the redirected open created $R/orig.txt (the original path)"; fi
    # natively the program would have opened the target itself: with no descriptor free
    # the kernel gives EMFILE before it looks at the path, and creates nothing
    if [ ! -e "$R/target.txt" ]; then pass redirect-emfile-target-not-created
    else fail redirect-emfile-target-not-created "the call failed with EMFILE, yet $R/target.txt was created"; fi
  fi
fi

# --- a script without #! -------------------------------------------------------------
printf 'echo "run by a shell: $0 $*"\nexit 3\n' >"$TR/noshebang"; chmod 0755 "$TR/noshebang"
noshebang() {   # noshebang NAME PATH: env(1) runs PATH (execvp: ENOEXEC -> /bin/sh); collrun must too
  local d=$S/$1; mkdir -p "$d"
  (cd "$TR" && exec env "$2" a 'b c' </dev/null >"$d/native.out" 2>"$d/native.err"); echo $? >"$d/native.rc"
  (cd "$TR" && exec timeout -k 10 "$HANG" "$COLLRUN" --cache="$TR" -- "$2" a 'b c' </dev/null >"$d/collrun.out" 2>"$d/collrun.err")
  echo $? >"$d/collrun.rc"
  if [ "$(cat "$d/native.rc")" != 3 ] || ! grep -q 'run by a shell' "$d/native.out"; then
    fail "$1" "env $2 did not run the script (rc $(cat "$d/native.rc")): environment broken?"; return
  fi
  same_files "$1" "$d/native" "$d/collrun"
}
noshebang script-without-shebang-relative ./noshebang
noshebang script-without-shebang-absolute "$TR/noshebang"

# --- --data=memfd copies of files readable only through group or other bits -----------
# Owned by root, read by uid 65534 (gid 65534, no other groups): 0604 and 0044 through
# "other", 0040 through the group. `cat F F` opens F twice in one process: the second
# open must be served (more hits than `cat F`), with the same bytes as natively.
if need_root memfd-group-other; then
  mk() { printf 'readable by %s\n' "$1" >"$TR/$1"; chown "root:$2" "$TR/$1"; chmod "$3" "$TR/$1"; }
  mk go0604 root 0604; mk go0044 root 0044; mk go0040 65534 0040
  CR_OPTS=(--cache="$TR" --data=memfd)
  for f in go0604 go0044 go0040; do
    pair "memfd-group-other-$f-read" -w NOBODY cat "$TR/$f" "$TR/$f"
    settle_clock
    "${NOBODY[@]}" "$COLLRUN" "${CR_OPTS[@]}" --stats-file="$S/memfd-group-other-$f-read/once.stats" -- cat "$TR/$f" >/dev/null 2>&1
    once=$(stat_field "$S/memfd-group-other-$f-read/once.stats" served) twice=$(stats_of "memfd-group-other-$f-read" served)
    if [ -n "$once" ] && [ -n "$twice" ] && [ "$twice" -gt "$once" ]; then pass "memfd-group-other-$f-served"
    else fail "memfd-group-other-$f-served" "served: cat F once $once, cat F F $twice (the second open of F was not served)"; fi
  done
  CR_OPTS=()
fi
finish
