#!/usr/bin/env bash
# The application's SemanticVersion in template.yaml must be Cargo.toml's version: one release,
# one number.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
template=$(sed -n 's/^ *SemanticVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' template.yaml)
readme=$(sed -n 's/^ *SemanticVersion: *\([^ ]*\) *$/\1/p' README.md)
if [ "$cargo" != "$template" ] || [ "$cargo" != "$readme" ]; then
  echo "Cargo.toml's version is '$cargo', template.yaml's SemanticVersion '$template'," \
    "the README's '$readme'" >&2
  exit 1
fi
echo "version $cargo in Cargo.toml, template.yaml and the README"
