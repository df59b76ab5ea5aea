#!/usr/bin/env bash
# Sourced by scripts/run.sh and scripts/test.sh: make .venv and install pinhan into it.
# torch==2.13.0 goes in first (a CPU wheel on the project machines; any other version would pull a
# multi-GB CUDA build); pyproject.toml's range (torch>=2.3) is then already met.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "pinhan needs Python >= 3.10" >&2; exit 1; }
  "$PY" -m venv .venv
fi
stamp=.venv/.pinhan-installed
want=$(cat pyproject.toml scripts/venv.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "installing pinhan and its dependencies into .venv ..."
  pip_install() {
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check "$@" > .venv/pip.log 2>&1; then
      grep -v "^WARNING: Location" .venv/pip.log >&2
      echo "installation failed: pip install $*" >&2
      exit 1
    fi
  }
  pip_install "torch==2.13.0"
  pip_install -e ".[dev]"
  echo "$want" > "$stamp"
fi
