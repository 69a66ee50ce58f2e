#!/usr/bin/env bash
# Set up (if needed), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
export JAX_PLATFORMS=cpu
export PATH="$PWD/.venv/bin:$PATH"  # as if activated: nbgrader runs alembic from there
exec .venv/bin/python -m pytest "$@"
