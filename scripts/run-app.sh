#!/usr/bin/env bash
# Start the skinscan app on http://127.0.0.1:8501 (installs what it needs into .venv on first use).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/setup-env.sh"
cd "$root"
exec streamlit run app.py "$@"
