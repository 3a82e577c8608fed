#!/usr/bin/env bash
# discovery.sh — issue 11: with the default policy and no options, collrun caches the
# folders the job's own code is found in, discovered while the job runs (the loader's
# RUNPATH/$ORIGIN/dlopen search, a Python interpreter's own environment, the search paths in
# the environment of every program the job starts). All trees are on bench/slowfs (a FUSE
# mirror that counts every operation, -o writable) under $BUILD/tests/integration/discovery,
# never /tmp or /var/tmp. Every scenario runs four times with the same cleaned environment
# (no LD_LIBRARY_PATH, PYTHONPATH, PYTHONHOME, VIRTUAL_ENV, CONDA_PREFIX…, so collrun's own
# start-up covers none of the trees): natively, under `collrun` (default policy, no options),
# under `collrun -v` and, as a control, under `collrun -v --cache=MNT`. Checks:
#   NAME                same stdout, stderr and exit status natively and under collrun
#   NAME-served         collrun -v (default policy): no look-up (open, stat, access, readlink;
#                       execve is read, then always the kernel's) of a path under the
#                       scenario's trees is `-> pass`, and each tree has
#                       served ones (hit, fill, fd, kernel)
#   NAME-fewer-fsops    slowfs operations under collrun (default policy) <= 95% of native's
#   NAME-fsops-like-explicit  ... and <= 105% (+10) of what collrun --cache=MNT costs (the
#                       issue's target for the benchmark, per scenario)
#   NAME-explicit-cache control: the -served check holds under --cache=MNT (what collrun does
#                       when told the trees); if it fails, the test asks more than the cache does
# Scenarios:
#   spack-runpath       MNT/spk/app-1/bin/app: liba.so through its RUNPATH (Spack style: lib and
#                       lib64 of each package, only lib exists), libb.so through liba's own
#                       RUNPATH, dlopen("libplugin.so") found through the app's RUNPATH, and
#                       libcore.so through the plugin's $ORIGIN/../lib
#   job-sets-ld-path    `sh -c 'export LD_LIBRARY_PATH=MNT/mods/…; MNT/mods/tool-2/bin/tool'`
#                       (entries through ".." and through a link to the version):
#                       the job script sets the search path itself (a module load)
#   collrun-given-ld-path  `LD_LIBRARY_PATH=MNT/mods/… collrun -- MNT/mods/tool-2/bin/tool` (the
#                       first program is learned before its execve, from collrun's environment)
#   mpiexec-genv        `collrun -- mpiexec -n 2 -genv LD_LIBRARY_PATH MNT/mpi/… MNT/mpi/ring-1/bin/rank`
#                       (MPICH hydra; ranks' output lines sorted before comparing)
#   venv-unactivated    MNT/venv/bin/python (a venv made by `python3 -m venv --without-pip`
#                       from a base Python installed at MNT/base: a copy of /usr/bin/python3.11
#                       and of Debian's stdlib), importing mypkg from the venv's site-packages
#                       and pthpkg reachable only through a .pth file (MNT/extra/src)
#   conda-unactivated   `sh -c 'MNT/conda/envs/sim/bin/python3 -c "import condapkg…"'`: a
#                       conda-style prefix (bin/python3, lib/python3.11, conda-meta/) with a C
#                       extension whose library is in ENV/lib, found through $ORIGIN/../../..
# What the user sees (spack layout): print-policy-shows-discovered-origin (--print-policy --
#   PROGRAM lists "cache MNT/spk/liba-1/lib # RUNPATH of …app" under the discovered rule),
#   explain-names-discovery, stats-counts-discovered (--stats discovered=N), and
#   discovery-off-env-only / discovery-off-none (a policy whose rule names only other sources,
#   or has none: nothing under MNT/spk is discovered or served, output unchanged).
# Safety (same output natively and under collrun; these pass today and must keep passing):
#   build-output        a program writes beside its library (folder found through its RUNPATH):
#                       names absent at first exist after it creates them (also from a child
#                       process, and in a new sub-folder), a rewritten file reads new bytes;
#                       build-output-served: its library's folder is served (so the check ran
#                       in a discovered folder)
#   volatile-dev-shm    the job puts /dev/shm/… in LD_LIBRARY_PATH and runs a program from it;
#                       a file another process (started before collrun, outside the job) creates
#                       there during the job is seen, after the job saw it absent (FIFOs);
#                       where /dev is a devtmpfs (never cached) collrun passes /dev/shm whatever
#                       the rules say, so this one cannot fail there; pass-rule-dir can
#   pass-rule-dir       the same in a folder on the mount that `-p FILE` (pass MNT/scratch)
#                       passes (on FUSE collrun lists folders and keeps negative answers, so
#                       a discovered rule put before the explicit one would answer "absent");
#                       NAME-passed: under -v every look-up in that folder is `-> pass`
#   build-output-explicit-cache  control: build-output's output is the same under --cache=MNT
# Nothing sleeps: FIFOs synchronise; timeout only detects a hang ($HANG_TIMEOUT, 120 s).
# SKIPs (loudly) without /dev/fuse, fusermount3 or libfuse3; mpiexec-genv without mpiexec;
# conda-unactivated's extension without Python.h.
B=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
fusermount3 -uz "$B/tests/integration/discovery/mnt" 2>/dev/null   # left by a killed run
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
cacheable_scratch   # the default policy discovers these trees: never under /tmp
MNT=$S/mnt TREE=$S/tree GEN=$S/gen CTL=$S/ctl H=$SRC/tests/integration/helpers
SHM=/dev/shm/collrun-discovery.$$
cleanup() {
  kill_with "$CTL/"
  slowfs_umount "$MNT"
  rm -rf "$SHM"
  scratch_release
}
trap cleanup EXIT
slowfs_ready
PY=/usr/bin/python3.11
for t in gcc "$PY"; do command -v "$t" >/dev/null || { fail setup "no $t"; finish; }; done
umask 022
mkdir -p "$TREE" "$GEN" "$CTL" "$SHM/lib" || { fail setup "cannot create the trees"; finish; }
chmod 0777 "$CTL"

# The environment every run gets: nothing that names a tree (collrun must find them itself),
# and a PATH without shims (pyenv's python3 would be another interpreter).
CLEAN=(env -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONPATH -u PYTHONHOME -u PYTHONUSERBASE -u PYTHONSTARTUP
       -u VIRTUAL_ENV -u CONDA_PREFIX -u CONDA_DEFAULT_ENV -u CONDA_PYTHON_EXE -u PYENV_VERSION
       -u COLLRUN_POLICY -u COLLRUN_EXE_TREE PATH=/usr/local/bin:/usr/bin:/bin)

# --- the trees (built in TREE, mirrored at MNT; RUNPATHs and LD_LIBRARY_PATHs name MNT) ---
cc() { gcc -O1 -w "$@" >>"$S/build.log" 2>&1 || { fail build "gcc $*: $(tail -3 "$S/build.log")"; finish; }; }
lib() { local out=$1 src=$2; shift 2; cc -shared -fPIC -Wl,-soname,"${out##*/}" -o "$out" "$src" "$@"; }
src() { printf '%s\n' "$2" >"$GEN/$1.c"; echo "$GEN/$1.c"; }

# 1. Spack style: each RUNPATH lists lib and lib64 of the package and of its link
#    dependencies (as Spack does; only the lib folders exist), plus a plugins folder.
P=$TREE/spk MS=$MNT/spk
mkdir -p "$P/app-1/bin" "$P/liba-1/lib" "$P/libb-1/lib" "$P/plug-1/plugins" "$P/plug-1/lib"
rp() { local out= d; for d in "$@"; do out+="${out:+:}$MS/$d/lib:$MS/$d/lib64"; done; echo "$out"; }
lib "$P/libb-1/lib/libb.so" "$(src b 'int b(int x) { return 3 * x + 1; }')"
lib "$P/liba-1/lib/liba.so" "$(src a 'int b(int); int a(int x) { return b(x) + 2; }')" \
  -L"$P/libb-1/lib" -Wl,--no-as-needed -lb -Wl,--enable-new-dtags,-rpath,"$(rp liba-1 libb-1)"
lib "$P/plug-1/lib/libcore.so" "$(src core 'int core(int x) { return x * 7; }')"
lib "$P/plug-1/plugins/libplugin.so" "$(src plugin 'int core(int); int plugin_entry(int x) { return core(x) + 5; }')" \
  -L"$P/plug-1/lib" -Wl,--no-as-needed -lcore -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
cc -o "$P/app-1/bin/app" "$H/discovery_app.c" -L"$P/liba-1/lib" -Wl,--no-as-needed -la \
  -Wl,--enable-new-dtags,-rpath,"$(rp app-1 liba-1 libb-1):$MS/plug-1/plugins" -Wl,-rpath-link,"$P/libb-1/lib"

# 2. Modules: a tool without RUNPATH, its libraries in two other packages' lib folders.
mkdir -p "$TREE/mods/tool-2/bin" "$TREE/mods/zlib-2/lib" "$TREE/mods/hdf-2/lib"
lib "$TREE/mods/zlib-2/lib/libz2.so" "$(src z2 'int z2(int x) { return x * x; }')"
lib "$TREE/mods/hdf-2/lib/libh2.so" "$(src h2 'int z2(int); int dep_value(void) { return z2(6) + 1; }')" \
  -L"$TREE/mods/zlib-2/lib" -Wl,--no-as-needed -lz2
cc -DTAG='"tool"' -o "$TREE/mods/tool-2/bin/tool" "$H/discovery_prog.c" -L"$TREE/mods/hdf-2/lib" \
  -L"$TREE/mods/zlib-2/lib" -Wl,--no-as-needed -lh2 -lz2
# As module files write them: one entry through ".." and one through a "current"-style link to
# the version (the walk serves only where every link it follows, and its end, are cached).
ln -sfn zlib-2 "$TREE/mods/zlib"
MODPATH=$MNT/mods/hdf-2/lib64:$MNT/mods/tool-2/../hdf-2/lib:$MNT/mods/zlib/lib64:$MNT/mods/zlib/lib

# 3. MPI ranks: libraries through LD_LIBRARY_PATH given to mpiexec -genv.
mkdir -p "$TREE/mpi/ring-1/bin" "$TREE/mpi/mpx-1/lib" "$TREE/mpi/fab-1/lib"
lib "$TREE/mpi/fab-1/lib/libfab.so" "$(src fab 'int fab(int x) { return x + 100; }')"
lib "$TREE/mpi/mpx-1/lib/libmpx.so" "$(src mpx 'int fab(int); int dep_value(void) { return fab(11); }')" \
  -L"$TREE/mpi/fab-1/lib" -Wl,--no-as-needed -lfab
cc -DTAG='"rank"' -o "$TREE/mpi/ring-1/bin/rank" "$H/discovery_prog.c" -L"$TREE/mpi/mpx-1/lib" \
  -L"$TREE/mpi/fab-1/lib" -Wl,--no-as-needed -lmpx -lfab
MPIPATH=$MNT/mpi/mpx-1/lib:$MNT/mpi/fab-1/lib

# 4. A base Python "installed" at MNT/base: /usr/bin/python3.11 copied (CPython finds its
#    prefix from where its executable is: MNT/base/lib/python3.11/os.py) and Debian's stdlib
#    without what an import never reads; links out of the tree (sitecustomize.py -> /etc)
#    replaced by copies, as in an install of its own. The venv is made after mounting.
STDLIB=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
mkdir -p "$TREE/base/bin" "$TREE/base/lib"
tar -C "${STDLIB%/*}" --exclude="${STDLIB##*/}/config-*" --exclude="${STDLIB##*/}/dist-packages" \
  --exclude="${STDLIB##*/}/site-packages" --exclude="${STDLIB##*/}/test" --exclude="${STDLIB##*/}/idlelib" \
  -cf - "${STDLIB##*/}" | tar -C "$TREE/base/lib" -xf - || { fail setup "cannot copy $STDLIB"; finish; }
find "$TREE/base/lib" -type l -lname '/*' | while read -r l; do cp --remove-destination "$(readlink -f "$l")" "$l"; done
cp "$PY" "$TREE/base/bin/python3.11" && ln -s python3.11 "$TREE/base/bin/python3"
mkdir -p "$TREE/extra/src/pthpkg"
printf 'from . import core\nVALUE = core.value()\n' >"$TREE/extra/src/pthpkg/__init__.py"
printf 'def value():\n    return "pthpkg ok"\n' >"$TREE/extra/src/pthpkg/core.py"

# 5. A conda-style environment: its own python3 and lib/python3.11, conda-meta/, a package
#    with a C extension whose library is in ENV/lib (RUNPATH $ORIGIN/../../.., as conda builds).
#    conda's python puts lib/python3.11/site-packages on sys.path; Debian's (whose site
#    module is frozen into the binary) looks for dist-packages, so the copy's
#    sitecustomize.py adds site-packages (and its .pth files) as conda's site.py would.
E=$TREE/conda/envs/sim ME=$MNT/conda/envs/sim
mkdir -p "$E/bin" "$E/lib" "$E/conda-meta"
cp "$PY" "$E/bin/python3.11" && ln -s python3.11 "$E/bin/python3" && ln -s python3.11 "$E/bin/python"
cp -al "$TREE/base/lib/python3.11" "$E/lib/python3.11"
rm -f "$E/lib/python3.11/sitecustomize.py" "$E/lib/python3.11/__pycache__"/sitecustomize.*.pyc
printf '%s\n' 'import os, site, sys' \
  'site.addsitedir(os.path.join(sys.prefix, "lib", "python%d.%d" % sys.version_info[:2], "site-packages"))' \
  >"$E/lib/python3.11/sitecustomize.py"
"$PY" -m compileall -q -d "$ME/lib/python3.11" "$E/lib/python3.11/sitecustomize.py" >/dev/null
printf '{"name": "python", "version": "3.11.2", "build": "0"}\n' >"$E/conda-meta/python-3.11.2-0.json"
printf '==> 2024-01-01 00:00:00 <==\n# cmd: conda create -n sim python=3.11\n+defaults::python-3.11.2-0\n' >"$E/conda-meta/history"
CP=$E/lib/python3.11/site-packages/condapkg
mkdir -p "$CP"
lib "$E/lib/libcondadep.so" "$(src condadep 'int dep_value(void) { return 314; }')"
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
EXTSUF=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
if [ -f "$PYINC/Python.h" ]; then
  cc -shared -fPIC -I"$PYINC" -o "$CP/_ext$EXTSUF" "$H/discovery_ext.c" -L"$E/lib" -Wl,--no-as-needed -lcondadep \
    -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../../..'
  printf 'from . import _ext\ndef check():\n    return "condapkg ok %%d" %% _ext.value()\n' >"$CP/__init__.py"
else
  skip conda-extension "no Python.h (apt-get install python3-dev): conda-unactivated has no C extension"
  printf 'def check():\n    return "condapkg ok 314"\n' >"$CP/__init__.py"
fi
"$PY" -m compileall -q -d "$ME/lib/python3.11/site-packages" "$E/lib/python3.11/site-packages" >/dev/null

# 6. Safety: a build step writing beside its library; a library folder in /dev/shm; one
#    that an explicit pass rule covers.
mkdir -p "$TREE/bld/tool-3/bin" "$TREE/bld/libw-3/lib" "$TREE/vol/bin" "$TREE/scratch/lib"
lib "$TREE/bld/libw-3/lib/libw.so" "$(src w 'int dep_value(void) { return 42; }')"
cc -o "$TREE/bld/tool-3/bin/builder" "$H/discovery_build.c" -L"$TREE/bld/libw-3/lib" -Wl,--no-as-needed -lw \
  -Wl,--enable-new-dtags,-rpath,"$MNT/bld/libw-3/lib:$MNT/bld/libw-3/lib64"
lib "$SHM/lib/libvol.so" "$(src vol 'int dep_value(void) { return 7; }')"
cp "$SHM/lib/libvol.so" "$TREE/scratch/lib/libvol.so"
cc -DTAG='"vol"' -o "$TREE/vol/bin/volprog" "$H/discovery_prog.c" -L"$SHM/lib" -Wl,--no-as-needed -lvol
printf 'pass %s\n' "$MNT/scratch" >"$S/pass.policy"

slowfs_mount "$TREE" "$MNT" writable; rc=$?
[ $rc = 77 ] && { skip all "$(cat "$S/mount.log")"; finish; }
[ $rc = 0 ] || { fail mount "mount.sh exited $rc: $(tail -2 "$S/mount.log")"; finish; }

# The venv, made by the base Python on the mount (so pyvenv.cfg's home is MNT/base/bin),
# written into TREE (slowfs cannot make symbolic links); its packages.
"${CLEAN[@]}" "$MNT/base/bin/python3.11" -m venv --without-pip "$TREE/venv" >"$S/venv.log" 2>&1 ||
  { fail setup "python3 -m venv: $(tail -3 "$S/venv.log")"; finish; }
SP=$TREE/venv/lib/python3.11/site-packages
[ -d "$SP" ] && grep -q "^home = $MNT/base/bin\$" "$TREE/venv/pyvenv.cfg" ||
  { fail setup "the venv has no $SP or its home is not $MNT/base/bin: $(cat "$TREE/venv/pyvenv.cfg")"; finish; }
mkdir -p "$SP/mypkg"
printf 'from . import sub\nVALUE = "mypkg ok"\n' >"$SP/mypkg/__init__.py"
printf 'NAME = "mypkg.sub"\n' >"$SP/mypkg/sub.py"
printf '%s\n' "$MNT/extra/src" >"$SP/extra.pth"
"$PY" -m compileall -q -d "$MNT/venv/lib/python3.11/site-packages" "$SP" >/dev/null
"$PY" -m compileall -q -d "$MNT/extra/src" "$TREE/extra/src" >/dev/null

# --- running and checking -------------------------------------------------------------
# side NAME MODE — run the command in the array RUN in a fresh $S/NAME/work, stdin /dev/null,
# with the cleaned environment; slowfs counted from zero. MODE: native | collrun (default
# policy) | verbose (default policy, -v) | explicit (-v --cache=MNT). Leaves
# $S/NAME/MODE.{out,err,rc,fs} and, under collrun, $S/NAME/MODE.stats. $SETUP MODE runs
# first, $AFTER MODE after; SORT=1 sorts stdout (lines of parallel ranks).
SETUP=: AFTER=: SORT=0 RUN=()
side() {
  local name=$1 mode=$2 d=$S/$1 pre=()
  case $mode in
    collrun) pre=("$COLLRUN" "${CR_OPTS[@]}" --stats-file="$d/$mode.stats" --) ;;
    verbose) pre=("$COLLRUN" "${CR_OPTS[@]}" -v --stats-file="$d/$mode.stats" --) ;;
    explicit) pre=("$COLLRUN" "${CR_OPTS[@]}" -v --cache="$MNT" --stats-file="$d/$mode.stats" --) ;;
  esac
  rm -rf "$d/work"; mkdir -p "$d/work"; chmod 0777 "$d" "$d/work"
  "$SETUP" "$mode" || { echo "set-up failed" >"$d/$mode.err"; echo 99 >"$d/$mode.rc"; return 1; }
  settle_clock
  fs_reset "$MNT"
  (cd "$d/work" && exec timeout -k 10 "$HANG" "${CLEAN[@]}" "${pre[@]}" "${RUN[@]}" </dev/null >"$d/$mode.out" 2>"$d/$mode.err")
  echo $? >"$d/$mode.rc"
  fs_counts "$MNT" >"$d/$mode.fs"
  "$AFTER" "$mode"
  [ "$SORT" = 1 ] && sort -o "$d/$mode.out" "$d/$mode.out"
  return 0
}

# served NAME MODE ROOT... — from $S/NAME/MODE.err (collrun -v): for each ROOT the look-ups of
# paths under it, served (hit, fill, fd, kernel) and passed; status 0 if none passed and each
# ROOT has served ones. Prints the verdict text (and up to 4 passed lines) on failure.
served() {
  local name=$1 mode=$2 d=$S/$1; shift 2
  printf '%s\n' "$@" | awk -v vlog="$d/$mode.err" -v mnt="$MNT" -v out="$d/$mode.served" '
    { R[++n] = $0 }
    END {
      while ((getline l < vlog) > 0) {
        if (l !~ /^collrun: \[[0-9]+\] [a-z0-9_]+ /) continue
        if (l ~ /^collrun: \[[0-9]+\] execve(at)? /) continue   # read to learn, always the kernel'"'"'s (collrun(1))
        s = l; sub(/^collrun: \[[0-9]+\] [a-z0-9_]+ /, "", s)
        k = index(s, " -> ")
        if (!k) continue
        path = substr(s, 1, k - 1); res = substr(s, k + 4)
        for (i = 1; i <= n; i++)
          if (path == R[i] || index(path, R[i] "/") == 1) {
            if (res ~ /^pass/) { p[i]++; if (np++ < 4) ex = ex "\n    passed: " l }
            else sv[i]++
            break
          }
      }
      bad = ""
      for (i = 1; i <= n; i++) {
        r = R[i]; sub("^" mnt, "MNT", r)
        printf "%s served=%d passed=%d\n", r, sv[i], p[i] > out
        if (p[i] || !sv[i]) bad = bad sprintf(" %s: %d served, %d passed;", r, sv[i], p[i])
      }
      gsub(mnt, "MNT", ex)
      if (bad != "") { print bad ex; exit 1 }
    }'
}

# scenario NAME ROOT... — the four runs of RUN and the checks NAME, NAME-served,
# NAME-fewer-fsops, NAME-explicit-cache (see the top of this file).
scenario() {
  local name=$1 d=$S/$1 m why nt ct et; shift
  rm -rf "$d"; mkdir -p "$d"
  for m in native collrun verbose explicit; do side "$name" "$m"; done
  if [ "$(cat "$d/native.rc")" != 0 ] || [ ! -s "$d/native.out" ]; then
    fail "$name" "native run exited $(cat "$d/native.rc") / printed nothing (environment broken?): $(head -3 "$d/native.err" | tr '\n' ' ')"
    return 1
  fi
  same_files "$name" "$d/native" "$d/collrun"
  if ! cmp -s "$d/native.out" "$d/verbose.out" || [ "$(cat "$d/verbose.rc")" != 0 ]; then
    fail "$name-served" "the run with -v exited $(cat "$d/verbose.rc") or printed other output ($d/verbose.out)"
  elif why=$(served "$name" verbose "$@"); then pass "$name-served"
  else fail "$name-served" "look-ups under the job's trees were passed (collrun -v, default policy):$why"; fi
  nt=$(fs_field "$(cat "$d/native.fs")" total) ct=$(fs_field "$(cat "$d/collrun.fs")" total)
  # fewer by more than the few reads readahead makes vary: at most 95% of native's
  if [ "$((${ct:-0} * 100))" -le "$((${nt:-0} * 95))" ]; then pass "$name-fewer-fsops"
  else fail "$name-fewer-fsops" "slowfs operations: native $nt, collrun (default policy) $ct (want <= 95%) — native: $(cat "$d/native.fs"); collrun: $(cat "$d/collrun.fs")"; fi
  et=$(fs_field "$(cat "$d/explicit.fs")" total)
  # the issue's target, per scenario: the default policy costs slowfs what --cache=MNT costs
  # (within 5%, and 10 operations for readahead and what discovery itself may look at)
  if [ "$((${ct:-0} * 100))" -le "$((${et:-0} * 105 + 1000))" ]; then pass "$name-fsops-like-explicit"
  else fail "$name-fsops-like-explicit" "slowfs operations: collrun (default policy) $ct, collrun --cache=MNT $et (want <= 105% + 10)"; fi
  if ! cmp -s "$d/native.out" "$d/explicit.out" || [ "$(cat "$d/explicit.rc")" != 0 ]; then
    fail "$name-explicit-cache" "under --cache=MNT the job exited $(cat "$d/explicit.rc") or printed other output"
  elif why=$(served "$name" explicit "$@"); then pass "$name-explicit-cache"
  else fail "$name-explicit-cache" "even under --cache=MNT:$why"; fi
  echo "$name: slowfs ops native $nt, collrun $ct, collrun --cache=MNT $(fs_field "$(cat "$d/explicit.fs")" total); served/passed: $(tr '\n' ' ' <"$d/verbose.served")" >>"$S/summary"
}

# 1. Spack-style RUNPATH chain, $ORIGIN, dlopen through a RUNPATH
RUN=("$MNT/spk/app-1/bin/app")
scenario spack-runpath "$MNT/spk"

# 1b. What the user sees of discovery, and turning it off (collrun-policy(5) DISCOVERY)
APP=$MNT/spk/app-1/bin/app
"${CLEAN[@]}" "$COLLRUN" --print-policy -- "$APP" >"$S/print-policy.out" 2>&1
if grep -qxE "  cache $MNT/spk/liba-1/lib +# RUNPATH of $APP" "$S/print-policy.out" &&
   grep -qxE "discovered +# <built-in default>:[0-9]+" "$S/print-policy.out"; then pass print-policy-shows-discovered-origin
else fail print-policy-shows-discovered-origin "no 'cache MNT/spk/liba-1/lib # RUNPATH of MNT/spk/app-1/bin/app' under 'discovered': $(sed "s|$MNT|MNT|g" "$S/print-policy.out" | grep -A3 '^discovered' | tr '\n' '|')"; fi
"${CLEAN[@]}" "$COLLRUN" --explain "$MNT/spk/liba-1/lib/glibc-hwcaps/x86-64-v3/liba.so" -- "$APP" >"$S/explain.out" 2>&1
if grep -q ": cache " "$S/explain.out" && grep -qx "  from: RUNPATH of $APP" "$S/explain.out"; then pass explain-names-discovery
else fail explain-names-discovery "$(sed "s|$MNT|MNT|g" "$S/explain.out" | tr '\n' '|')"; fi
"${CLEAN[@]}" "$COLLRUN" --stats-file="$S/stats.out" -- "$APP" >/dev/null 2>&1
n=$(stat_field "$S/stats.out" discovered)
if [ "${n:-0}" -ge 4 ]; then pass stats-counts-discovered; else fail stats-counts-discovered "discovered=${n:-none} in $S/stats.out"; fi
# Off: only the sources a policy names, or none without the rule (and then nothing is read).
printf 'discovered environment python\npass /proc\npass /sys\npass /dev\ncache /usr\ncache /lib\ncache /etc/ld.so.cache\n' >"$S/env-only.policy"
for off in "env-only:-p $S/env-only.policy" "none:"; do
  tag=${off%%:*}
  "${CLEAN[@]}" "$COLLRUN" -v --no-default-policy ${off#*:} -- "$APP" >"$S/off-$tag.out" 2>"$S/off-$tag.err"
  nd=$(grep -c "^collrun: discovered " "$S/off-$tag.err")
  ns=$(grep -E "^collrun: \[[0-9]+\] [a-z0-9_]+ $MNT/spk/" "$S/off-$tag.err" | grep -vc -e '-> pass$' -e ' execve ')
  if cmp -s "$S/off-$tag.out" "$S/spack-runpath/native.out" && [ "$nd" = 0 ] && [ "$ns" = 0 ]; then pass "discovery-off-$tag"
  else fail "discovery-off-$tag" "$nd trees discovered, $ns look-ups under MNT/spk served (want 0 and 0, same output)"; fi
done

# 2. A job script that sets LD_LIBRARY_PATH itself, then runs the tool
RUN=(sh -c "LD_LIBRARY_PATH='$MODPATH'; export LD_LIBRARY_PATH; '$MNT/mods/tool-2/bin/tool'")
scenario job-sets-ld-path "$MNT/mods"

# 2b. The same LD_LIBRARY_PATH given to collrun itself: the program collrun starts is learned
#     from collrun's own environment before its execve, which is then passed at once
SAVED=("${CLEAN[@]}"); CLEAN+=(LD_LIBRARY_PATH="$MODPATH")
RUN=("$MNT/mods/tool-2/bin/tool")
scenario collrun-given-ld-path "$MNT/mods"
CLEAN=("${SAVED[@]}")

# 3. mpiexec inside collrun, the ranks' LD_LIBRARY_PATH given with -genv
if command -v mpiexec >/dev/null; then
  SORT=1 RUN=(mpiexec -n 2 -genv LD_LIBRARY_PATH "$MPIPATH" "$MNT/mpi/ring-1/bin/rank")
  scenario mpiexec-genv "$MNT/mpi"
  SORT=0
else skip mpiexec-genv "no mpiexec (apt-get install mpich)"; fi

# 4. A venv that is not activated, its base Python on the mount too, a .pth entry
RUN=("$MNT/venv/bin/python" -c 'import sys, json, mypkg, pthpkg
print(mypkg.VALUE, mypkg.sub.NAME, pthpkg.VALUE, json.dumps([sys.prefix, sys.base_prefix]))')
scenario venv-unactivated "$MNT/venv" "$MNT/base" "$MNT/extra"

# 5. A conda-style environment that is not activated, started by a job script
RUN=(sh -c "'$ME/bin/python3' -c 'import sys, condapkg; print(condapkg.check(), sys.prefix == \"$ME\", sys.path[-1])'")
# The environment itself: CPython's search up for lib/python311.zip also probes every folder
# above it (envs/, the conda root, …), outside the environment (collrun-policy(5)).
scenario conda-unactivated "$MNT/conda/envs/sim"

# --- safety ---------------------------------------------------------------------------------
# 6a. Build output beside the library (reset through the mount, never behind its back)
WD=$MNT/bld/libw-3/lib
bld_setup() { rm -rf "$WD/out.o" "$WD/child.o" "$WD/sub" && printf 'stamp before the build\n' >"$WD/stamp"; }
SETUP=bld_setup RUN=("$MNT/bld/tool-3/bin/builder" "$WD")
d=$S/build-output; rm -rf "$d"; mkdir -p "$d"
for m in native collrun verbose explicit; do side build-output "$m"; done
SETUP=:
if [ "$(cat "$d/native.rc")" != 0 ] || ! grep -q '^stat out.o: No such file' "$d/native.out" ||
   ! grep -q '^read child.o: written by a child' "$d/native.out"; then
  fail build-output "native run broken (rc $(cat "$d/native.rc")): $(head -3 "$d/native.out" "$d/native.err" | tr '\n' ' ')"
else
  same_files build-output "$d/native" "$d/collrun"
  if ! cmp -s "$d/native.out" "$d/verbose.out"; then fail build-output-served "the run with -v printed other output"
  elif grep -Eq "^collrun: \[[0-9]+\] openat $WD/libw\.so -> (fd|kernel|[0-9])" "$d/verbose.err"; then pass build-output-served
  else fail build-output-served "$WD/libw.so was not served (the folder the job writes in was not discovered): $(grep -m1 " $WD/libw.so " "$d/verbose.err" | sed "s|$MNT|MNT|")"; fi
  # control: the same job with the folder cached because it was told (--cache=MNT)
  if cmp -s "$d/native.out" "$d/explicit.out" && [ "$(cat "$d/explicit.rc")" = 0 ]; then pass build-output-explicit-cache
  else fail build-output-explicit-cache "under --cache=MNT (rc $(cat "$d/explicit.rc")): $(diff "$d/native.out" "$d/explicit.out" | grep '^[<>]' | head -4 | tr '\n' ' ')"; fi
fi

# 6b. A file created during the job by another process, in a folder the job put in its
#     LD_LIBRARY_PATH that must still pass: /dev/shm (volatile prefix) and a `pass` rule's
#     folder on the mount (the helper writes through the mount, as another node would).
#     The helper is started before the job (outside it); FIFOs order: job sees "absent",
#     writes go; helper creates the file, writes done; job looks again.
VDIR=
vol_setup() {
  rm -f "$VDIR/new.txt" "$CTL/go" "$CTL/done"; mkfifo -m 0666 "$CTL/go" "$CTL/done" || return 1
  timeout "$HANG" sh -c "read _ <'$CTL/go'; echo 'created by another process' >'$VDIR/new.txt'; echo done >'$CTL/done'" \
    >"$S/vol-helper.log" 2>&1 &
  VOLHELPER=$!
}
vol_after() { gone "$VOLHELPER" 10 || kill "$VOLHELPER" 2>/dev/null; wait "$VOLHELPER" 2>/dev/null; kill_with "$CTL/"; }
vol_case() {   # vol_case NAME DIR [CR-OPTS...]
  local name=$1 d=$S/$1; VDIR=$2; shift 2
  CR_OPTS=("$@") SETUP=vol_setup AFTER=vol_after
  RUN=(sh -c "LD_LIBRARY_PATH='$VDIR'; export LD_LIBRARY_PATH; V='$MNT/vol/bin/volprog'
    \$V check '$VDIR/new.txt'; echo go >'$CTL/go'; read _ <'$CTL/done'; \$V check '$VDIR/new.txt'")
  rm -rf "$d"; mkdir -p "$d"
  side "$name" native; side "$name" collrun; side "$name" verbose
  CR_OPTS=() SETUP=: AFTER=:
  if [ "$(cat "$d/native.rc")" != 0 ] || ! grep -q 'new.txt: absent' "$d/native.out" ||
     ! grep -q 'new.txt: present, .*created by another process' "$d/native.out"; then
    fail "$name" "native run broken (rc $(cat "$d/native.rc")): $(cat "$d/native.out" "$d/native.err" | head -4 | tr '\n' ' ')"
    return 1
  fi
  same_files "$name" "$d/native" "$d/collrun"
  # and every look-up in that folder was passed to the kernel (its rule or prefix came first)
  local n np
  n=$(grep -cE "^collrun: \[[0-9]+\] [a-z0-9_]+ $VDIR/" "$d/verbose.err")
  np=$(grep -E "^collrun: \[[0-9]+\] [a-z0-9_]+ $VDIR/" "$d/verbose.err" | grep -vc -- '-> pass$')
  if ! cmp -s "$d/native.out" "$d/verbose.out"; then fail "$name-passed" "the run with -v printed other output"
  elif [ "$n" -gt 0 ] && [ "$np" = 0 ]; then pass "$name-passed"
  else fail "$name-passed" "$np of $n look-ups under $VDIR were not passed: $(grep -E "^collrun: \[[0-9]+\] [a-z0-9_]+ $VDIR/" "$d/verbose.err" | grep -v -m2 -- '-> pass$' | tr '\n' ' ')"; fi
}
vol_case volatile-dev-shm "$SHM/lib"
vol_case pass-rule-dir "$MNT/scratch/lib" -p "$S/pass.policy"

sed 's/^/    /' "$S/summary" 2>/dev/null
finish
