#!/bin/sh
# tests/docs/man_test.sh -- docs/luagil.1 renders without a warning (man -l,
# or groff where man-db is missing), names the program's version, and
# documents every option of 'luagil --help' as an item of OPTIONS, and no
# option that --help does not list. Exits 77 (skipped) with neither man
# nor groff.
# usage: man_test.sh LUAGIL PAGE VERSION
# See LICENSE for copyright and licence (MIT).
set -eu
export LC_ALL=C  # ASCII hyphens; one collation for sort and comm
luagil=$1 page=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Render as plain ASCII, 80 columns; every groff warning on.
if command -v man >/dev/null; then
  MANWIDTH=80 MAN_KEEP_FORMATTING= man -P cat --warnings=w \
    -l "$page" > "$tmp/page.txt" 2> "$tmp/warnings.txt"
elif command -v groff >/dev/null; then
  groff -man -ww -Tascii -P-cbou -rLL=80n "$page" \
    > "$tmp/page.txt" 2> "$tmp/warnings.txt"
else
  echo "neither man nor groff is installed (Debian man-db): skipped"
  exit 77
fi
if [ -s "$tmp/warnings.txt" ]; then
  echo "$page renders with warnings:"
  cat "$tmp/warnings.txt"
  exit 1
fi
grep -q "^OPTIONS$" "$tmp/page.txt" || { echo "no OPTIONS section"; exit 1; }

grep -q "^\.TH LUAGIL 1 [^ ]* \"luagil $version\"" "$page" ||
  { echo "$page does not say luagil $version in its .TH line"; exit 1; }

# The options --help lists: "  -e stat ...", "  --name=VALUE ...".
"$luagil" --help | sed -n 's/^  \(-[^ =]*\).*/\1/p' | sort -u \
  > "$tmp/help.txt"
[ "$(wc -l < "$tmp/help.txt")" -ge 10 ] ||
  { echo "luagil --help lists too few options:"; cat "$tmp/help.txt";
    exit 1; }
# The items of the page's OPTIONS section: a tag at the left margin.
sed -n '/^OPTIONS$/,/^[A-Z]/p' "$tmp/page.txt" |
  sed -n 's/^       \(-[^ =]*\).*/\1/p' | sort -u > "$tmp/page-options.txt"

status=0
for opt in $(comm -23 "$tmp/help.txt" "$tmp/page-options.txt"); do
  echo "'$opt' is in luagil --help but not an item of $page's OPTIONS"
  status=1
done
for opt in $(comm -13 "$tmp/help.txt" "$tmp/page-options.txt"); do
  echo "'$opt' is an item of $page's OPTIONS but not in luagil --help"
  status=1
done
[ $status -eq 0 ] &&
  echo "man page OK: $(wc -l < "$tmp/help.txt") options, no warnings"
exit $status
