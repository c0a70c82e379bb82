//! `pool.library:` presets: each library's defaults and behaviours, as its
//! source has them (the installed versions of `reality/`; every value and its
//! source line is in `reality/LIBRARIES.md`). A key written beside `library`
//! overrides the preset; two defaults follow another setting, as in the
//! library itself: psycopg_pool's `max_size` is its `min_size`, HikariCP's
//! `minimumIdle` its `maximumPoolSize` (and its retry backoff is capped at
//! min(10 s, `connectionTimeout`)).

use crate::engine::SimDuration;
use crate::scenario::{Handoff, Library, OnRefused, OverflowClose, Reconnect, Reuse};

/// The names `library:` accepts (aliases map to the same preset).
pub(super) const LIBRARIES: &[(&str, Library)] = &[
    ("asyncpg", Library::Asyncpg),
    ("sqlalchemy", Library::Sqlalchemy),
    ("node-postgres", Library::NodePostgres),
    ("pg", Library::NodePostgres),
    ("psycopg", Library::Psycopg),
    ("psycopg_pool", Library::Psycopg),
    ("hikaricp", Library::Hikaricp),
];

/// What a preset leaves unset is poolsim's own default (see `pool.rs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Preset {
    /// `max_size`; `None`: the resolved `min_idle` (psycopg_pool).
    pub(super) max_size: Option<u64>,
    /// `min_idle`; `None`: the resolved `max_size` (HikariCP).
    pub(super) min_idle: Option<u64>,
    pub(super) max_overflow: u64,
    pub(super) acquire_timeout: SimDuration,
    pub(super) idle_timeout: Option<SimDuration>,
    pub(super) max_lifetime: Option<SimDuration>,
    pub(super) on_refused: OnRefused,
    pub(super) reconnect: Option<Reconnect>,
    /// HikariCP: the retry backoff is capped at min(10 s, the acquire timeout).
    pub(super) max_delay_follows_timeout: bool,
    pub(super) reuse: Reuse,
    pub(super) open_concurrency: Option<u32>,
    pub(super) handoff: Handoff,
    pub(super) overflow_close: OverflowClose,
    pub(super) reset_on_release: Option<SimDuration>,
    /// The library's own message when `min_idle` ends up above `max_size`.
    pub(super) min_above_max: &'static str,
}

const fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// The wake-up time of a thread handed a connection (SQLAlchemy, HikariCP):
/// measured by the reality suite as 0.09 to 0.15 ms from a release to the
/// woken thread's checkout (`sqla-barge`, `hikari-barge`).
pub(super) const THREAD_WAKE_UP: SimDuration = SimDuration(100_000);

/// The preset of `lib`.
pub(super) fn preset(lib: Library) -> Preset {
    match lib {
        // asyncpg 0.32.0, pool.py: create_pool(min_size=10, max_size=10,
        // max_inactive_connection_lifetime=300.0); acquire(timeout=None) waits
        // forever. A refused connect puts the holder back (Pool._acquire) and
        // the next waiter takes it and connects in turn: node-postgres' rule.
        // LifoQueue of holders, connected ones first; each acquire connects
        // its own holder (many at once); release() runs in a shielded task,
        // so the woken waiter gets the connection first (direct); the reset
        // query runs on every release.
        Library::Asyncpg => Preset {
            max_size: Some(10),
            min_idle: Some(10),
            max_overflow: 0,
            acquire_timeout: SimDuration::MAX,
            idle_timeout: Some(secs(300)),
            max_lifetime: None,
            on_refused: OnRefused::Fail,
            reconnect: None,
            max_delay_follows_timeout: false,
            reuse: Reuse::Lifo,
            open_concurrency: None,
            handoff: Handoff::Direct,
            overflow_close: OverflowClose::OnRelease,
            reset_on_release: Some(SimDuration::ZERO),
            min_above_max: "asyncpg itself raises ValueError('min_size is greater than max_size')",
        },
        // SQLAlchemy 2.1.9, pool/impl.py QueuePool: pool_size=5,
        // max_overflow=10, timeout=30, use_lifo=False (FIFO reuse); no idle
        // timeout, pool_recycle=-1. _do_get opens only while the pool may grow;
        // waiters never open. _do_return_conn closes a connection only when
        // the queue of pool_size is full. Queue.get waits on a Condition: a
        // woken thread can be overtaken.
        Library::Sqlalchemy => Preset {
            max_size: Some(5),
            min_idle: Some(0),
            max_overflow: 10,
            acquire_timeout: secs(30),
            idle_timeout: None,
            max_lifetime: None,
            on_refused: OnRefused::FailOpener,
            reconnect: None,
            max_delay_follows_timeout: false,
            reuse: Reuse::Fifo,
            open_concurrency: None,
            handoff: Handoff::WakeUp(THREAD_WAKE_UP),
            overflow_close: OverflowClose::WhenIdleFull,
            reset_on_release: None,
            min_above_max: "",
        },
        // pg-pool 3.14.0 (node-postgres 8.23.1), index.js: max 10, min 0,
        // idleTimeoutMillis 10000, connectionTimeoutMillis 0 (no timeout),
        // maxLifetimeSeconds 0. _pulseQueue: FIFO, direct hand-off, _idle.pop()
        // (LIFO); a failed open pulses the queue: the next waiter opens too.
        Library::NodePostgres => Preset {
            max_size: Some(10),
            min_idle: Some(0),
            max_overflow: 0,
            acquire_timeout: SimDuration::MAX,
            idle_timeout: Some(secs(10)),
            max_lifetime: None,
            on_refused: OnRefused::Fail,
            reconnect: None,
            max_delay_follows_timeout: false,
            reuse: Reuse::Lifo,
            open_concurrency: None,
            handoff: Handoff::Direct,
            overflow_close: OverflowClose::OnRelease,
            reset_on_release: None,
            min_above_max: "",
        },
        // psycopg_pool 3.3.3, pool_async.py: min_size=4, max_size=None
        // (= min_size), timeout=30, max_idle=600, max_lifetime=3600,
        // reconnect_timeout=300. One AddConnection at a time (_growing); a
        // failed one retries with AttemptWithBackoff (base.py: 1 s +-10 %,
        // then x2, until reconnect_timeout); _pool.popleft() (FIFO reuse);
        // _return_connection hands over under the lock (direct).
        Library::Psycopg => Preset {
            max_size: None,
            min_idle: Some(4),
            max_overflow: 0,
            acquire_timeout: secs(30),
            idle_timeout: Some(secs(600)),
            max_lifetime: Some(secs(3600)),
            on_refused: OnRefused::Retry,
            reconnect: Some(Reconnect {
                delay: secs(1),
                backoff: 2.0,
                max_delay: None,
                jitter: 0.1,
                timeout: Some(secs(300)),
            }),
            max_delay_follows_timeout: false,
            reuse: Reuse::Fifo,
            open_concurrency: Some(1),
            handoff: Handoff::Direct,
            overflow_close: OverflowClose::OnRelease,
            reset_on_release: None,
            min_above_max: "psycopg_pool itself raises ValueError('max_size must be greater or equal than min_size')",
        },
        // HikariCP 2.7.9, HikariConfig: maximumPoolSize 10, minimumIdle =
        // maximumPoolSize, connectionTimeout 30 s, idleTimeout 10 min,
        // maxLifetime 30 min. One connection-adder thread; PoolEntryCreator
        // sleeps 250 ms after a failed open, then x1.5 up to min(10 s,
        // connectionTimeout), for as long as threads wait. ConcurrentBag:
        // LIFO, and a borrower can take a connection before the woken waiter's
        // compare-and-set.
        Library::Hikaricp => Preset {
            max_size: Some(10),
            min_idle: None,
            max_overflow: 0,
            acquire_timeout: secs(30),
            idle_timeout: Some(secs(600)),
            max_lifetime: Some(secs(1800)),
            on_refused: OnRefused::Retry,
            reconnect: Some(Reconnect {
                delay: SimDuration::from_millis(250),
                backoff: 1.5,
                max_delay: Some(secs(10)),
                jitter: 0.0,
                timeout: None,
            }),
            max_delay_follows_timeout: true,
            reuse: Reuse::Lifo,
            open_concurrency: Some(1),
            handoff: Handoff::WakeUp(THREAD_WAKE_UP),
            overflow_close: OverflowClose::OnRelease,
            reset_on_release: None,
            min_above_max: "HikariCP sets minimumIdle to maximumPoolSize when it is larger",
        },
    }
}
