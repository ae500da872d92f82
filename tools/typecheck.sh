#!/usr/bin/env bash
# mypy cannot follow setuptools' editable import hook, so it would see every
# `creditbrain.*` import as Any. Lay the package out as it is installed (a tree of
# symlinks under build/typecheck) and check all of it, strictly where pyproject says so.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree/creditbrain"
for entry in creditbrain/*; do
  case "$entry" in *__pycache__) continue ;; esac
  ln -s "$PWD/$entry" "$tree/creditbrain/"
done
for part in core schemas models alerts engine streams dashboards infra simulator; do
  if [ -d "$part" ]; then ln -s "$PWD/$part" "$tree/creditbrain/$part"; fi
done
MYPYPATH="$tree" exec .venv/bin/mypy -p creditbrain "$@"
