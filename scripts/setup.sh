#!/usr/bin/env bash
# Idempotent set-up: Debian packages, a virtualenv, the Python package, front-end assets.
# Runs before `make run` and `make test`; does only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(fonts-noto-cjk fonts-liberation libharfbuzz-subset0 poppler-utils chromium libicu-dev pkg-config)
PYTHON=${PYTHON:-python3}

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: apt-get not found. Install these yourself (names are Debian's):" >&2
    echo "  ${missing[*]}" >&2
    echo "  (CJK fonts: Noto Serif/Sans CJK SC; HarfBuzz with the hb-subset library; poppler's pdftoppm; Chromium; ICU headers and pkg-config to build PyICU)" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  $PYTHON -m venv .venv
fi
stamp=.venv/.hongwu-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: pip install -e '.[dev]'"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi

if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package.json -nt node_modules/.hongwu-installed ]; then
    if command -v npm >/dev/null 2>&1; then
      echo "setup: npm install"
      if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
      touch node_modules/.hongwu-installed
    else
      echo "setup: npm not found; install Node.js and npm (Debian: nodejs npm) for the diagram viewer" >&2
      exit 1
    fi
  fi
fi
