#!/usr/bin/env bash
# What the benchmarks use beside the test services: wrk as the load generator (its own process)
# and nginx as the baseline static server and X-Accel-Redirect front. Installed only when missing.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "bench: wrk and nginx are ready"
