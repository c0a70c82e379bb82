"""How long opening one connection to the local PostgreSQL takes, per library.

    python connect_probe.py DSN N OUT.json

Opens N connections one after another with each library, as its pool does
(asyncpg.connect, psycopg.connect / AsyncConnection.connect, a SQLAlchemy
QueuePool checkout that has to open a new connection), timing each open from
the call to a usable connection, and closes them at the end. The first open of
each library is reported apart (imports, SQLAlchemy's dialect initialisation).
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
    res = {
        "asyncpg": asyncio.run(probe_asyncpg(dsn, n)),
        "psycopg (async)": asyncio.run(probe_psycopg_async(dsn, n)),
        "SQLAlchemy (psycopg)": probe_sqla(dsn.replace("postgresql://", "postgresql+psycopg://"), n),
    }
    json.dump(res, open(path, "w"))


if __name__ == "__main__":
    main()
