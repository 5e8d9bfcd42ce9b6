#!/usr/bin/env bash
# The benchmark's own environment: the reference engines and SDMetrics, never dependencies of the package.
set -euo pipefail
cd "$(dirname "$0")"
test -x .venv-ref/bin/python || python3 -m venv .venv-ref
.venv-ref/bin/pip install -q torch==2.13.0          # CPU wheel first, or ctgan pulls a CUDA build
.venv-ref/bin/pip install -q "ctgan==0.12.1" "sdmetrics==0.32.0" "pandas<3"
