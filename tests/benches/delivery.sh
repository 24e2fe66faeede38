#!/usr/bin/env bash
# Webhook delivery benchmark (not a test): deliveries/s of one delivery
# process to the local Python receiver, next to the receiver's own limit
# measured with wrk in the same run. Results: BENCHMARKS.md.
#
# Usage: tests/benches/delivery.sh [DELIVERIES (2000)] [WRK_SECONDS (10)]
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null; then
  echo "==> installing wrk (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
  else sudo apt-get install -y wrk || { sudo apt-get update && sudo apt-get install -y wrk; }
  fi
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt

cargo build -p e2e --bin delivery_bench
RUST_LOG=warn ./target/debug/delivery_bench "$@"
