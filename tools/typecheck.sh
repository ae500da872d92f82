#!/usr/bin/env bash
# mypy cannot follow setuptools' editable import hook, so it would see every
# `creditbrain.*` import as Any. Lay the package out as it is installed (a tree of
# symlinks under build/typecheck) and check it strictly where pyproject says so.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree/creditbrain"
for file in creditbrain/*.py; do ln -s "$PWD/$file" "$tree/creditbrain/"; done
for part in schemas models alerts engine streams dashboards infra simulator; do
  ln -s "$PWD/$part" "$tree/creditbrain/$part"
done
MYPYPATH="$tree" exec .venv/bin/mypy -p creditbrain.schemas -p creditbrain.models -p creditbrain.alerts -p creditbrain.engine "$@"
