#!/bin/sh
# Turns a policy file into a C string, so the binary carries the same default that
# `make install` puts in $(PREFIX)/share/collrun/default.policy. Usage: embed.sh IN SYMBOL
printf '/* Generated from %s by policy/embed.sh: do not edit. */\n' "$1"
printf 'const char %s[] =\n' "$2"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$/\\n"/' "$1"
printf ';\n'
