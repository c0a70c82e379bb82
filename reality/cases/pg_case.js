// node-postgres (pg.Pool from npm) under a burst, as a node API process uses it.
//
//   node pg_case.js PLAN.json OUT.csv
//
// PLAN: {"conn": {host, port, user, database, application_name}, "max": M,
//        "connectionTimeoutMillis": T, "idleTimeoutMillis": I,
//        "phases": [{"name": N, "count": K, "hold_s": H, "spacing_s": S, "pause_s": X}]}
// Each request: pool.connect() (the acquire), SELECT pg_sleep(H), client.release().
// Request i of a phase calls connect() at t0 + start_s + i*S. A phase with "hog": N
// also runs a hog doing N connect/query/release cycles back to back from t0 (a loop
// that re-acquires at once): does a waiter get the client the hog releases, or does
// the hog take it back (barging)?
//
// OUT.csv: phase, rid, proc, t_call, t_acquired, t_failed, t_released, outcome, error,
// stamped with process.hrtime.bigint() (CLOCK_MONOTONIC, the clock of Python's time.monotonic()).
'use strict'
const fs = require('fs')
const path = require('path')
const { Pool } = require(path.join(process.env.REALITY_NODE_DIR || path.join(__dirname, '..', 'node'), 'node_modules', 'pg'))

const mono = () => Number(process.hrtime.bigint()) / 1e9
const sleep = (s) => new Promise((r) => setTimeout(r, Math.max(0, s * 1000)))

async function request(pool, phase, rid, startAt, holdS, rows) {
  if (startAt > mono()) await sleep(startAt - mono()) // a hog's next cycle does not yield first
  const tCall = mono()
  let tAcq = ''
  let tFail = ''
  let tRel = ''
  let outcome = 'ok'
  let err = ''
  let pid = ''
  let client
  try {
    client = await pool.connect()
    tAcq = mono()
  } catch (e) {
    tFail = mono()
    const msg = String(e.message).split('\n')[0]
    if (msg.includes('timeout exceeded when trying to connect')) outcome = 'timed_out'
    else if (e.code === '53300' || /too many clients|reserved/.test(msg)) outcome = 'refused'
    else outcome = 'failed'
    err = msg
  }
  if (client) {
    try {
      const res = await client.query(`SELECT pg_backend_pid() FROM pg_sleep(${holdS.toFixed(6)})`)
      pid = res.rows[0].pg_backend_pid
    } catch (e) {
      outcome = 'failed'
      err = String(e.message)
    } finally {
      client.release()
      tRel = mono()
    }
  }
  const f = (x) => (x === '' ? '' : x.toFixed(6))
  rows.push([phase, rid, 'node', f(tCall), f(tAcq), f(tFail), f(tRel), outcome, JSON.stringify(err), pid])
}

// Connect-time probe: {"probe_connects": N, "conn": {...}} opens N clients one after
// another (new pg.Client().connect(), what the pool's newClient does) and writes their times.
async function probe(plan) {
  const { Client } = require(path.join(process.env.REALITY_NODE_DIR || path.join(__dirname, '..', 'node'), 'node_modules', 'pg'))
  const times = []
  const clients = []
  for (let i = 0; i < plan.probe_connects; i++) {
    const c = new Client(plan.conn)
    const t = mono()
    await c.connect()
    times.push(mono() - t)
    clients.push(c)
  }
  for (const c of clients) await c.end()
  // Then P at once, as a lazy pool opens under a burst.
  const parallel = {}
  for (const p of [5, 20]) {
    await sleep(0.3)
    const t0 = mono()
    const cs = Array.from({ length: p }, () => new Client(plan.conn))
    const ts = await Promise.all(cs.map((c) => c.connect().then(() => mono() - t0)))
    for (const c of cs) await c.end()
    parallel[`node-postgres, ${p} at once`] = ts
  }
  fs.writeFileSync(process.argv[3], JSON.stringify({ 'node-postgres': times, parallel }))
}

async function main() {
  const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
  if (plan.probe_connects) return probe(plan)
  const pool = new Pool({
    ...plan.conn,
    max: plan.max,
    connectionTimeoutMillis: plan.connectionTimeoutMillis,
    idleTimeoutMillis: plan.idleTimeoutMillis,
  })
  // An idle client that loses its connection emits 'error' on the pool: log it, do not crash.
  pool.on('error', (e) => process.stderr.write(`pool error: ${e.message}\n`))
  const rows = []
  const phases = {}
  for (const ph of plan.phases) {
    const t0 = mono() + 0.05
    phases[ph.name] = t0
    const reqs = []
    const first = t0 + (ph.start_s || 0)
    for (let i = 0; i < ph.count; i++) {
      reqs.push(request(pool, ph.name, `${ph.name}-${i}`, first + i * (ph.spacing_s || 0), ph.hold_s, rows))
    }
    if (ph.hog) {
      reqs.push((async () => {
        for (let k = 0; k < ph.hog; k++) await request(pool, ph.name, `${ph.name}-hog${k}`, t0, ph.hold_s, rows)
      })())
    }
    await Promise.all(reqs)
    // Idle reuse order: then N requests one after another, each noting its backend's pid.
    for (let k = 0; k < (ph.then_sequential || 0); k++) {
      await request(pool, ph.name, `${ph.name}-seq${k}`, 0, ph.hold_s, rows)
    }
    await sleep(ph.pause_s === undefined ? 1.0 : ph.pause_s)
  }
  await pool.end()
  const header = 'phase,rid,proc,t_call,t_acquired,t_failed,t_released,outcome,error,pid\n'
  fs.writeFileSync(process.argv[3], header + rows.map((r) => r.join(',')).join('\n') + '\n')
  fs.writeFileSync(process.argv[3] + '.phases.json', JSON.stringify(phases))
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
