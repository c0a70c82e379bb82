#!/usr/bin/env bash
# Runs real Prometheus (`promtool test rules`) on the alert fixtures that
# src/alerts/promtool.rs replays through poolsim's own evaluator, so the two are
# known to agree. Skips (exit 0) when promtool is not installed; install it with
# `apt-get install prometheus` (Debian 12 ships Prometheus 2.42; the fixtures avoid
# the one range-boundary difference between 2.x and 3.x, see pool.rules.yaml).
# Usage: tests/promtool/check.sh [--require]   (--require: fail without promtool)
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/../fixtures/promtool"
if ! command -v promtool >/dev/null 2>&1; then
    if [[ "${1:-}" == "--require" ]]; then
        echo "promtool not found (apt-get install prometheus)" >&2
        exit 1
    fi
    echo "promtool not found: skipping the Prometheus cross-check"
    exit 0
fi
promtool --version 2>&1 | head -1
promtool test rules ./*.test.yaml
