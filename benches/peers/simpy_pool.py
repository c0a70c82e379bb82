"""SimPy peer of poolsim's single-pool benchmark (issue 6).

The same model as benches/scenarios/single-pool-10m.yaml: a pool of 10
connections, Poisson arrivals at 9/s, exponential holds with mean 1 s, and an
acquire timeout of 2 s (a request that waits 2 s gives up and is answered 503).
Waiters are served first come, first served (simpy.Resource is FIFO).

Prints the figures poolsim prints, so the speed comparison is also an agreement
check: the 503 fraction, the mean acquire wait (over every request that stopped
waiting, the timed-out ones counting their 2 s, as poolsim's acquire_wait_ms.mean
does) and requests per CPU-second.

    python simpy_pool.py [REQUESTS] [SEED]
"""

import random
import sys
import time

import simpy

POOL = 10
RATE = 9.0  # arrivals per second
HOLD_MEAN = 1.0  # seconds
TIMEOUT = 2.0  # seconds


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=POOL)
    stats = {"done": 0, "timed_out": 0, "wait_sum": 0.0}

    def request(env):
        arrival = env.now
        with pool.request() as req:
            got = yield req | env.timeout(TIMEOUT)
            stats["wait_sum"] += env.now - arrival
            if req in got:
                yield env.timeout(rng.expovariate(1.0 / HOLD_MEAN))
            else:
                stats["timed_out"] += 1
        stats["done"] += 1

    def arrivals(env):
        for _ in range(n):
            yield env.timeout(rng.expovariate(RATE))
            env.process(request(env))

    env.process(arrivals(env))
    cpu0 = time.process_time()
    env.run()
    cpu = time.process_time() - cpu0
    print(
        f"simpy     requests {stats['done']}  503 fraction {stats['timed_out'] / n:.5f}  "
        f"mean acquire wait {stats['wait_sum'] / n * 1000:.1f} ms  "
        f"CPU {cpu:.2f} s  {n / cpu:,.0f} requests/CPU-s"
    )


if __name__ == "__main__":
    main()
