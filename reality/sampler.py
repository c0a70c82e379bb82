"""Samples the connections open at the database every ~100 ms.

    python sampler.py OUT.csv [--pgbouncer PORT]

Counts client backends of pg_stat_activity by application_name (the sampler's
own session excluded), as the runbook's
`SELECT count(*) FROM pg_stat_activity WHERE datname = 'labdb'` does, and with
--pgbouncer also reads pgbouncer's SHOW POOLS (clients active and waiting,
server connections active and idle). Runs until SIGTERM; rows are flushed as
they are taken: t (monotonic s), name, count.

It connects as the superuser `postgres` to the `postgres` database: its one
connection holds a normal slot (PostgreSQL hands reserved slots out last), which
the cases' scenarios account for.
"""

import signal
import sys
import time

import psycopg

from common import env_dsn, mono

QUERY = """
SELECT coalesce(application_name, ''), count(*)
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
GROUP BY 1
"""

stop = False


def on_term(*_):
    global stop
    stop = True


def main():
    out = sys.argv[1]
    bouncer = None
    if "--pgbouncer" in sys.argv:
        bouncer = sys.argv[sys.argv.index("--pgbouncer") + 1]
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    conn = psycopg.connect(env_dsn("rs-sampler", db="postgres", user="postgres"), autocommit=True)
    bconn = None
    if bouncer:
        # The admin console speaks the simple query protocol only.
        bconn = psycopg.connect(
            env_dsn("rs-sampler", db="pgbouncer", user="postgres", port=bouncer), autocommit=True
        )
    period = 0.1
    with open(out, "w", buffering=1) as f:
        f.write("t,name,count\n")
        nxt = mono()
        while not stop:
            t = mono()
            rows = conn.execute(QUERY).fetchall()
            total = 0
            for name, n in rows:
                f.write(f"{t:.6f},{name},{n}\n")
                total += n
            f.write(f"{t:.6f},__total__,{total}\n")
            if bconn is not None:
                # libpq's PQexec: the simple query protocol, the only one the
                # admin console speaks.
                res = bconn.pgconn.exec_(b"SHOW POOLS")
                cols = [res.fname(i).decode() for i in range(res.nfields)]
                for row in range(res.ntuples):
                    d = {c: (res.get_value(row, i) or b"").decode() for i, c in enumerate(cols)}
                    if d.get("database") != "labdb":
                        continue
                    for k in ("cl_active", "cl_waiting", "sv_active", "sv_idle", "sv_used", "maxwait"):
                        if k in d:
                            f.write(f"{t:.6f},pgb_{k},{d[k]}\n")
            nxt += period
            time.sleep(max(0.0, nxt - mono()))


if __name__ == "__main__":
    main()
