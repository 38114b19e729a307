#!/usr/bin/env bash
# Run the whole test suite (installs what it needs into .venv on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup-env.sh"
cd "$root"
# Two worker processes (pytest-xdist), one per core of the 2-core machine the suite is budgeted on; a
# later -n (e.g. -n 0 to debug in one process) overrides it.
exec python -m pytest -n 2 "$@"
