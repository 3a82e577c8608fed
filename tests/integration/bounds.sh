#!/usr/bin/env bash
# bounds.sh — collrun's memory is bounded: --max-cache caps the bytes of file copies kept
# (least recently served go first), --max-file-size passes bigger files to the kernel
# uncopied; the program sees the same bytes either way. Bad sizes are usage errors (2).
. "$(dirname "$0")/lib.sh"
need_collrun
TREE=$S/tree; mkdir -p "$TREE"
for i in $(seq 1 12); do head -c 20000 /usr/bin/python3 | tail -c $((20000 - i)) >"$TREE/f$i"; done
head -c 300000 /usr/bin/python3 >"$TREE/big"
settle_clock
reads="for r in 1 2; do for i in \$(seq 1 12); do md5sum '$TREE/f'\$i; done; done; md5sum '$TREE/big'"

# 12 files of ~20 KB read twice and a 300 KB one, under a 64 KiB cap: same sums, at most
# 64 KiB held, and copies were made and served (the cap evicts, it does not stop serving)
CR_OPTS=(--data=memfd --max-cache=64K -c "$TREE")
both max-cache-holds-the-cap sh -c "$reads"
stats max-cache-holds-the-cap served\>0 files\>0 bytes\<65537
# without the cap every small file stays
CR_OPTS=(--data=memfd -c "$TREE")
both no-cap-keeps-every-copy sh -c "$reads"
stats no-cap-keeps-every-copy files\>12 bytes\>300000

# files bigger than --max-file-size are opened by the kernel, never copied
CR_OPTS=(--data=memfd --max-file-size=100K -c "$TREE")
both max-file-size-passes-big-files md5sum "$TREE/big" "$TREE/f1"
stats max-file-size-passes-big-files files\>0 bytes\<300000

# sizes must parse
for bad in 12Q -5 "" 1.5M; do
  "$COLLRUN" --max-cache="$bad" -- /bin/true >"$S/bad.out" 2>"$S/bad.err"; rc=$?
  if [ "$rc" = 2 ] && grep -q "^collrun: --max-cache $bad: expected a size" "$S/bad.err"; then pass "bad-size-${bad:-empty}-is-a-usage-error"
  else fail "bad-size-${bad:-empty}-is-a-usage-error" "rc=$rc: $(head -1 "$S/bad.err")"; fi
done
finish
