#!/bin/bash
# bench/fill-trees.sh TREE MNT — write the two library trees bench/run-fill.sh mounts with
# slowfs (TREE is mirrored at MNT; the RUNPATHs name MNT, where the programs will run):
#
#   TREE/storm   the loader's LD_LIBRARY_PATH storm (issue 9, "Filling must save file-system
#                work"): bin/storm needs 12 libraries (libstorm01..12.so, no RUNPATH) that live
#                in the last of 80 LD_LIBRARY_PATH entries lib/e00 … lib/e79. The 79 others all
#                exist, so the loader's misses are real look-ups in real folders, in four kinds
#                (by index i):
#                  i % 4 == 0   empty
#                  i % 4 == 1   unrelated files: 6 libraries of other names, a README
#                  i % 4 == 2   unrelated sub-folders: pkgconfig/ and cmake/ with a file each
#                  i % 4 == 3   both, and for i = 3, 23, 43, 63 also a glibc-hwcaps/x86-64-v3/
#                               folder holding an unrelated library (as some distributions ship),
#                               so that not every hwcaps probe ends in a missing folder
#                lib/e79 holds the 12 libraries and nothing else. The search path to use is
#                printed by `fill-trees.sh --ld-path MNT`.
#   TREE/spack   a Spack-style install: app-1/bin/app needs liba.so, found through its RUNPATH;
#                liba.so needs libb.so, found through liba's own RUNPATH. Like Spack, each
#                RUNPATH lists the lib and lib64 of the package itself and of every link
#                dependency, and only the lib folders that hold a library exist:
#                  app:   MNT/spack/app-1/lib  app-1/lib64  liba-1/lib  liba-1/lib64  libb-1/lib  libb-1/lib64
#                  liba:  MNT/spack/liba-1/lib liba-1/lib64 libb-1/lib  libb-1/lib64
#                (app-1/lib and every lib64 are missing).
# Both programs print one line ("storm ok 12 …", "spack ok …") that run-fill.sh checks.
# Rewrites TREE from scratch each time (a few seconds of gcc). Needs gcc.
set -u
if [ "${1:-}" = --ld-path ]; then
	[ $# = 2 ] || { echo "usage: $0 --ld-path MNT" >&2; exit 2; }
	p=; for i in $(seq -w 0 79); do p+="${p:+:}$2/storm/lib/e$i"; done; echo "$p"; exit 0
fi
[ $# = 2 ] || { echo "usage: $0 TREE MNT   (or: $0 --ld-path MNT)" >&2; exit 2; }
TREE=$1 MNT=$2
command -v gcc >/dev/null || { echo "fill-trees.sh: no gcc (apt-get install gcc)" >&2; exit 1; }
case $TREE in /*) ;; *) TREE=$PWD/$TREE ;; esac
case $MNT in /*) ;; *) echo "fill-trees.sh: MNT must be an absolute path (RUNPATHs name it): $MNT" >&2; exit 2 ;; esac
GEN=$TREE.gen                     # sources and objects, outside the mirrored tree
rm -rf "$TREE" "$GEN" && mkdir -p "$TREE" "$GEN" || exit 1
die() { echo "fill-trees.sh: $*" >&2; exit 1; }
cc() { gcc -O1 -w "$@" || die "gcc $* failed"; }

# --- the storm ---------------------------------------------------------------------------
S=$TREE/storm
mkdir -p "$S/bin" || exit 1
for i in $(seq -w 0 79); do
	d=$S/lib/e$i; n=$((10#$i)); mkdir -p "$d"
	[ "$n" = 79 ] && continue
	if [ $((n % 4)) = 1 ] || [ $((n % 4)) = 3 ]; then
		for k in 1 2 3 4 5 6; do printf 'unrelated library %s of entry %s\n' "$k" "$i" >"$d/libother${i}_$k.so"; done
		echo "entry $i of the storm's LD_LIBRARY_PATH" >"$d/README"
	fi
	if [ $((n % 4)) = 2 ] || [ $((n % 4)) = 3 ]; then
		mkdir -p "$d/pkgconfig" "$d/cmake/other$i"
		echo "Name: other$i" >"$d/pkgconfig/other$i.pc"
		echo "# other$i" >"$d/cmake/other$i/other${i}Config.cmake"
	fi
	if [ $((n % 20)) = 3 ]; then
		mkdir -p "$d/glibc-hwcaps/x86-64-v3"
		echo "unrelated optimised library" >"$d/glibc-hwcaps/x86-64-v3/libother${i}_1.so"
	fi
done
libs=() sum=0
for k in $(seq -w 1 12); do
	printf 'int storm%s(int x) { return x * %d + 1; }\n' "$k" "$((10#$k))" >"$GEN/storm$k.c"
	cc -shared -fPIC -Wl,-soname,libstorm$k.so -o "$S/lib/e79/libstorm$k.so" "$GEN/storm$k.c"
	libs+=("-lstorm$k")
done
{
	echo '#include <stdio.h>'
	for k in $(seq -w 1 12); do echo "int storm$k(int);"; done
	echo 'int main(void) { int s = 0;'
	for k in $(seq -w 1 12); do echo "  s += storm$k($((10#$k)));"; done
	echo '  printf("storm ok 12 %d\n", s); return 0; }'
} >"$GEN/storm.c"
cc -o "$S/bin/storm" "$GEN/storm.c" -L"$S/lib/e79" -Wl,--no-as-needed "${libs[@]}"

# --- the Spack-style prefix ----------------------------------------------------------------
P=$TREE/spack M=$MNT/spack
mkdir -p "$P/app-1/bin" "$P/liba-1/lib" "$P/libb-1/lib" || exit 1
echo 'int b(int x) { return 3 * x + 1; }' >"$GEN/b.c"
echo 'int b(int); int a(int x) { return b(x) + 2; }' >"$GEN/a.c"
printf '#include <stdio.h>\nint a(int);\nint main(void) { printf("spack ok %%d\\n", a(5)); return 0; }\n' >"$GEN/app.c"
rp() { local out= d; for d in "$@"; do out+="${out:+:}$M/$d/lib:$M/$d/lib64"; done; echo "$out"; }
cc -shared -fPIC -Wl,-soname,libb.so -o "$P/libb-1/lib/libb.so" "$GEN/b.c"
cc -shared -fPIC -Wl,-soname,liba.so -o "$P/liba-1/lib/liba.so" "$GEN/a.c" -L"$P/libb-1/lib" \
	-Wl,--no-as-needed -lb -Wl,--enable-new-dtags,-rpath,"$(rp liba-1 libb-1)"
cc -o "$P/app-1/bin/app" "$GEN/app.c" -L"$P/liba-1/lib" -L"$P/libb-1/lib" -Wl,--no-as-needed -la \
	-Wl,--enable-new-dtags,-rpath,"$(rp app-1 liba-1 libb-1)" -Wl,-rpath-link,"$P/libb-1/lib"
exit 0
