"""How long opening one connection to the local PostgreSQL takes, per library.

    python connect_probe.py DSN N OUT.json

Opens N connections one after another with each library, as its pool does
(asyncpg.connect, psycopg.connect / AsyncConnection.connect, a SQLAlchemy
QueuePool checkout that has to open a new connection), timing each open from
the call to a usable connection, and closes them at the end. The first open of
each library is reported apart (imports, SQLAlchemy's dialect initialisation).
Then opens P at once (asyncio.gather; threads for SQLAlchemy), as a lazy pool
does under a burst, timing each from the common start: PostgreSQL forks a
backend per connection, so opens slow down when many start together.
"""

import asyncio
import json
import sys
import time

import asyncpg
import psycopg
import sqlalchemy

mono = time.monotonic


async def probe_asyncpg(dsn, n):
    out, conns = [], []
    for _ in range(n):
        t = mono()
        conns.append(await asyncpg.connect(dsn))
        out.append(mono() - t)
    for c in conns:
        await c.close()
    return out


async def probe_psycopg_async(dsn, n):
    out, conns = [], []
    for _ in range(n):
        t = mono()
        conns.append(await psycopg.AsyncConnection.connect(dsn, autocommit=True))
        out.append(mono() - t)
    for c in conns:
        await c.close()
    return out


async def par_asyncpg(dsn, p):
    async def one():
        t = mono()
        c = await asyncpg.connect(dsn)
        return mono() - t, c

    res = await asyncio.gather(*(one() for _ in range(p)))
    for _, c in res:
        await c.close()
    return [t for t, _ in res]


async def par_psycopg(dsn, p):
    async def one():
        t = mono()
        c = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        return mono() - t, c

    res = await asyncio.gather(*(one() for _ in range(p)))
    for _, c in res:
        await c.close()
    return [t for t, _ in res]


def par_sqla(url, p):
    import threading

    engine = sqlalchemy.create_engine(url, pool_size=p, max_overflow=0)
    engine.raw_connection().close()  # the dialect's first-connect initialisation, apart
    engine.dispose()
    engine = sqlalchemy.create_engine(url, pool_size=p, max_overflow=0)
    engine.raw_connection().close()
    out, conns, go = [], [], threading.Event()

    def one():
        go.wait()
        t = mono()
        conns.append(engine.raw_connection())
        out.append(mono() - t)

    # one connection is already open and idle: p more threads, p - 1 of them open.
    threads = [threading.Thread(target=one) for _ in range(p)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    engine.dispose()
    return sorted(out)[1:]


def probe_sqla(url, n):
    engine = sqlalchemy.create_engine(url, pool_size=n, max_overflow=0)
    out, conns = [], []
    for _ in range(n):
        t = mono()
        conns.append(engine.raw_connection())
        out.append(mono() - t)
    for c in conns:
        c.close()
    engine.dispose()
    return out


def main():
    dsn, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    url = dsn.replace("postgresql://", "postgresql+psycopg://")
    res = {
        "asyncpg": asyncio.run(probe_asyncpg(dsn, n)),
        "psycopg (async)": asyncio.run(probe_psycopg_async(dsn, n)),
        "SQLAlchemy (psycopg)": probe_sqla(url, n),
    }
    par = {}
    for p in (5, 20):
        time.sleep(0.3)
        par[f"asyncpg, {p} at once"] = asyncio.run(par_asyncpg(dsn, p))
        time.sleep(0.3)
        par[f"psycopg (async), {p} at once"] = asyncio.run(par_psycopg(dsn, p))
    time.sleep(0.3)
    par["SQLAlchemy (psycopg), 10 threads at once"] = par_sqla(url, 11)
    res["parallel"] = par
    json.dump(res, open(path, "w"))


if __name__ == "__main__":
    main()
