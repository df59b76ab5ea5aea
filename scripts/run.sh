#!/usr/bin/env bash
# The main job on the bundled default: install, prepare the bundled corpus, print its report.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
.venv/bin/pinhan prepare bundled --out data/bundled --overwrite
