#!/usr/bin/env bash
# poolsim's scraped series and alert times held against the real Prometheus:
#  1. `sim run --openmetrics` on the Lab 04 and dual-pool incident scenarios;
#  2. `promtool tsdb create-blocks-from openmetrics` loads metrics.om into a
#     Prometheus data directory, a Prometheus server (localhost only) serves
#     it, and every counter is queried back and compared with timeline.csv and
#     every series with metrics.om itself;
#  3. `promtool test rules` evaluates tests/prometheus/gauge-rules.yaml (given
#     to the run with --rules) over the same series and must fire its alerts at
#     the times alerts.csv says.
# Installs Debian's `prometheus` package when it is missing (the service is
# not started), and stops the server it starts. Usage:
#   tests/prometheus/check.sh            # needs cargo, python3, root for apt-get
# Environment: SIM=path/to/sim to skip the build.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    echo "== installing Debian's prometheus (promtool and the server; the service is not started)"
    # policy-rc.d: keep Debian's maintainer scripts from starting a system Prometheus.
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    [ "$created_policy" = 1 ] && rm -f "$policy"
fi
promtool --version 2>&1 | head -1

sim=${SIM:-}
if [ -z "$sim" ]; then
    cargo build --locked --release --quiet --bin sim
    sim="${CARGO_TARGET_DIR:-target}/release/sim"
fi

work=$(mktemp -d /tmp/poolsim-prometheus.XXXXXX)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

# A fixed, recent start (2023-11-14T22:13:20Z): the same bytes every run, and
# blocks a server with a long retention keeps.
start=1700000000
status=0
for scenario in lab04 incident-dual-pool; do
    echo "== $scenario"
    out="$work/$scenario"
    "$sim" run "scenarios/$scenario.yaml" --rules tests/prometheus/gauge-rules.yaml \
        --openmetrics --openmetrics-start "$start" --no-plots -q --out "$out" 2>/dev/null
    data="$work/data-$scenario"
    promtool tsdb create-blocks-from openmetrics "$out/metrics.om" "$data" >/dev/null
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' > "$work/prometheus.yml"
    prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$data" \
        --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
        > "$work/prometheus-$scenario.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        if curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then break; fi
        sleep 0.2
    done
    python3 tests/prometheus/compare.py --url "http://127.0.0.1:$port" --run "$out" --start "$start" \
        --rules tests/prometheus/gauge-rules.yaml --rules-test "$work/$scenario-rules" || status=1
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    (cd "$work/$scenario-rules" && promtool test rules test.yaml) || status=1
done
exit $status
