#!/bin/bash
# bench/discovery-trees.sh TREE MNT [K M TREES FUNCS BODY] — the genlibs workload
# (bench/genlibs) rebuilt as a cluster would install it, for bench/run-discovery.sh (issue 11):
# nothing on any search path in the environment, everything found the way the job's own code
# finds it. TREE is mirrored by slowfs at MNT; RUNPATHs and pyvenv.cfg name MNT.
#
#   TREE/spack/linux-debian12-x86_64/gcc-12/glpkgNNN-1.0-HASH/lib/libglIIII.so
#        the K libraries, spread over TREES Spack-style package prefixes (library i in package
#        i % TREES); each library's RUNPATH lists, as Spack does, the lib and lib64 folders of
#        its own package and of every package it links, transitively (own first, then by
#        index); only the lib folders exist. No LD_LIBRARY_PATH: the RUNPATH is the only way.
#   TREE/base         a base Python "installed" there: /usr/bin/python3.11 copied to bin/ and
#                     Debian's stdlib to lib/python3.11 (without test/, idlelib/, config-*,
#                     dist-packages/, bytecode included); links out of the tree replaced by copies
#   TREE/venv         a venv of that base (`python3.11 -m venv --without-pip`, made from TREE/base
#                     and then pointed at MNT/base: pyvenv.cfg's home, bin/python3.11), never
#                     activated; its site-packages holds the M extension modules (gextMMMM*.so,
#                     RUNPATH: the lib and lib64 of every package of the libraries they link,
#                     transitively) and the P pure-Python modules (package gpy, bytecode included)
#   TREE/venv/bin/genlibs-driver.py   genlibs' driver.py without its sys.path line: it imports
#                     everything from site-packages and prints "genlibs checksum=… libs=K …"
# Defaults: K=40 M=20 TREES=K FUNCS=400 BODY=10. Sources and objects go to TREE.gen (genlibs.py
# and its Makefile, built with make -j). Rewrites TREE from scratch. Needs gcc, make, python3.11
# with Python.h (python3-dev).
set -euo pipefail
[ $# -ge 2 ] && [ $# -le 7 ] || { echo "usage: $0 TREE MNT [K M TREES FUNCS BODY]" >&2; exit 2; }
TREE=$1 MNT=$2 K=${3:-40} M=${4:-20} TREES=${5:-${3:-40}} FUNCS=${6:-400} BODY=${7:-10}
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3.11
die() { echo "discovery-trees.sh: $*" >&2; exit 1; }
case $TREE in /*) ;; *) TREE=$PWD/$TREE ;; esac
case $MNT in /*) ;; *) die "MNT must be an absolute path (RUNPATHs name it): $MNT" ;; esac
[[ $K =~ ^[1-9][0-9]*$ && $M =~ ^[1-9][0-9]*$ && $TREES =~ ^[1-9][0-9]*$ && $TREES -le $K ]] ||
	die "K, M, TREES must be positive integers, TREES <= K"
for t in gcc make "$PY"; do command -v "$t" >/dev/null || die "no $t"; done
GEN=$TREE.gen WL=$TREE.gen/out
rm -rf "$TREE" "$GEN" && mkdir -p "$TREE" "$GEN" || exit 1

# --- genlibs: sources, objects, pure-Python modules and their bytecode -------------------------
"$PY" "$SRC/bench/genlibs/genlibs.py" --out "$WL" --gen "$GEN/src" -K "$K" -M "$M" --funcs "$FUNCS" --body "$BODY" \
	|| die "genlibs.py failed"
make -s -C "$GEN/src" -j"$(nproc)" >"$GEN/make.log" 2>&1 || { tail -5 "$GEN/make.log" >&2; die "make of the genlibs sources failed"; }

# --- the layout: which package each library lives in, every RUNPATH ----------------------------
# genlibs.py writes what each object links in the first line of its source:
#   /* genlibs: library gl0003 of 40, links [0, 1, 2] */
#   /* genlibs: extension module gext0000, links libraries [0, 20] */
"$PY" - "$GEN/src" "$MNT" "$K" "$M" "$TREES" >"$GEN/layout.txt" <<'EOF'
import hashlib, os, re, sys
gen, mnt, K, M, T = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
def links(path):
    return [int(x) for x in re.search(r'links (?:libraries )?\[([0-9, ]*)\]', open(path).readline()).group(1).split(',') if x.strip()]
deps = {i: links(os.path.join(gen, f'gl{i:04d}.c')) for i in range(K)}
exts = {m: links(os.path.join(gen, f'gext{m:04d}.c')) for m in range(M)}
def pkg(t):
    name = f'glpkg{t:03d}-1.0'
    return f'spack/linux-debian12-x86_64/gcc-12/{name}-{hashlib.sha1(name.encode()).hexdigest()[:7]}'
def closure(libs):
    seen, todo = [], list(libs)
    while todo:
        i = todo.pop(0)
        if i not in seen:
            seen.append(i); todo += deps[i]
    return seen
def runpath(own, libs):
    pk = ([own] if own is not None else []) + sorted({i % T for i in closure(libs)} - {own})
    return ':'.join(f'{mnt}/{pkg(t)}/{d}' for t in pk for d in ('lib', 'lib64'))
for i in range(K):   # lib INDEX PACKAGE-DIR RUNPATH DEPS...
    print('lib', i, pkg(i % T), runpath(i % T, deps[i]), *deps[i])
for m in range(M):   # ext INDEX - RUNPATH LIBS...
    print('ext', m, '-', runpath(None, exts[m]), *exts[m])
EOF
LIBDIR=() EXTS=() LINK=   # LIBDIR[i]: TREE-relative lib folder of library i; LINK: all of them, for ld
while read -r kind i dir rp rest; do
	# shellcheck disable=SC2086
	set -- $rest; ls=() Ls=()
	for d in "$@"; do ls+=("-lgl$(printf %04d "$d")"); Ls+=("-L$TREE/${LIBDIR[$d]}"); done
	if [ "$kind" = lib ]; then
		LIBDIR[i]=$dir/lib; mkdir -p "$TREE/$dir/lib"
		n=$(printf %04d "$i")
		gcc -shared -o "$TREE/$dir/lib/libgl$n.so" "$GEN/src/gl$n.o" "${Ls[@]}" -Wl,--no-as-needed "${ls[@]}" \
			-Wl,-rpath-link,"${LINK:-/}" -Wl,--enable-new-dtags,-rpath,"$rp" || die "cannot link libgl$n.so"
		[[ ":$LINK:" == *":$TREE/$dir/lib:"* ]] || LINK+="${LINK:+:}$TREE/$dir/lib"
	else
		EXTS+=("$i|$rp|${ls[*]}|${Ls[*]}")
	fi
done <"$GEN/layout.txt"

# --- the base Python and its venv --------------------------------------------------------------
STDLIB=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
mkdir -p "$TREE/base/bin" "$TREE/base/lib"
tar -C "${STDLIB%/*}" --exclude="${STDLIB##*/}/config-*" --exclude="${STDLIB##*/}/dist-packages" \
	--exclude="${STDLIB##*/}/site-packages" --exclude="${STDLIB##*/}/test" --exclude="${STDLIB##*/}/idlelib" \
	-cf - "${STDLIB##*/}" | tar -C "$TREE/base/lib" -xf - || die "cannot copy $STDLIB"
find "$TREE/base/lib" -type l -lname '/*' | while read -r l; do cp --remove-destination "$(readlink -f "$l")" "$l"; done
cp "$PY" "$TREE/base/bin/python3.11" && ln -s python3.11 "$TREE/base/bin/python3"
env -u PYTHONHOME -u PYTHONPATH -u VIRTUAL_ENV "$TREE/base/bin/python3.11" -m venv --without-pip "$TREE/venv" \
	|| die "python3.11 -m venv failed"
# point it at the base on the mount, as if made there
sed -i "s|$TREE/|$MNT/|g" "$TREE/venv/pyvenv.cfg" "$TREE/venv/bin"/activate*
ln -sfn "$MNT/base/bin/python3.11" "$TREE/venv/bin/python3.11"
grep -q "^home = $MNT/base/bin\$" "$TREE/venv/pyvenv.cfg" || die "pyvenv.cfg: $(cat "$TREE/venv/pyvenv.cfg")"
SP=$TREE/venv/lib/python3.11/site-packages
[ -d "$SP" ] || die "the venv has no $SP"
SUF=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
for e in "${EXTS[@]}"; do
	IFS='|' read -r m rp ls Ls <<<"$e"
	# shellcheck disable=SC2086
	gcc -shared -o "$SP/gext$(printf %04d "$m")$SUF" "$GEN/src/gext$(printf %04d "$m").o" $Ls -Wl,--no-as-needed $ls \
		-Wl,-rpath-link,"$LINK" -Wl,--enable-new-dtags,-rpath,"$rp" || die "cannot link extension $m"
done
cp -a "$WL/py/gpy" "$SP/"
sed '/^sys.path\[:0\] = /d' "$WL/driver.py" >"$TREE/venv/bin/genlibs-driver.py"
! grep -q 'sys.path\[' "$TREE/venv/bin/genlibs-driver.py" || die "driver.py still sets sys.path"
echo "discovery-trees.sh: $K libraries in $TREES packages, $M extensions and $(find "$SP/gpy" -name '*.py' ! -name '__init__.py' | wc -l) modules in $TREE/venv" >&2
