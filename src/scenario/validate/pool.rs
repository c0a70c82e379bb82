//! `pool:` and `pools:`: the connection pools, and pool references by name.
//!
//! A pool's settings come from three places, first found wins: the key
//! written in the file, the `library:` preset (`library.rs`), poolsim's own
//! default. poolsim's defaults are those of every pool before presets existed,
//! so a file without the new keys runs exactly as before.

use super::fields::{
    Ctx, Fields, choice, fields, named_list, opt_never, p_duration, p_name, p_positive_duration, p_probability,
    p_timeout, p_uint, resolve, scalar,
};
use super::library::{LIBRARIES, Preset, THREAD_WAKE_UP, preset};
use super::{DEFAULT_ACQUIRE_TIMEOUT, MAX_POOL_SIZE};
use crate::engine::SimDuration;
use crate::scenario::yaml::Node;
use crate::scenario::{Handoff, OnRefused, OverflowClose, PoolId, PoolSpec, Reconnect, Reuse, Scope};

pub(super) const POOL_KEYS: &[&str] = &[
    "name",
    "library",
    "scope",
    "max_size",
    "min_idle",
    "max_overflow",
    "acquire_timeout",
    "idle_timeout",
    "max_lifetime",
    "leak_detection_threshold",
    "on_refused",
    "reconnect_delay",
    "reconnect_backoff",
    "reconnect_max_delay",
    "reconnect_jitter",
    "reconnect_timeout",
    "reuse",
    "open_concurrency",
    "handoff",
    "wake_up_time",
    "overflow_close",
    "reset_on_release",
];

const ON_REFUSED: &[(&str, OnRefused)] = &[
    ("fail", OnRefused::Fail),
    ("wait", OnRefused::Wait),
    ("fail_opener", OnRefused::FailOpener),
    ("retry", OnRefused::Retry),
];

/// The backoff of `on_refused: retry` without a preset that gives one:
/// psycopg_pool's (1 s, x2, no jitter here, no end).
const DEFAULT_RECONNECT: Reconnect =
    Reconnect { delay: SimDuration::from_secs(1), backoff: 2.0, max_delay: None, jitter: 0.0, timeout: None };

/// A pool; `fixed_name` is set for the single-pool format's `pool:` block.
pub(super) fn pool(ctx: &mut Ctx, node: &Node, path: &str, fixed_name: Option<&str>) -> Option<PoolSpec> {
    let allowed: Vec<&str> = POOL_KEYS.iter().copied().filter(|k| fixed_name.is_none() || *k != "name").collect();
    let f = fields(ctx, node, path, &allowed)?;
    let name = match fixed_name {
        Some(n) => Some(n.to_string()),
        None => f.req(ctx, "name", "name: app").and_then(|(n, p)| p_name(ctx, n, &p, "pool")),
    };
    let library = match f.get("library") {
        Some((n, p)) => choice(ctx, n, &p, LIBRARIES).map(Some),
        None => Some(None),
    };
    // A library that is misspelt gives no preset: its keys are then checked
    // against poolsim's defaults, which may add a message or two but never a
    // wrong one about the preset.
    let pre: Option<Preset> = library.flatten().map(preset);
    let scope = match f.get("scope") {
        Some((n, p)) => {
            choice(ctx, n, &p, &[("worker", Scope::Worker), ("pod", Scope::Pod), ("shared", Scope::Shared)])
        }
        None => Some(Scope::Worker),
    };
    let max_at = f.get("max_size");
    let max_size = match &max_at {
        Some((n, p)) => p_uint(ctx, n, p, 1, MAX_POOL_SIZE, "connections in the pool").map(Some),
        // A preset gives a size (or takes it from min_idle); without one it is
        // asked for (unless the library is misspelt: that is the message).
        None if pre.is_some() => Some(pre.and_then(|p| p.max_size)),
        None if f.get("library").is_some() => None,
        None => {
            f.req(ctx, "max_size", "max_size: 10");
            None
        }
    };
    let min_at = f.get("min_idle");
    let min_idle = match &min_at {
        Some((n, p)) => p_uint(ctx, n, p, 0, MAX_POOL_SIZE, "connections kept open").map(Some),
        None => Some(match pre {
            Some(p) => p.min_idle,
            None => Some(0),
        }),
    };
    let max_overflow = match f.get("max_overflow") {
        Some((n, p)) => p_uint(ctx, n, &p, 0, MAX_POOL_SIZE, "extra connections above max_size"),
        None => Some(pre.map_or(0, |p| p.max_overflow)),
    };
    let acquire_timeout = match f.get("acquire_timeout") {
        Some((n, p)) => p_timeout(ctx, n, &p),
        None => Some(pre.map_or(DEFAULT_ACQUIRE_TIMEOUT, |p| p.acquire_timeout)),
    };
    let or_preset = |ctx: &mut Ctx, key: &str, from: fn(&Preset) -> Option<SimDuration>| match f.get(key) {
        Some(_) => opt_never(ctx, &f, key),
        None => Some(pre.as_ref().and_then(from)),
    };
    let idle_timeout = or_preset(ctx, "idle_timeout", |p| p.idle_timeout);
    let max_lifetime = or_preset(ctx, "max_lifetime", |p| p.max_lifetime);
    let leak = opt_never(ctx, &f, "leak_detection_threshold");
    let on_refused = match f.get("on_refused") {
        Some((n, p)) => choice(ctx, n, &p, ON_REFUSED),
        None => Some(pre.map_or(OnRefused::Fail, |p| p.on_refused)),
    };
    let reuse = match f.get("reuse") {
        Some((n, p)) => choice(ctx, n, &p, &[("lifo", Reuse::Lifo), ("fifo", Reuse::Fifo)]),
        None => Some(pre.map_or(Reuse::Lifo, |p| p.reuse)),
    };
    let open_concurrency = match f.get("open_concurrency") {
        Some((n, _)) if n.as_scalar() == Some("unlimited") => Some(None),
        Some((n, p)) => {
            p_uint(ctx, n, &p, 1, MAX_POOL_SIZE, "connections opened at once, or `unlimited`").map(|v| Some(v as u32))
        }
        None => Some(pre.and_then(|p| p.open_concurrency)),
    };
    let handoff = handoff(ctx, &f, pre.map(|p| p.handoff));
    let overflow_close = match f.get("overflow_close") {
        Some((n, p)) => choice(
            ctx,
            n,
            &p,
            &[("on_release", OverflowClose::OnRelease), ("when_idle_full", OverflowClose::WhenIdleFull)],
        ),
        None => Some(pre.map_or(OverflowClose::OnRelease, |p| p.overflow_close)),
    };
    let reset_on_release = match f.get("reset_on_release") {
        Some((n, _)) if n.as_scalar() == Some("none") => Some(None),
        Some((n, p)) => p_duration(ctx, n, &p).map(Some),
        None => Some(pre.and_then(|p| p.reset_on_release)),
    };
    let reconnect = reconnect(ctx, &f, on_refused, pre.as_ref(), acquire_timeout);

    let (max_size, min_idle) = (max_size?, min_idle?);
    // The two defaults that follow another setting: psycopg_pool's max_size is
    // its min_size, HikariCP's minimumIdle its maximumPoolSize.
    let (max_size, min_idle) = match (max_size, min_idle) {
        (Some(m), Some(i)) => (m, i),
        (None, Some(0)) => {
            // psycopg_pool: "if min_size is 0 max_size must be greater than 0".
            let (pos, p) = min_at.map_or((f.pos, path.to_string()), |(n, p)| (n.pos, p));
            ctx.err(pos, &p, "with min_idle 0 give max_size: psycopg_pool's max_size defaults to its min_size");
            return None;
        }
        (None, Some(i)) => (i, i),
        (Some(m), None) => (m, m),
        (None, None) => return None,
    };
    if min_idle > max_size {
        // Located at what was written: the min_idle, else the max_size that a
        // preset's min_idle exceeds, else the library itself.
        let (pos, p) = match (&min_at, &max_at, f.get("library")) {
            (Some((n, p)), _, _) => (n.pos, p.clone()),
            (None, Some((n, p)), _) => (n.pos, p.clone()),
            (None, None, Some((n, p))) => (n.pos, p),
            _ => (f.pos, path.to_string()),
        };
        let lib = library.flatten();
        let why = match (lib, pre) {
            (Some(l), Some(p)) if min_at.is_none() => {
                format!(": {min_idle} is {}'s default min_size, and {}; set min_idle too", l.as_str(), p.min_above_max)
            }
            (Some(l), Some(p)) if !p.min_above_max.is_empty() => format!(" ({}: {})", l.as_str(), p.min_above_max),
            _ => String::new(),
        };
        ctx.err(pos, &p, format!("min_idle ({min_idle}) cannot exceed max_size ({max_size}){why}"));
        return None;
    }
    Some(PoolSpec {
        name: name?,
        scope: scope?,
        max_size: max_size as u32,
        min_idle: min_idle as u32,
        max_overflow: max_overflow? as u32,
        acquire_timeout: acquire_timeout?,
        idle_timeout: idle_timeout?,
        max_lifetime: max_lifetime?,
        leak_detection_threshold: leak?,
        on_refused: on_refused?,
        library: library?,
        reuse: reuse?,
        open_concurrency: open_concurrency?,
        handoff: handoff?,
        reconnect: reconnect?,
        overflow_close: overflow_close?,
        reset_on_release: reset_on_release?,
    })
}

/// `handoff` and `wake_up_time`: the latter only goes with `wake_up`.
fn handoff(ctx: &mut Ctx, f: &Fields, preset: Option<Handoff>) -> Option<Handoff> {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Direct,
        WakeUp,
    }
    let kind = match f.get("handoff") {
        Some((n, p)) => choice(ctx, n, &p, &[("direct", Kind::Direct), ("wake_up", Kind::WakeUp)])?,
        None if matches!(preset, Some(Handoff::WakeUp(_))) => Kind::WakeUp,
        None => Kind::Direct,
    };
    let time = match f.get("wake_up_time") {
        Some((n, p)) if kind == Kind::Direct => {
            ctx.err(n.pos, &p, "wake_up_time goes with `handoff: wake_up`; a direct hand-off has no wake-up");
            None
        }
        Some((n, p)) => p_positive_duration(ctx, n, &p),
        None => Some(match preset {
            Some(Handoff::WakeUp(t)) => t,
            _ => THREAD_WAKE_UP,
        }),
    };
    match kind {
        Kind::Direct => Some(Handoff::Direct),
        Kind::WakeUp => time.map(Handoff::WakeUp),
    }
}

/// The `reconnect_*` keys: the backoff of `on_refused: retry`, from the
/// preset's where the file leaves them out.
fn reconnect(
    ctx: &mut Ctx,
    f: &Fields,
    on_refused: Option<OnRefused>,
    pre: Option<&Preset>,
    acquire_timeout: Option<SimDuration>,
) -> Option<Option<Reconnect>> {
    const KEYS: [&str; 5] =
        ["reconnect_delay", "reconnect_backoff", "reconnect_max_delay", "reconnect_jitter", "reconnect_timeout"];
    let retry = on_refused? == OnRefused::Retry;
    if !retry {
        let mut ok = true;
        for key in KEYS {
            if let Some((n, p)) = f.get(key) {
                ctx.err(
                    n.pos,
                    &p,
                    format!("{key} goes with `on_refused: retry` (the backoff between tries of a refused open)"),
                );
                ok = false;
            }
        }
        return ok.then_some(None);
    }
    let base = pre.and_then(|p| p.reconnect).unwrap_or(DEFAULT_RECONNECT);
    let delay = match f.get("reconnect_delay") {
        Some((n, p)) => p_positive_duration(ctx, n, &p),
        None => Some(base.delay),
    };
    let backoff = match f.get("reconnect_backoff") {
        Some((n, p)) => {
            scalar(ctx, n, &p, "a factor such as `2` or `1.5`").and_then(|(t, _)| match t.trim().parse::<f64>() {
                Ok(v) if (1.0..=100.0).contains(&v) => Some(v),
                _ => {
                    ctx.err(
                        n.pos,
                        &p,
                        format!("expected a factor from 1 to 100 (each wait is the last one times it), found `{t}`"),
                    );
                    None
                }
            })
        }
        None => Some(base.backoff),
    };
    let max_delay = match f.get("reconnect_max_delay") {
        Some(_) => opt_never(ctx, f, "reconnect_max_delay"),
        None => Some(match (pre, acquire_timeout) {
            // HikariCP: min(10 s, connectionTimeout).
            (Some(p), Some(t)) if p.max_delay_follows_timeout => base.max_delay.map(|m| m.min(t)),
            _ => base.max_delay,
        }),
    };
    let jitter = match f.get("reconnect_jitter") {
        Some((n, p)) => p_probability(ctx, n, &p),
        None => Some(base.jitter),
    };
    let timeout = match f.get("reconnect_timeout") {
        Some(_) => opt_never(ctx, f, "reconnect_timeout"),
        None => Some(base.timeout),
    };
    Some(Some(Reconnect {
        delay: delay?,
        backoff: backoff?,
        max_delay: max_delay?,
        jitter: jitter?,
        timeout: timeout?,
    }))
}

pub(super) fn pools(ctx: &mut Ctx, node: &Node, path: &str) -> Option<Vec<PoolSpec>> {
    named_list(ctx, node, path, "pool", "{name: app, max_size: 10}", |ctx, n, p| pool(ctx, n, p, None), |p| &p.name)
}

/// The `pool:` key of a class or job; may be left out when there is one pool.
pub(super) fn pool_ref(ctx: &mut Ctx, f: &Fields, pools: Option<&[String]>) -> Option<PoolId> {
    match f.get("pool") {
        Some((n, p)) => resolve(ctx, n, &p, "pool", pools).map(PoolId),
        None => match pools {
            Some([_]) => Some(PoolId(0)),
            Some(_) => {
                ctx.err(f.pos, &f.path, "missing key `pool` (there are several pools; name the one to use)");
                None
            }
            None => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::SimDuration;
    use crate::scenario::validate::from_str;
    use crate::scenario::{Handoff, Issue, Library, OnRefused, OverflowClose, PoolSpec, Reconnect, Reuse};

    fn pool(keys: &str) -> PoolSpec {
        let src = format!("name: t\npool: {{{keys}}}\nrequest: {{hold: 1s}}\nworkload:\n  - burst: {{count: 1}}\n");
        from_str(&src, "t.yaml", None, &[]).unwrap_or_else(|e| panic!("{e}")).pools.remove(0)
    }

    fn issues(keys: &str) -> Vec<Issue> {
        let src = format!("name: t\npool: {{{keys}}}\nrequest: {{hold: 1s}}\nworkload:\n  - burst: {{count: 1}}\n");
        match from_str(&src, "t.yaml", None, &[]) {
            Ok(_) => Vec::new(),
            Err(e) => e.issues().to_vec(),
        }
    }

    const fn s(n: u64) -> SimDuration {
        SimDuration::from_secs(n)
    }

    #[test]
    fn without_a_library_every_pool_keeps_poolsim_s_defaults() {
        let p = pool("max_size: 5");
        assert_eq!(p, PoolSpec::basic("pool", 5, s(30)));
        // And its debug text (the scenario hash) is what it was before presets existed.
        assert!(!format!("{p:?}").contains("reuse"));
    }

    #[test]
    fn asyncpg_resolves_to_its_create_pool_defaults() {
        let p = pool("library: asyncpg");
        assert_eq!((p.max_size, p.min_idle, p.max_overflow), (10, 10, 0));
        assert_eq!((p.acquire_timeout, p.idle_timeout, p.max_lifetime), (SimDuration::MAX, Some(s(300)), None));
        assert_eq!(
            (p.on_refused, p.reuse, p.open_concurrency, p.handoff),
            (OnRefused::Fail, Reuse::Lifo, None, Handoff::Direct)
        );
        assert_eq!((p.reset_on_release, p.library), (Some(SimDuration::ZERO), Some(Library::Asyncpg)));
    }

    #[test]
    fn sqlalchemy_resolves_to_queue_pool_s_defaults() {
        let p = pool("library: sqlalchemy");
        assert_eq!((p.max_size, p.min_idle, p.max_overflow), (5, 0, 10));
        assert_eq!((p.acquire_timeout, p.idle_timeout, p.max_lifetime), (s(30), None, None));
        assert_eq!((p.on_refused, p.reuse, p.open_concurrency), (OnRefused::FailOpener, Reuse::Fifo, None));
        assert_eq!((p.handoff, p.overflow_close), (Handoff::WakeUp(SimDuration(100_000)), OverflowClose::WhenIdleFull));
        assert_eq!(p.reset_on_release, None);
    }

    #[test]
    fn node_postgres_and_its_alias_pg_resolve_to_pg_pool_s_defaults() {
        let p = pool("library: node-postgres");
        assert_eq!((p.max_size, p.min_idle, p.acquire_timeout, p.idle_timeout), (10, 0, SimDuration::MAX, Some(s(10))));
        assert_eq!(
            (p.on_refused, p.reuse, p.handoff, p.max_lifetime),
            (OnRefused::Fail, Reuse::Lifo, Handoff::Direct, None)
        );
        let mut alias = pool("library: pg");
        assert_eq!(alias.library, Some(Library::NodePostgres));
        alias.library = p.library;
        assert_eq!(alias, p);
    }

    #[test]
    fn psycopg_resolves_to_its_pool_defaults_and_max_size_follows_min_idle() {
        let p = pool("library: psycopg");
        assert_eq!((p.max_size, p.min_idle, p.acquire_timeout), (4, 4, s(30)));
        assert_eq!((p.idle_timeout, p.max_lifetime), (Some(s(600)), Some(s(3600))));
        assert_eq!((p.on_refused, p.reuse, p.open_concurrency), (OnRefused::Retry, Reuse::Fifo, Some(1)));
        let backoff = Reconnect { delay: s(1), backoff: 2.0, max_delay: None, jitter: 0.1, timeout: Some(s(300)) };
        assert_eq!(p.reconnect, Some(backoff));
        assert_eq!(
            (pool("library: psycopg, min_idle: 8").max_size, pool("library: psycopg, max_size: 20").min_idle),
            (8, 4)
        );
    }

    #[test]
    fn hikaricp_resolves_to_its_config_defaults_and_min_idle_follows_max_size() {
        let p = pool("library: hikaricp");
        assert_eq!((p.max_size, p.min_idle, p.acquire_timeout), (10, 10, s(30)));
        assert_eq!((p.idle_timeout, p.max_lifetime), (Some(s(600)), Some(s(1800))));
        assert_eq!((p.on_refused, p.reuse, p.open_concurrency), (OnRefused::Retry, Reuse::Lifo, Some(1)));
        assert_eq!(p.handoff, Handoff::WakeUp(SimDuration(100_000)));
        let r = p.reconnect.unwrap();
        assert_eq!(
            (r.delay, r.backoff, r.max_delay, r.jitter, r.timeout),
            (SimDuration::from_millis(250), 1.5, Some(s(10)), 0.0, None)
        );
        assert_eq!(pool("library: hikaricp, max_size: 20").min_idle, 20);
        // The backoff is capped at min(10 s, connectionTimeout).
        let short = pool("library: hikaricp, acquire_timeout: 3s").reconnect.unwrap();
        assert_eq!(short.max_delay, Some(s(3)));
    }

    #[test]
    fn keys_written_beside_a_library_override_its_preset() {
        let p = pool(
            "library: sqlalchemy, max_size: 20, max_overflow: 0, acquire_timeout: 3s, reuse: lifo, \
             handoff: direct, on_refused: fail, overflow_close: on_release, idle_timeout: 1m",
        );
        assert_eq!((p.max_size, p.max_overflow, p.acquire_timeout), (20, 0, s(3)));
        assert_eq!(
            (p.reuse, p.handoff, p.on_refused, p.overflow_close),
            (Reuse::Lifo, Handoff::Direct, OnRefused::Fail, OverflowClose::OnRelease)
        );
        assert_eq!(p.idle_timeout, Some(s(60)));
        let q = pool(
            "library: psycopg, reconnect_delay: 2s, reconnect_jitter: 0, reconnect_timeout: never, open_concurrency: unlimited",
        );
        let r = q.reconnect.unwrap();
        assert_eq!((r.delay, r.jitter, r.timeout, q.open_concurrency), (s(2), 0.0, None, None));
        let w = pool("library: hikaricp, wake_up_time: 1ms, reset_on_release: 2ms");
        assert_eq!(
            (w.handoff, w.reset_on_release),
            (Handoff::WakeUp(SimDuration::from_millis(1)), Some(SimDuration::from_millis(2)))
        );
    }

    #[test]
    fn a_preset_s_min_idle_above_max_size_is_refused_as_the_library_refuses_it() {
        // asyncpg's min_size defaults to 10: max_size 5 alone is its ValueError.
        let i = issues("library: asyncpg, max_size: 5");
        assert_eq!(i[0].path, "pool.max_size");
        assert!(i[0].message.contains("min_idle (10) cannot exceed max_size (5)"), "{i:?}");
        assert!(
            i[0].message.contains("min_size is greater than max_size") && i[0].message.contains("set min_idle"),
            "{i:?}"
        );
        assert!(issues("library: asyncpg, max_size: 5, min_idle: 5").is_empty());
        let p = issues("library: psycopg, max_size: 2");
        assert!(p[0].message.contains("max_size must be greater or equal than min_size"), "{p:?}");
        let z = issues("library: psycopg, min_idle: 0");
        assert!(z[0].message.contains("psycopg_pool's max_size defaults to its min_size"), "{z:?}");
    }

    #[test]
    fn behaviour_keys_get_located_messages() {
        let lib = issues("max_size: 5, library: hikari");
        assert_eq!(lib[0].path, "pool.library");
        assert!(lib[0].message.contains("did you mean `hikaricp`"), "{lib:?}");
        let orphan = issues("max_size: 5, reconnect_delay: 1s");
        assert_eq!(orphan[0].path, "pool.reconnect_delay");
        assert!(orphan[0].message.contains("goes with `on_refused: retry`"), "{orphan:?}");
        let wake = issues("max_size: 5, wake_up_time: 1ms");
        assert!(wake[0].message.contains("goes with `handoff: wake_up`"), "{wake:?}");
        let backoff = issues("max_size: 5, on_refused: retry, reconnect_backoff: 0.5");
        assert!(backoff[0].message.contains("a factor from 1 to 100"), "{backoff:?}");
        let n = issues("max_size: 5, open_concurrency: 0");
        assert!(n[0].message.contains("must be at least 1"), "{n:?}");
        let reuse = issues("max_size: 5, reuse: lru");
        assert!(reuse[0].message.contains("expected one of `lifo`, `fifo`"), "{reuse:?}");
        let refused = issues("max_size: 5, on_refused: retyr");
        assert!(refused[0].message.contains("did you mean `retry`"), "{refused:?}");
        assert_eq!(issues("max_size: 5, on_refused: retry").len(), 0);
        assert_eq!(pool("max_size: 5, on_refused: retry").reconnect.unwrap().delay, s(1));
    }

    #[test]
    fn a_pooler_takes_pgbouncer_s_names_and_defaults() {
        let src = "name: t\ndatabase:\n  max_connections: 100\n  pooler: {pool_mode: transaction}\npool: {max_size: 5}\n\
                   request: {hold: 1s}\nworkload:\n  - burst: {count: 1}\n";
        let s_ = from_str(src, "t.yaml", None, &[]).unwrap();
        let p = s_.database.pooler.unwrap();
        assert_eq!((p.default_pool_size, p.reserve_pool_size, p.max_client_conn), (20, 0, 100));
        assert_eq!((p.reserve_pool_timeout, p.query_wait_timeout, p.server_login_retry), (s(5), Some(s(120)), s(15)));
        assert_eq!((p.server_idle_timeout, p.server_lifetime), (Some(s(600)), Some(s(3600))));
        let session = src.replace("transaction", "session");
        let e = from_str(&session, "t.yaml", None, &[]).unwrap_err();
        assert_eq!(e.issues()[0].path, "database.pooler.pool_mode");
        assert!(e.issues()[0].message.contains("only `transaction` is"), "{e}");
        let missing = src.replace("pool_mode: transaction", "default_pool_size: 5");
        let e = from_str(&missing, "t.yaml", None, &[]).unwrap_err();
        assert!(e.issues()[0].message.contains("missing key `pool_mode`"), "{e}");
    }
}
