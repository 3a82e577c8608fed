#!/usr/bin/env bash
# perl_git.sh — perl loading core modules, and git building a small repository (init, add,
# commit with fixed identities and dates, log, show, archive) in the scratch folder: same
# output as natively, identical commit ids and repository contents, stats show served>0.
. "$(dirname "$0")/lib.sh"
need_collrun

if command -v perl >/dev/null; then
  cat >"$S/t.pl" <<'PLEOF'
use strict; use warnings;
use POSIX qw(floor strftime); use Data::Dumper; use File::Spec; use JSON::PP;
use List::Util qw(sum max); use Storable qw(dclone); use Digest::MD5 qw(md5_hex);
use File::Find; use Time::Local; use Encode; use IO::File; use Cwd ();
$Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 1;
my $d = { list => [1 .. 5], name => "x\x{e9}", nested => { a => 1, b => [undef, 2.5] } };
print Dumper(dclone($d));
print JSON::PP->new->canonical->utf8->encode($d), "\n";
print floor(-2.5), " ", strftime("%Y-%m-%d %H:%M:%S", gmtime(1234567890)), " ", timegm(0, 0, 0, 1, 0, 2000), "\n";
print File::Spec->catfile("a", "b", "c.txt"), " ", File::Spec->rel2abs("x", "/usr/lib"), "\n";
print sum(1 .. 100), " ", max(3, 9, 2), " ", md5_hex(encode("UTF-8", "h\x{e9}")), "\n";
my @pm; find(sub { push @pm, $File::Find::name if /\.pm$/ }, "/usr/share/perl5/Debian");
print scalar(@pm) > 0 ? "find ok\n" : "find none\n", join("\n", sort @pm), "\n";
print "$_ => $INC{$_}\n" for sort keys %INC;
print "ok\n";
# a child perl loading the same modules again: its look-ups come from the cache
system($^X, "-MPOSIX", "-MJSON::PP", "-MData::Dumper", "-e", 'print JSON::PP->new->canonical->encode({a => [1, POSIX::floor(2.7)]}), "\n"') == 0 or die "child: $?";
PLEOF
  both perl perl -MPOSIX -MData::Dumper -MFile::Spec -MJSON::PP "$S/t.pl"
  stats perl served\>0 filled\>0
  both perl-missing-module -e 2 perl -MNo::Such::Module -e 'print "x\n"'
else
  skip perl "perl not installed"
fi

if command -v git >/dev/null; then
  export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=Ann GIT_AUTHOR_EMAIL=ann@example.org \
         GIT_COMMITTER_NAME=Bob GIT_COMMITTER_EMAIL=bob@example.org GIT_AUTHOR_DATE='2020-01-02T03:04:05Z' \
         GIT_COMMITTER_DATE='2020-01-02T03:04:05Z' TZ=UTC
  script='set -e
git init -q -b main repo; cd repo
printf "line1\nline2\n" >a.txt; mkdir sub; echo hello >sub/b.txt
git add -A; git commit -q -m "first commit"
echo line3 >>a.txt; git rm -q sub/b.txt; echo new >c.txt; git add -A
git commit -q -m "second" -m "body text"
git log --stat --format=fuller; git show --format=raw HEAD~1
git rev-parse HEAD HEAD^{tree}; git status --porcelain=v2 --branch
git ls-files -s; git diff HEAD~1 --stat; git archive HEAD | md5sum
git cat-file -p HEAD; git for-each-ref; git fsck --strict 2>&1; git count-objects
ls .git; ls .git/hooks | head -3'
  both git sh -c "$script"
  stats git served\>0 filled\>0
  d=$S/git
  if [ -d "$d/native.work/repo/.git" ] && diff -r -x index "$d/native.work/repo" "$d/collrun.work/repo" >"$d/tree.diff"; then
    pass git-repo-identical
  else
    fail git-repo-identical "repositories differ (see $d/tree.diff)"
  fi
  both git-error -e 128 sh -c 'git -C repo-missing log; exit $?'
else
  skip git "git not installed"
fi
finish
