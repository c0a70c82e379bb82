#!/usr/bin/env python3
"""One run's metrics.om against what a real Prometheus serves after loading it,
the counters against the run's timeline.csv, and a `promtool test rules` file
that must fire the run's alerts (alerts.csv) at the same evaluation times.

Called by tests/prometheus/check.sh; stdlib only. Exit 1 on any difference."""

import argparse
import csv
import json
import math
import os
import re
import sys
import urllib.parse
import urllib.request

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+) (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def labels_of(text):
    if not text:
        return ()
    return tuple(sorted((k, v.replace('\\"', '"').replace('\\n', '\n').replace('\\\\', '\\'))
                        for k, v in LABEL.findall(text)))


def read_openmetrics(path):
    """{(name, labels): [(t_s, value)]} in file order."""
    series = {}
    with open(path) as f:
        for line in f:
            if line.startswith('#'):
                continue
            m = LINE.match(line.rstrip('\n'))
            if not m:
                sys.exit(f'{path}: unreadable line {line!r}')
            key = (m.group(1), labels_of(m.group(2)))
            series.setdefault(key, []).append((float(m.group(4)), float(m.group(3))))
    return series


def query_range(url, query, start, end, step):
    q = urllib.parse.urlencode({'query': query, 'start': start, 'end': end, 'step': step})
    with urllib.request.urlopen(f'{url}/api/v1/query_range?{q}', timeout=60) as r:
        body = json.load(r)
    if body.get('status') != 'success':
        sys.exit(f'query {query!r} failed: {body}')
    out = {}
    for res in body['data']['result']:
        metric = dict(res['metric'])
        name = metric.pop('__name__')
        out[(name, tuple(sorted(metric.items())))] = [(float(t), float(v)) for t, v in res['values']]
    return out


def close(a, b):
    return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--run', required=True, help='the sim run output folder')
    ap.add_argument('--start', type=int, required=True, help='--openmetrics-start of the run')
    ap.add_argument('--rules', required=True, help='the rule file the run was given with --rules')
    ap.add_argument('--rules-test', required=True, help='folder to write the promtool test into')
    args = ap.parse_args()
    problems = []

    om = read_openmetrics(os.path.join(args.run, 'metrics.om'))
    times = sorted({t for pts in om.values() for t, _ in pts})
    interval = times[1] - times[0]
    # 1. Every series, as the real Prometheus serves it after create-blocks-from openmetrics.
    names = sorted({name for name, _ in om})
    served = {}
    for name in names:
        served.update(query_range(args.url, name, times[0], times[-1], interval))
    for key, points in om.items():
        got = dict(served.get(key, []))
        for t, v in points:
            if t not in got or not close(got[t], v):
                problems.append(f'{key[0]}{dict(key[1])} at {t - args.start:.0f} s: metrics.om {v}, Prometheus {got.get(t)}')
    print(f'  {len(om)} series x {len(times)} scrapes: Prometheus serves what metrics.om holds'
          + ('' if not problems else f' except {len(problems)} samples'))

    # 2. The counters against timeline.csv: the scrape at T counts what the buckets before T did.
    with open(os.path.join(args.run, 'timeline.csv')) as f:
        rows = [{k: (float(v) if v else 0.0) for k, v in r.items()} for r in csv.DictReader(f)]
    width = rows[1]['t_s'] - rows[0]['t_s']
    summary = json.load(open(os.path.join(args.run, 'summary.json')))
    checks = 0
    for t in times:
        rel = t - args.start
        if abs(rel / width - round(rel / width)) > 1e-9:
            continue  # a scrape inside a bucket: the timeline cannot split it
        before = [r for r in rows if r['t_s'] + width <= rel + 1e-9]
        at = lambda name, **lab: sum(v for (n, l), pts in served.items() if n == name
                                     and all(dict(l).get(k) == x for k, x in lab.items())
                                     for tt, v in pts if tt == t)
        expect = {
            ('http_requests_total', '200'): sum(r['ok'] for r in before),
            ('http_requests_total', '503'): sum(r['timed_out'] for r in before),
            ('http_requests_total', '500'): sum(r['failed'] for r in before),
            ('db_pool_exhaustion_total', None): before[-1]['db_pool_exhaustion_total'] if before else 0,
            ('db_refusals_total', None): sum(r['db_refusals'] for r in before),
        }
        for (name, status), want in expect.items():
            got = at(name, status=status) if status else at(name)
            checks += 1
            if not close(got, want):
                problems.append(f'{name}{"{status=" + status + "}" if status else ""} at {rel:.0f} s: '
                                f'Prometheus {got}, timeline.csv {want}')
    print(f'  {checks} counter values at bucket-aligned scrapes agree with timeline.csv'
          if not problems else f'  counters: {len(problems)} problems')

    # 3. A promtool test: the run's own series, the same rules, the alerts at the times alerts.csv gives.
    os.makedirs(args.rules_test, exist_ok=True)
    rules_text = open(args.rules).read()
    with open(os.path.join(args.rules_test, 'rules.yaml'), 'w') as f:
        f.write(rules_text)
    rule_names = re.findall(r'^\s*-\s*alert:\s*(\S+)', rules_text, re.M)
    used = sorted({n for n in names if re.search(r'\b' + re.escape(n) + r'\b', rules_text)})
    with open(os.path.join(args.run, 'alerts.csv')) as f:
        episodes = [r for r in csv.DictReader(f) if r['alert'] in rule_names]
    step = int(round(interval))
    end = int(round(times[-1] - args.start))
    lines = ['rule_files: [rules.yaml]', f'evaluation_interval: {step}s', 'tests:', f'  - interval: {step}s',
             '    input_series:']
    for (name, labels), points in om.items():
        if name not in used:
            continue
        values = {round(t - args.start): v for t, v in points}
        # promtool's notation: one value per interval from 0, `_` where there is no sample.
        seq = ' '.join(('_' if k * step not in values else repr(values[k * step])) for k in range(end // step + 1))
        sel = name + '{' + ','.join(f'{k}="{v}"' for k, v in labels) + '}'
        lines += [f"      - series: '{sel}'", f"        values: '{seq}'"]
    lines.append('    alert_rule_test:')
    tested = 0
    for name in rule_names:
        mine = [e for e in episodes if e['alert'] == name]
        marks = set()
        for e in mine:
            if e['firing_s']:
                f_s = round(float(e['firing_s']))
                marks.update({f_s - step, f_s})
            if e['resolved_s'] and e['firing_s']:
                r_s = round(float(e['resolved_s']))
                marks.update({r_s - step, r_s})
        marks.add(end)
        for t in sorted(m for m in marks if 0 <= m <= end):
            firing = [e for e in mine if e['firing_s'] and float(e['firing_s']) <= t
                      and (not e['resolved_s'] or t < float(e['resolved_s']))]
            lines += [f'      - eval_time: {t}s', f'        alertname: {name}']
            if not firing:
                lines.append('        exp_alerts: []')
            else:
                lines.append('        exp_alerts:')
                for e in firing:
                    labels = dict(labels_of(e['labels']))
                    lines.append('          - exp_labels: {' + ', '.join(f'{k}: "{v}"' for k, v in labels.items()) + '}')
            tested += 1
    with open(os.path.join(args.rules_test, 'test.yaml'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    fired = sum(1 for e in episodes if e['firing_s'])
    print(f'  promtool test: {len(rule_names)} rules, {fired} firing episodes in alerts.csv, '
          f'{tested} evaluation times to check')

    for p in problems[:20]:
        print('  MISMATCH', p)
    if len(problems) > 20:
        print(f'  ... and {len(problems) - 20} more')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
