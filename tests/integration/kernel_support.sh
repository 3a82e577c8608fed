#!/usr/bin/env bash
# A kernel without seccomp user notification (simulated: seccomp(2) fails as it would there)
# makes collrun stop before running anything, with one line naming the cause and exit 123;
# any other filter failure is exit 125. Also: the program never runs in that case.
set -u
: "${BUILD:?}" "${COLLRUN:?}" "${SRC:?}"
dir=$BUILD/tests/integration/kernel; mkdir -p "$dir"
helper=$dir/no_seccomp
gcc -O1 -Wall -Werror -o "$helper" "$SRC/tests/integration/helpers/no_seccomp.c" || { echo "FAIL: integration/kernel-support: cannot build helper"; exit 1; }
fail=0
check() {   # name errno expected-rc expected-message-regex
  local name=$1 err=$2 want=$3 re=$4
  rm -f "$dir/ran"
  "$helper" "$err" "$COLLRUN" -- /bin/sh -c "touch '$dir/ran'" >"$dir/out" 2>"$dir/err"; rc=$?
  lines=$(wc -l <"$dir/err")
  if [ "$rc" != "$want" ]; then echo "FAIL: integration/$name: exit $rc, want $want ($(head -1 "$dir/err"))"; fail=1
  elif ! grep -Eq "$re" "$dir/err" || [ "$lines" != 1 ]; then echo "FAIL: integration/$name: message: $(cat "$dir/err")"; fail=1
  elif [ -e "$dir/ran" ]; then echo "FAIL: integration/$name: the program ran without collrun"; fail=1
  else echo "PASS: integration/$name"; fi
}
check kernel-without-user-notify-exits-123 22 123 '^collrun: this kernel lacks seccomp user notification .*5\.19.*: Invalid argument$'
check kernel-without-seccomp-exits-123 38 123 '^collrun: this kernel lacks seccomp user notification .*: Function not implemented$'
check filter-refused-otherwise-exits-125 1 125 '^collrun: cannot (build|install) the seccomp filter: '
exit $fail
