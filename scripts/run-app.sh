#!/usr/bin/env bash
# Start the skinscan app on http://127.0.0.1:8501 (installs what it needs into .venv on first use).
# Refuses to start on a network address (e.g. --server.address 0.0.0.0) without SKINSCAN_PASSWORD.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup-env.sh"
cd "$root"
python -m app_pages.gate "$@" || exit 2
exec streamlit run app.py "$@"
