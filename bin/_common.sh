# Shared set-up for bin/run and bin/test. Sourced, not executed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ensure_uv() {
  if ! command -v uv >/dev/null 2>&1; then
    echo "Installing uv (the project's package manager) ..."
    python3 -m pip install --quiet "uv>=0.9"
  fi
}

install_dependencies() {
  ensure_uv
  # Exactly what uv.lock says, development tools included.
  uv sync --frozen --quiet
}
