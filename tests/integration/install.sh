#!/usr/bin/env bash
# install.sh — `make install PREFIX=/usr DESTDIR=...` puts collrun, collrun-session (when
# MPICH is there: sessions look for it beside collrun), both man pages and the default
# policy in place, and `make uninstall` with the same variables removes every file again.
#   installed-files    each expected file is there, binaries executable, pages readable
#   installed-runs     the installed collrun prints its version and runs a program
#   uninstall-clean    no file is left under DESTDIR
. "$(dirname "$0")/lib.sh"
need_collrun
D=$S/root
make -C "$SRC" --no-print-directory -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$D" install >"$S/install.log" 2>&1 ||
  { fail installed-files "make install failed: $(tail -3 "$S/install.log")"; finish; }
want=(usr/bin/collrun usr/share/man/man1/collrun.1 usr/share/man/man5/collrun-policy.5 usr/share/collrun/default.policy)
[ -x "$BUILD/collrun-session" ] && want+=(usr/bin/collrun-session)
bad=
for f in "${want[@]}"; do
  case $f in usr/bin/*) [ -x "$D/$f" ] || bad="$bad $f" ;; *) [ -s "$D/$f" ] || bad="$bad $f" ;; esac
done
if [ -z "$bad" ]; then pass installed-files; else fail installed-files "missing or empty:$bad (log: $(tail -2 "$S/install.log"))"; fi
[ -x "$BUILD/collrun-session" ] || echo "note: no collrun-session built (no MPICH): not expected installed"
v=$("$D/usr/bin/collrun" --version 2>&1); out=$("$D/usr/bin/collrun" --no-default-policy -- /bin/echo installed 2>&1)
if [[ $v == "collrun "* ]] && [ "$out" = installed ]; then pass installed-runs; else fail installed-runs "version '$v', run '$out'"; fi
make -C "$SRC" --no-print-directory -s BUILD="$BUILD" PREFIX=/usr DESTDIR="$D" uninstall >>"$S/install.log" 2>&1
left=$(find "$D" -type f 2>/dev/null)
if [ -z "$left" ]; then pass uninstall-clean; else fail uninstall-clean "left: $(echo $left)"; fi
rm -rf "$D"
finish
