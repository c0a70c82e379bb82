"""Lab 04's API, rebuilt for the reality suite: aiohttp + an asyncpg pool.

Settings (environment, named as in the lab's docker-compose.yml):
  POOL_MAX_SIZE=5            asyncpg max_size
  POOL_MIN_SIZE=5            asyncpg min_size. The lab gives only the max; asyncpg's
                             default min_size is 10, and create_pool(max_size=5)
                             alone raises "min_size is greater than max_size"
                             (asyncpg/pool.py, Pool.__init__), so the lab's app must
                             set it. 5 (all opened at start, as the lab's diagram
                             of C1..C5 shows) is the default here; 0 gives a lazy
                             pool (used by the max_connections case).
  POOL_ACQUIRE_TIMEOUT=10.0  seconds, pool.acquire(timeout=...): asyncio.TimeoutError -> 503
  WORK_TIME_MS=1000          the connection is held for SELECT pg_sleep(work)
  POOL_RESET=default         `none` passes asyncpg a no-op `reset` callback: release() then sends no
                             reset query (the pgbouncer case compares both)
  PORT, DSN, LOG             where to listen, the database, the per-request log (CSV)

Endpoints: GET /api/query, GET /pool/stats, GET|POST /admin/config, GET /health.

The per-request log has one row per /api/query, stamped with the monotonic
clock: arrival at the handler, acquire (or the 503/500 moment), end of the
query, release (asyncpg's release() returns after its reset query), and the
handler's end. The driver's X-Req-Id header joins it with the client's view.
"""

import asyncio
import os

import asyncpg
from aiohttp import web

from common import mono

POOL_MAX_SIZE = int(os.environ.get("POOL_MAX_SIZE", "5"))
POOL_MIN_SIZE = int(os.environ.get("POOL_MIN_SIZE", str(POOL_MAX_SIZE)))
POOL_ACQUIRE_TIMEOUT = float(os.environ.get("POOL_ACQUIRE_TIMEOUT", "10.0"))
CONFIG = {"work_time_ms": float(os.environ.get("WORK_TIME_MS", "1000"))}
STATE = {"waiting": 0, "exhaustion_total": 0}


async def query(request):
    t_arrival = mono()
    rid = request.headers.get("X-Req-Id", "")
    pool = request.app["pool"]
    t_acq = t_fail = t_qdone = t_rel = None
    status, error = 200, ""
    # The work time is read when the handler runs, as the lab's app does.
    work_s = CONFIG["work_time_ms"] / 1000.0
    STATE["waiting"] += 1
    try:
        conn = await pool.acquire(timeout=POOL_ACQUIRE_TIMEOUT)
    except asyncio.TimeoutError:
        STATE["waiting"] -= 1
        STATE["exhaustion_total"] += 1
        t_fail = mono()
        status, error = 503, "timeout acquiring a connection"
    except Exception as e:  # the database refused the connection the pool opened
        STATE["waiting"] -= 1
        t_fail = mono()
        status, error = 500, f"{type(e).__name__}: {e}"
    else:
        STATE["waiting"] -= 1
        t_acq = mono()
        try:
            # A literal, so it goes over the simple query protocol (no prepared
            # statement: also fine behind pgbouncer in transaction mode).
            await conn.execute(f"SELECT pg_sleep({work_s:.6f})")
            t_qdone = mono()
        except Exception as e:
            status, error = 500, f"{type(e).__name__}: {e}"
        finally:
            await pool.release(conn)
            t_rel = mono()
    t_done = mono()
    request.app["log"].write(
        ",".join(
            [
                rid,
                f"{t_arrival:.6f}",
                f"{t_acq:.6f}" if t_acq else "",
                f"{t_fail:.6f}" if t_fail else "",
                f"{t_qdone:.6f}" if t_qdone else "",
                f"{t_rel:.6f}" if t_rel else "",
                f"{t_done:.6f}",
                str(status),
                f"{work_s:.6f}",
                '"' + error.replace('"', "'").replace("\n", " ") + '"',
            ]
        )
        + "\n"
    )
    if status == 200:
        return web.json_response({"status": "ok", "work_time_ms": CONFIG["work_time_ms"]})
    return web.json_response({"error": error}, status=status)


async def pool_stats(request):
    pool = request.app["pool"]
    size, idle = pool.get_size(), pool.get_idle_size()
    return web.json_response(
        {
            "pool_max_size": POOL_MAX_SIZE,
            "pool_min_size": POOL_MIN_SIZE,
            "pool_size": size,
            "pool_used_size": size - idle,
            "pool_free_size": POOL_MAX_SIZE - (size - idle),
            "waiting_requests": STATE["waiting"],
            "exhaustion_total": STATE["exhaustion_total"],
        }
    )


async def get_config(request):
    return web.json_response(CONFIG)


async def post_config(request):
    body = await request.json()
    if "work_time_ms" in body:
        CONFIG["work_time_ms"] = float(body["work_time_ms"])
    return web.json_response(CONFIG)


async def health(request):
    return web.json_response({"status": "healthy", "pid": os.getpid()})


async def lag_monitor(app):
    """Event-loop lag: how late a 10 ms sleep wakes up (scheduling jitter under load)."""
    while True:
        t = mono()
        await asyncio.sleep(0.01)
        app["lag"].append(mono() - t - 0.01)


async def on_startup(app):
    app["lag"] = []
    app["lag_task"] = asyncio.create_task(lag_monitor(app))
    extra = {}
    if os.environ.get("POOL_RESET") == "none":
        # Replaces the default reset query (SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
        # RESET ALL) that Pool.release() sends through Connection.reset().
        async def no_reset(conn):
            return None

        extra["reset"] = no_reset
    app["pool"] = await asyncpg.create_pool(
        os.environ["DSN"], min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE, **extra
    )
    app["log"] = open(os.environ["LOG"], "w", buffering=1)
    app["log"].write("rid,t_arrival,t_acquired,t_failed,t_query_done,t_released,t_done,status,work_s,error\n")


async def on_cleanup(app):
    app["lag_task"].cancel()
    with open(os.environ["LOG"] + ".lag.csv", "w") as f:
        f.write("lag_s\n" + "".join(f"{x:.6f}\n" for x in app["lag"]))
    await app["pool"].close()
    app["log"].close()


def main():
    app = web.Application()
    app.router.add_get("/api/query", query)
    app.router.add_get("/pool/stats", pool_stats)
    app.router.add_get("/admin/config", get_config)
    app.router.add_post("/admin/config", post_config)
    app.router.add_get("/health", health)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    main()
