# Shared set-up for scripts/run and scripts/test (sourced, not run).
# Creates .venv with Python 3.11 when missing and (re)installs the project when its
# dependency list changed since the last install. Safe to run again and again.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Python 3.11 is required (python3.11 not found)." >&2
  return 1
}

ensure_venv() {
  local extras="${1:-}"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating virtualenv in .venv ..."
    "$(find_python)" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed${extras:+-$extras}"
  if [ ! -f "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "Installing alerts${extras:+[$extras]} and its dependencies ..."
    # A pip.conf naming local package mirrors absent from this machine makes pip warn once
    # per package; those lines say nothing about the install, so they are dropped (any
    # other warning or error still shows).
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT${extras:+[$extras]}" \
      2> >(grep -v "^WARNING: Location '.*' is ignored: it is neither a file nor a directory\.$" >&2)
    touch "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}
