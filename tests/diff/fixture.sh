# fixture.sh — sourced by run-diff.sh (deliberately not executable: tests/run.sh runs every
# executable tests/diff/*.sh). make_fixture DIR recreates the probe's fixture tree from
# scratch: fixed contents, modes and mtimes, so two builds of it differ only in inode
# numbers, ctime and btime (the probe hides those in scenarios that need a fresh tree).

# long_parts LEN CHAR: names of CHAR (at most 200 long), one a line, whose "/"-separated
# segments ("name/" each) add up to exactly LEN bytes.
long_parts() {
  local r=$1 n
  while [ "$r" -gt 0 ]; do
    n=200; [ "$r" -le 201 ] && n=$((r - 1)); [ $((r - 201)) = 1 ] && n=199
    printf "%${n}s\n" "" | tr ' ' "$2"; r=$((r - n - 1))
  done
}

# make_longtree FIX: FIX/longtree/<c…>/…/ is a directory whose absolute path is 3,429 bytes,
# and <r…>/…/file.txt below it a relative path of 1,207 bytes: each fits PATH_MAX, joined
# they do not. FIX/longtree.cwd and FIX/longtree.rel hold the two (relative to longtree).
make_longtree() {
  local f=$1 base=$1/longtree cwd rel d
  mkdir "$base" || return 1
  cwd=$(long_parts $((3429 - ${#base})) c | tr '\n' / | sed 's:/$::')
  rel=$(long_parts $((1207 - 8)) r | tr '\n' /)file.txt
  (
    cd "$base" || exit 1
    for d in $(tr / ' ' <<<"$cwd") $(dirname "$rel" | tr / ' '); do mkdir "$d" && cd "$d" || exit 1; done
    printf 'at the end of a long relative path\n' >file.txt
  ) || return 1
  printf '%s\n' "$cwd" >"$f/longtree.cwd"; printf '%s\n' "$rel" >"$f/longtree.rel"
}

make_fixture() {
  local f=$1 i
  case $f in */tests/diff/fixture) ;; *) echo "make_fixture: refusing odd path $f" >&2; return 1 ;; esac
  rm -rf "$f"
  mkdir -p "$f"/d1/d2/d3 "$f"/private "$f"/private2 "$f"/mutable/dir2file || return 1
  # regular files of several sizes: 0, 13, ~63 KiB, 4097, ~2 MiB (> 1 MiB), a sparse 3 MiB
  printf 'hello, world\n' >"$f/small.txt"
  : >"$f/empty"
  seq 1 12000 >"$f/medium.txt"
  seq 1 300000 >"$f/large.txt"
  head -c 4097 "$f/large.txt" >"$f/page-plus-one"
  truncate -s 3M "$f/sparse"
  printf x | dd of="$f/sparse" bs=1 seek=1048576 conv=notrunc status=none
  printf '#!/bin/sh\necho exec.sh ran\n' >"$f/exec.sh"
  printf 'deep file\n' >"$f/d1/d2/d3/deep.txt"
  printf 'sibling of d3\n' >"$f/d1/d2/sibling.txt"
  printf 'newline in name\n' >"$f/nl"$'\n'"name"
  printf 'spaced name\n' >"$f/name with space.txt"
  printf 'linked twice\n' >"$f/linked.txt"
  ln "$f/linked.txt" "$f/linked-hard"
  printf 'root only\n' >"$f/secret"
  printf 'no permissions\n' >"$f/noperm"
  printf 'execute only\n' >"$f/xonly"
  printf 'inside a 0700 dir\n' >"$f/private/inner.txt"
  ln -s inner.txt "$f/private/link"
  printf 'inside another 0700 dir\n' >"$f/private2/inner.txt"
  chmod 0755 "$f/exec.sh"; chmod 0600 "$f/secret"; chmod 0000 "$f/noperm"; chmod 0111 "$f/xonly"
  chmod 0700 "$f/private" "$f/private2"
  # symlinks: chain, loop, self loop, dangling, to dir, absolute, upward, out of the tree,
  # a file used as a directory, and a 41-link chain (deep0 is one link too many: ELOOP)
  ln -s chain-b "$f/chain-a"; ln -s chain-c "$f/chain-b"; ln -s small.txt "$f/chain-c"
  ln -s loop2 "$f/loop1"; ln -s loop1 "$f/loop2"; ln -s self "$f/self"
  ln -s nonexistent "$f/dangling"; ln -s d1 "$f/dirlink"; ln -s small.txt "$f/notdir"
  ln -s "$f/small.txt" "$f/abslink"; ln -s ../fixture/small.txt "$f/uplink"
  # tmplink: into a tree the policy passes; /dev, not /tmp, whose mtime other programs move
  ln -s /dev "$f/tmplink"; ln -s /proc/self "$f/procself"
  for i in $(seq 0 39); do ln -s "deep$((i + 1))" "$f/deep$i"; done
  ln -s small.txt "$f/deep40"
  ln -s d1/d2/d3 "$f/d3link"        # d3link/.. is d1/d2, not the fixture root
  ln -s "$(printf 'x%.0s' $(seq 4000))" "$f/longtarget"                  # dangling, 4000 bytes
  ln -s "$(printf './%.0s' $(seq 2000))small.txt" "$f/longtarget2"       # 4009 bytes, resolves
  # files the mutating scenarios change
  printf 'line one\n' >"$f/mutable/append.txt"
  printf 'old contents\n' >"$f/mutable/old.txt"
  printf 'target contents, longer\n' >"$f/mutable/target.txt"
  printf 'to be unlinked\n' >"$f/mutable/victim.txt"
  printf 'mode changes\n' >"$f/mutable/chmodme"
  seq 1 1000 >"$f/mutable/trunc1.txt"
  seq 1 500 >"$f/mutable/trunc2.txt"
  printf 'dir becomes file\n' >"$f/mutable/dir2file/inner.txt"
  printf 'before the child\n' >"$f/mutable/bychild.txt"
  printf '0123456789\n' >"$f/mutable/shared.txt"
  printf 'alias\n' >"$f/mutable/alias-a"; ln "$f/mutable/alias-a" "$f/mutable/alias-b"
  ln -s alias-a "$f/mutable/symalias"
  printf 'creat truncates me\n' >"$f/mutable/creatme"
  printf 'via /proc/self/fd\n' >"$f/mutable/viaproc"
  printf 'swap one\n' >"$f/mutable/swap1"; printf 'swap two, longer\n' >"$f/mutable/swap2"
  ln -s swap2 "$f/mutable/flip"
  mkdir "$f/mutable/cwdir"; printf 'in cwdir\n' >"$f/mutable/cwdir/f"
  mkdir "$f/mutable/race"                                   # mkdir-race makes 200 dirs here
  # ancestor-perm: a tree owned by uid 65534, whose top it makes mode 0 while inside it
  mkdir -p "$f/perm/t/a/b"; printf 'below a closed ancestor\n' >"$f/perm/t/a/b/f"
  chown -R 65534:65534 "$f/perm/t"
  # The unprivileged pass (uid 65534) mutates too: the mutable tree is its own.
  chown -R 65534:65534 "$f/mutable"
  make_longtree "$f" || return 1
  find "$f" -path "$f/longtree" -prune -o -exec touch -h -d @1600000000 {} +
  # collrun never caches what changed since its job began, judged on the kernel's coarse
  # clock (ticks of a few ms). Wait until that clock has moved past the fixture: touch a
  # file until its ctime differs from a first one's. Bounded, and no sleep.
  local tick=${f%/fixture}/.tick a b
  : >"$tick.a"; a=$(stat -c %z "$tick.a")
  for i in $(seq 10000); do : >"$tick.b"; b=$(stat -c %z "$tick.b"); [ "$b" != "$a" ] && break; done
  rm -f "$tick.a" "$tick.b"
}
