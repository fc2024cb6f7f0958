#!/bin/sh
# Rebuild src/make_book/icc/FOGRA39-make-book.icc from FOGRA's characterization
# data (Debian: apt-get install icc-profiles-free argyll). Not part of the build.
set -eu
work=$(mktemp -d)
cp /usr/share/color/icc/FOGRA39L.ti3 "$work/"
cd "$work"
colprof -ql -l240 -L95 \
  -D "FOGRA39 (Coated FOGRA39, ISO 12647-2:2004) - make-book" \
  -C "Built from FOGRA39L.ti3 (Kai-Uwe Behrmann, Zlib licence) with ArgyllCMS colprof" \
  -O fogra39.icc FOGRA39L
cp fogra39.icc "$OLDPWD/src/make_book/icc/FOGRA39-make-book.icc"
