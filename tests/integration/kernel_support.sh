#!/usr/bin/env bash
# A kernel without seccomp user notification (simulated: seccomp(2) fails as it would there):
# by default collrun says so in one line and serves the program through the ptrace backend;
# with --backend=notify, or on a kernel without seccomp at all, it stops before running
# anything, with one line naming the cause and exit 123; any other filter failure is exit
# 125. Also: the program never runs in those cases.
set -u
: "${BUILD:?}" "${COLLRUN:?}" "${SRC:?}"
dir=$BUILD/tests/integration/kernel; mkdir -p "$dir"
helper=$dir/no_seccomp
gcc -O1 -Wall -Werror -o "$helper" "$SRC/tests/integration/helpers/no_seccomp.c" || { echo "FAIL: integration/kernel-support: cannot build helper"; exit 1; }
fail=0
unset COLLRUN_BACKEND
check() {   # name helper-args expected-rc expected-message-regex [collrun-options]
  local name=$1 err=$2 want=$3 re=$4
  rm -f "$dir/ran"
  # shellcheck disable=SC2086
  "$helper" $err "$COLLRUN" ${5:-} -- /bin/sh -c "touch '$dir/ran'" >"$dir/out" 2>"$dir/err"; rc=$?
  lines=$(wc -l <"$dir/err")
  if [ "$rc" != "$want" ]; then echo "FAIL: integration/$name: exit $rc, want $want ($(head -1 "$dir/err"))"; fail=1
  elif ! grep -Eq "$re" "$dir/err" || [ "$lines" != 1 ]; then echo "FAIL: integration/$name: message: $(cat "$dir/err")"; fail=1
  elif [ -e "$dir/ran" ]; then echo "FAIL: integration/$name: the program ran without collrun"; fail=1
  else echo "PASS: integration/$name"; fi
}
check kernel-without-user-notify-notify-backend-exits-123 "-n 22" 123 '^collrun: this kernel lacks seccomp user notification .*5\.19.*: Invalid argument$' --backend=notify
check kernel-without-seccomp-exits-123 38 123 '^collrun: this kernel lacks seccomp filters: Function not implemented$'
# auto: the program runs, traced; one line says why
rm -f "$dir/ran"
"$helper" -n 22 "$COLLRUN" -- /bin/sh -c "touch '$dir/ran'" >"$dir/out" 2>"$dir/err"; rc=$?
if [ "$rc" = 0 ] && [ -e "$dir/ran" ] && [ "$(cat "$dir/err")" = "collrun: this kernel lacks seccomp user notification: using the ptrace backend" ]; then
  echo "PASS: integration/kernel-without-user-notify-falls-back-to-ptrace"
else echo "FAIL: integration/kernel-without-user-notify-falls-back-to-ptrace: exit $rc, ran=$([ -e "$dir/ran" ] && echo yes || echo no), stderr: $(head -3 "$dir/err")"; fail=1; fi
check filter-refused-otherwise-exits-125 1 125 '^collrun: cannot (build|install) the seccomp filter: '
exit $fail
