#!/usr/bin/env bash
# Fetch the console's front-end files (console/static/vendor.txt) from the npm registry into
# console/static/vendor/, each at its pinned version. Run by `make setup`; nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
list=console/static/vendor.txt
dest=console/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dest"
grep -v '^\s*#' "$list" | while read -r package version file saved; do
  [ -n "$package" ] || continue
  tarball=$(cd "$work" && npm pack --silent "$package@$version")
  tar -xzf "$work/$tarball" -C "$work" "package/$file"
  cp "$work/package/$file" "$dest/$saved"
  rm -rf "$work/package" "$work/$tarball"
  echo "vendored $package@$version $file -> $dest/$saved"
done
cp "$list" "$dest/.installed"
