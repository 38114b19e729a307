#!/usr/bin/env bash
# Run the whole test suite (installs what it needs into .venv on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup-env.sh"
cd "$root"
exec python -m pytest "$@"
