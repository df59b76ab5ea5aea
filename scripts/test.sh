#!/usr/bin/env bash
# Install (if needed) and run the test suite; exits non-zero when a test fails.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
