#!/usr/bin/env bash
# gcc.sh — sh → gcc → cc1/as/collect2/ld chains compiling and linking real programs: same
# output, diagnostics and status as natively, byte-identical binaries that both run, and
# the stats show headers/libraries served from the cache.
. "$(dirname "$0")/lib.sh"
need_collrun
command -v gcc >/dev/null || { skip all "gcc not installed"; finish; }

cat >"$S/hello.c" <<'CEOF'
#include <stdio.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  printf("hello %s %.6f %zu\n", argc > 1 ? argv[1] : "world", sqrt(2.0) * argc, strlen(argv[0]));
  return argc > 2 ? atoi(argv[2]) : 0;
}
CEOF
printf '#include <stdio.h>\nint f(int x) { int unused; printf("%%d\\n", x); }\n' >"$S/warn.c"
printf '#include <stdio.h>\nint main(void) { return undeclared_thing; }\n' >"$S/broken.c"

both hello sh -c "gcc -O1 -o hello $S/hello.c -lm && ./hello && ./hello there 0"
stats hello served\>0 filled\>0
d=$S/hello
# both binaries run (natively) with the same output and status
for w in native collrun; do
  (cd "$d/$w.work" && ./hello run 5 >"$d/run-$w.out" 2>"$d/run-$w.err"; echo $? >"$d/run-$w.rc")
done
if [ "$(cat "$d/run-native.rc")" = 5 ]; then same_files binaries-run "$d/run-native" "$d/run-collrun"
else fail binaries-run "native-built hello exited $(cat "$d/run-native.rc"), expected 5"; fi

# separate compile and link steps, a static link, warnings on stderr, preprocessor output
both steps sh -c "gcc -c -O2 $S/hello.c -o h.o && gcc -o h h.o -lm && gcc -static -O1 -o hs $S/hello.c -lm && ./h a && ./hs b && ls"
both warnings sh -c "gcc -Wall -Wextra -c $S/warn.c -o w.o && echo compiled"
both preprocess sh -c "gcc -E -P $S/hello.c | md5sum; gcc -print-prog-name=cc1; gcc -print-file-name=libm.so; gcc -print-search-dirs | md5sum"
both errors -e 1 sh -c "gcc -c $S/broken.c -o b.o; echo rc=\$?; test -e b.o && echo object-left; exit 1"
stats errors served\>0

bad=
for b in hello/hello steps/h.o steps/h steps/hs warnings/w.o; do
  n=$S/${b%/*}/native.work/${b#*/} c=$S/${b%/*}/collrun.work/${b#*/}
  [ -f "$n" ] && cmp -s "$n" "$c" || bad="$bad $b"
done
if [ -z "$bad" ]; then pass outputs-identical; else fail outputs-identical "built files differ or are missing:$bad"; fi
finish
