#!/usr/bin/env bash
# namespaces.sh — what a process may see changes without /proc/PID/status showing it, and
# mounts belong to the job (issue 9). Each check runs the same command natively and under
# collrun --cache=TREE (files first read where serving them is allowed, so a cache holds
# them) and compares stdout, stderr and exit status:
#   userns-*          unshare -U / -r: another user namespace sees other owners and rights
#   landlock-*        a Landlock domain takes reads away (helpers/landlock_open.c)
#   umount-*          a job can unmount what it read from; a deleted file is freed
#   never-cached-*    mqueue, binfmt_misc, hugetlbfs, configfs, efivarfs: a change made
#                     between two reads (by a process outside the job) shows in the second
# Needs root for most checks (SKIPs each one otherwise); SKIPs what this kernel cannot mount.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_extra.sh"
need_collrun
TR=$S/tree                    # the cached tree (never /tmp: the default policy passes it)
mkdir -p "$TR" "$S/ctl"; chmod 0755 "$S" "$TR"
CR_OPTS=(--cache="$TR")
MOUNTS=() QN=collrun-t9-$$ BN=collrun-t9-$$   # mounts made; message queue, binfmt_misc entry
cleanup() {
  local m
  kill_with "$S/"
  rm -f "$TR/mq/$QN" 2>/dev/null
  [ -e "$TR/binfmt/$BN" ] && echo -1 >"$TR/binfmt/$BN" 2>/dev/null
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
}
trap cleanup EXIT
umask 022

# --- user namespaces ----------------------------------------------------------------
if need_root userns && unshare -U true 2>/dev/null; then
  printf 'root only, mode 000\n' >"$TR/root000"; chmod 000 "$TR/root000"
  printf 'uid 1000, mode 600\n' >"$TR/other600"; chown 1000:1000 "$TR/other600"; chmod 600 "$TR/other600"
  printf 'nobody, mode 000\n' >"$TR/nobody000"; chown 65534:65534 "$TR/nobody000"; chmod 000 "$TR/nobody000"
  # root reads each first (so collrun holds it), then a new user namespace, where root is
  # unmapped and without capabilities outside, must get "Permission denied".
  pair userns-root-only-file -e 1 sh -c "wc -c <'$TR/root000'; unshare -U cat '$TR/root000'"
  pair userns-other-users-file -e 1 sh -c "wc -c <'$TR/other600'; unshare -U cat '$TR/other600'"
  # owners outside the namespace's map show as the overflow ids
  pair userns-stat-owner sh -c "stat -c '%u %g' /usr/bin/ls; unshare -U stat -c '%u %g' /usr/bin/ls"
  # uid 65534 (collrun too) cannot read its own mode-000 file, until unshare -r makes it
  # root of a namespace that maps its uid: then it can.
  if "${NOBODY[@]}" unshare -r true 2>/dev/null; then
    pair userns-own-file-as-mapped-root -w NOBODY sh -c "cat '$TR/nobody000'; unshare -r cat '$TR/nobody000'"
  else
    skip userns-own-file-as-mapped-root "uid 65534 may not create user namespaces here"
  fi
elif [ "$(id -u)" = 0 ]; then
  skip userns "unshare -U does not work here (user namespaces disabled?)"
fi

# --- Landlock -----------------------------------------------------------------------
LL=$(helper landlock_open)
if [ -n "$LL" ]; then
  abi=$("$LL" --abi)
  if [[ $abi == none* ]]; then
    skip landlock "this kernel has no Landlock (landlock_create_ruleset: ${abi#none })"
  else
    printf 'landlock guarded\n' >"$TR/ll-file"
    pair landlock-denies-read "$LL" "$TR/ll-file"
    # the same as uid 65534, collrun included (no capabilities at all)
    pair landlock-denies-read-nobody -w NOBODY "$LL" "$TR/ll-file"
  fi
fi

# --- umount of a file system the job read from; deleted files are freed -------------
mnt_fresh() {   # mnt_fresh DIR SIZE: a fresh tmpfs on DIR (inside the cached tree)
  umount "$1" 2>/dev/null
  mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" || return 1
  [[ " ${MOUNTS[*]} " == *" $1 "* ]] || MOUNTS+=("$1")
}
umount_setup() { mnt_fresh "$TR/um" 1m && printf 'on the tmpfs\n' >"$TR/um/f"; }
freed_setup() { mnt_fresh "$TR/fr" 4m && head -c 2097152 /dev/zero >"$TR/fr/big"; }
if need_root umount; then
  if ! umount_setup; then
    skip umount "cannot mount a tmpfs here"
  else
    # read it twice (the second read is served), then unmount it from inside the job
    pair umount-after-read -s umount_setup sh -c "cat '$TR/um/f' '$TR/um/f'; umount '$TR/um' && echo unmounted"
    umount "$TR/um" 2>/dev/null
    [ "$(stats_of umount-after-read served)" -gt 0 ] 2>/dev/null && pass umount-after-read-was-served ||
      fail umount-after-read-was-served "nothing was served from the tmpfs (stats: $(tail -n 1 "$S/umount-after-read/stats" 2>/dev/null)): the check proves nothing"
    # a 2 MiB file read (served) and deleted by the job: its blocks come back at once
    pair deleted-file-is-freed -s freed_setup sh -c "cat '$TR/fr/big' '$TR/fr/big' | wc -c; stat -f -c 'free blocks before rm: %f' '$TR/fr'; rm '$TR/fr/big'; stat -f -c 'free blocks after rm: %f' '$TR/fr'"
    [ "$(stats_of deleted-file-is-freed served)" -gt 0 ] 2>/dev/null && pass deleted-file-was-served ||
      fail deleted-file-was-served "nothing was served (stats: $(tail -n 1 "$S/deleted-file-is-freed/stats" 2>/dev/null)): the check proves nothing"
  fi
fi

# --- file systems whose files change without a write: never cached -------------------
# Each: SETUP mounts and makes the object; the job reads it, a helper outside the job
# changes it, and the job reads it again. Hand-shake through one FIFO, with no sleeps and
# no write-open inside the job (a collrun that forgets everything on any write would
# otherwise pass for the wrong reason): the job's read-only open of the FIFO, after its
# first read, lets the helper's write-open return; the helper changes the object, then
# writes the line the job waits for.
change_in_background() {   # change_in_background CMD
  rm -f "$S/ctl/go"; mkfifo -m 0666 "$S/ctl/go" || return 1
  ( timeout "$HANG" sh -c "exec 3>'$S/ctl/go'; $1; echo go >&3" ) >"$S/ctl/changer.log" 2>&1 &
}
twice() {   # the job: FILE-READING-CMD, wait for the change, FILE-READING-CMD
  echo "$1; read _ <'$S/ctl/go'; $1"
}
if [ "$(id -u)" != 0 ]; then
  skip never-cached "needs root to mount mqueue, binfmt_misc, hugetlbfs"
else
  # mqueue: QSIZE in the queue's file grows with each message (mq_send is no file call).
  # (Its times have 1 s granularity, so only the contents are compared.)
  MQ=$(helper mq_send -lrt)
  mq_setup() {
    mnt_one "$TR/mq" mqueue && rm -f "$TR/mq/$QN" && : >"$TR/mq/$QN" &&
      change_in_background "'$MQ' /$QN hello"
  }
  mnt_one() {   # mnt_one DIR TYPE: mount a fresh instance of TYPE on DIR (no-op if mounted)
    mkdir -p "$1"
    mountpoint -q "$1" || mount -t "$2" none "$1" 2>"$S/mount-$2.err" || return 1
    [[ " ${MOUNTS[*]} " == *" $1 "* ]] || MOUNTS+=("$1")
  }
  if [ -z "$MQ" ] || ! mnt_one "$TR/mq" mqueue; then
    skip never-cached-mqueue "cannot mount mqueue here: $(cat "$S/mount-mqueue.err" 2>/dev/null)"
  else
    pair never-cached-mqueue -s mq_setup sh -c "$(twice "cat '$TR/mq/$QN'")"
    rm -f "$TR/mq/$QN"
  fi

  # binfmt_misc: an entry's file says enabled/disabled (an extension nothing uses)
  bf_setup() {
    mnt_one "$TR/binfmt" binfmt_misc || return 1
    [ -e "$TR/binfmt/$BN" ] || echo ":$BN:E::collrunt9zz::/bin/true:" >"$TR/binfmt/register" || return 1
    echo 1 >"$TR/binfmt/$BN" && change_in_background "echo 0 >'$TR/binfmt/$BN'"
  }
  if ! mnt_one "$TR/binfmt" binfmt_misc; then
    skip never-cached-binfmt_misc "cannot mount binfmt_misc here: $(cat "$S/mount-binfmt_misc.err" 2>/dev/null)"
  elif ! bf_setup; then
    skip never-cached-binfmt_misc "cannot register a binfmt_misc entry here"
  else
    pair never-cached-binfmt_misc -s bf_setup sh -c "$(twice "cat '$TR/binfmt/$BN'")"
    echo -1 >"$TR/binfmt/$BN" 2>/dev/null
  fi

  # hugetlbfs: a file's size, changed by ftruncate outside the job
  hp=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
  hg_setup() {
    mnt_one "$TR/huge" hugetlbfs && rm -f "$TR/huge/f" && : >"$TR/huge/f" &&
      change_in_background "truncate -s ${hp}K '$TR/huge/f'"
  }
  if [ -z "$hp" ] || ! mnt_one "$TR/huge" hugetlbfs; then
    skip never-cached-hugetlbfs "cannot mount hugetlbfs here: $(cat "$S/mount-hugetlbfs.err" 2>/dev/null)"
  elif ! : >"$TR/huge/f" || ! truncate -s "${hp}K" "$TR/huge/f"; then
    skip never-cached-hugetlbfs "cannot size a file on hugetlbfs here"
  else
    pair never-cached-hugetlbfs -s hg_setup sh -c "$(twice "stat -c 'size %s' '$TR/huge/f'")"
  fi

  # configfs and efivarfs exist only with their modules / EFI firmware
  if ! grep -qw configfs /proc/filesystems; then
    skip never-cached-configfs "this kernel has no configfs (not in /proc/filesystems; no modules here)"
  elif ! mnt_one "$TR/configfs" configfs; then
    skip never-cached-configfs "cannot mount configfs here: $(cat "$S/mount-configfs.err" 2>/dev/null)"
  else
    skip never-cached-configfs "configfs mounts, but this test knows no configfs object to create and change"
  fi
  if ! grep -qw efivarfs /proc/filesystems || [ ! -d /sys/firmware/efi ]; then
    skip never-cached-efivarfs "no EFI firmware variables on this machine"
  else
    skip never-cached-efivarfs "efivarfs present, but changing EFI variables in a test is not safe"
  fi
fi
finish
