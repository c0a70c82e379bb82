//! A connection pooler in front of the database, in transaction mode
//! (pgbouncer `pool_mode = transaction`, `database.pooler`).
//!
//! The pools' connections are the pooler's clients: opening one takes a
//! client slot (`max_client_conn`, refused beyond) and no server connection.
//! Each transaction (a request's hold, a job's, a pool's reset query on
//! release) needs one of the pooler's server connections: an idle one (the
//! most recently used, as pgbouncer's default `server_round_robin = 0`), or a
//! place in its one first-come-first-served queue, shared by every pool
//! (pgbouncer's `waiting_client_list`), while the request keeps its pool's
//! connection. Server connections are opened lazily, one at a time, while
//! clients wait ("Allow only a single connection attempt at a time"), up to
//! `default_pool_size`, and up to `reserve_pool_size` more once the oldest
//! client has waited `reserve_pool_timeout`. A query that waits longer than
//! `query_wait_timeout` fails and its client is disconnected: the request
//! fails (`terminated`) and its pool's connection is closed. Only server
//! connections count at the database; one it refuses blocks new ones for
//! `server_login_retry`.
//!
//! Invariants: `open` counts idle and busy servers, `opening` those
//! connecting (at most one); `busy` those serving a transaction, each named
//! in `server_of` by its request's slot; `waiting` counts the live entries of
//! `queue` (dead ones, of requests that left, are dropped when they surface).

use std::collections::VecDeque;

use super::request::Phase;
use super::{Event, Simulation};
use crate::engine::{SimDuration, SimTime, StreamRng};
use crate::result::PoolerSummary;
use crate::scenario::PoolerSpec;

/// Where a server connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ServerState {
    Free,
    Opening,
    Idle,
    Busy,
}

#[derive(Debug, Clone, Copy)]
struct Server {
    generation: u32,
    state: ServerState,
    created: SimTime,
    /// When it became idle (for `server_idle_timeout`).
    since: SimTime,
}

/// A transaction waiting for a server connection: its request, and since when.
#[derive(Debug, Clone, Copy)]
struct Queued {
    slot: u32,
    generation: u32,
    since: SimTime,
}

/// The pooler's state and figures.
pub(super) struct Pooler {
    pool_size: u32,
    reserve: u32,
    reserve_timeout: SimDuration,
    query_wait: SimDuration,
    idle_timeout: SimDuration,
    lifetime: SimDuration,
    login_retry: SimDuration,
    /// Server connections the database accepts.
    db_usable: u32,
    servers: Vec<Server>,
    free: Vec<u32>,
    /// Idle servers (id, generation), the longest idle at the front; reused from the back.
    idle: VecDeque<(u32, u32)>,
    queue: VecDeque<Queued>,
    waiting: u32,
    open: u32,
    opening: u32,
    busy: u32,
    /// The server each request slot holds (`u32::MAX`: none).
    server_of: Vec<u32>,
    rng: StreamRng,
    /// Bumped whenever the query-wait timer moves: a check of another epoch is stale.
    pub(super) check_epoch: u32,
    /// When the pending query-wait check fires (`SimTime::MAX`: none).
    check_at: SimTime,
    /// Bumped whenever a pending "open again" is no longer wanted.
    pub(super) open_epoch: u32,
    open_at: SimTime,
    login_blocked_until: SimTime,
    idle_check_armed: bool,
    clients: u32,
    peak_clients: u32,
    peak_servers: u32,
    peak_waiting: u32,
    /// Client connections refused beyond `max_client_conn`.
    pub(super) clients_refused: u64,
    query_wait_timeouts: u64,
    servers_opened: u64,
    servers_closed: u64,
    login_refusals: u64,
}

impl Pooler {
    /// An empty pooler; `db_usable` is what the database accepts.
    pub(super) fn new(spec: &PoolerSpec, db_usable: u32, rng: StreamRng) -> Pooler {
        let never = |d: Option<SimDuration>| d.unwrap_or(SimDuration::MAX);
        Pooler {
            pool_size: spec.default_pool_size,
            reserve: spec.reserve_pool_size,
            reserve_timeout: spec.reserve_pool_timeout,
            query_wait: never(spec.query_wait_timeout),
            idle_timeout: never(spec.server_idle_timeout),
            lifetime: never(spec.server_lifetime),
            login_retry: spec.server_login_retry,
            db_usable,
            servers: Vec::new(),
            free: Vec::new(),
            idle: VecDeque::new(),
            queue: VecDeque::new(),
            waiting: 0,
            open: 0,
            opening: 0,
            busy: 0,
            server_of: Vec::new(),
            rng,
            check_epoch: 0,
            check_at: SimTime::MAX,
            open_epoch: 0,
            open_at: SimTime::MAX,
            login_blocked_until: SimTime::ZERO,
            idle_check_armed: false,
            clients: 0,
            peak_clients: 0,
            peak_servers: 0,
            peak_waiting: 0,
            clients_refused: 0,
            query_wait_timeouts: 0,
            servers_opened: 0,
            servers_closed: 0,
            login_refusals: 0,
        }
    }

    /// Whether (server, generation) is still the same connection, connecting.
    pub(super) fn is_opening(&self, server: u32, generation: u32) -> bool {
        let s = &self.servers[server as usize];
        s.generation == generation && s.state == ServerState::Opening
    }

    /// Client connections open now (the pools' connections).
    pub(super) fn client_level(&mut self, clients: u32) {
        self.clients = clients;
        self.peak_clients = self.peak_clients.max(clients);
    }

    /// The warm-up instant: the peaks start again from the levels now.
    pub(super) fn start_peaks(&mut self, observed: bool) {
        let level = |x: u32| if observed { x } else { 0 };
        self.peak_clients = level(self.clients);
        self.peak_servers = level(self.open + self.opening);
        self.peak_waiting = level(self.waiting);
    }

    /// The pooler's figures.
    pub(super) fn summary(&self) -> PoolerSummary {
        PoolerSummary {
            pool_mode: "transaction",
            default_pool_size: self.pool_size,
            reserve_pool_size: self.reserve,
            peak_server_connections: self.peak_servers,
            peak_client_connections: self.peak_clients,
            peak_clients_waiting: self.peak_waiting,
            query_wait_timeouts: self.query_wait_timeouts,
            clients_refused: self.clients_refused,
            server_connections_opened: self.servers_opened,
            server_connections_closed: self.servers_closed,
            server_login_refusals: self.login_refusals,
        }
    }

    fn take_server_slot(&mut self, now: SimTime) -> u32 {
        let s = Server { generation: 0, state: ServerState::Opening, created: now, since: now };
        match self.free.pop() {
            Some(id) => {
                let g = self.servers[id as usize].generation.wrapping_add(1);
                self.servers[id as usize] = Server { generation: g, ..s };
                id
            }
            None => {
                self.servers.push(s);
                (self.servers.len() - 1) as u32
            }
        }
    }

    fn set_server_of(&mut self, slot: u32, server: u32) {
        let i = slot as usize;
        if i >= self.server_of.len() {
            self.server_of.resize(i + 1, u32::MAX);
        }
        self.server_of[i] = server;
    }

    fn server_of(&self, slot: u32) -> u32 {
        self.server_of.get(slot as usize).copied().unwrap_or(u32::MAX)
    }
}

impl Simulation<'_> {
    fn pooler(&mut self) -> &mut Pooler {
        self.pooler.as_mut().expect("a pooler")
    }

    /// Whether a queue entry is a request still waiting for a server.
    fn queued_live(&self, q: Queued) -> bool {
        self.requests.is_in(q.slot, q.generation, Phase::AtPooler)
            || self.requests.is_in(q.slot, q.generation, Phase::ResetWait)
    }

    /// Drops entries of requests that left from the front of the queue.
    fn pooler_front(&mut self) -> Option<Queued> {
        loop {
            let q = *self.pooler.as_ref().expect("a pooler").queue.front()?;
            if self.queued_live(q) {
                return Some(q);
            }
            self.pooler().queue.pop_front();
        }
    }

    /// A request holding its pool's connection starts its transaction: it
    /// needs a server connection of the pooler.
    pub(super) fn pooler_query(&mut self, slot: u32, generation: u32) {
        self.requests.get_mut(slot).phase = Phase::AtPooler;
        self.pooler_ask(slot, generation);
    }

    /// An idle server now, or a place in the queue (and maybe a new server).
    fn pooler_ask(&mut self, slot: u32, generation: u32) {
        let now = self.now;
        if let Some(server) = self.pooler_take_idle() {
            self.pooler_serve(server, slot, generation);
            return;
        }
        let p = self.pooler();
        p.queue.push_back(Queued { slot, generation, since: now });
        p.waiting += 1;
        p.peak_waiting = p.peak_waiting.max(p.waiting);
        self.pooler_rearm_check();
        self.pooler_open();
    }

    /// The most recently used idle server; those past `server_lifetime` close on the way.
    fn pooler_take_idle(&mut self) -> Option<u32> {
        let now = self.now;
        loop {
            let p = self.pooler();
            let (id, generation) = p.idle.pop_back()?;
            let s = p.servers[id as usize];
            if s.generation != generation || s.state != ServerState::Idle {
                continue;
            }
            if now - s.created >= p.lifetime {
                self.pooler_close(id);
                continue;
            }
            return Some(id);
        }
    }

    /// `server` runs the transaction of the request in `slot`: its query (the
    /// acquire wait ends now and its hold starts) or its pool's reset query.
    fn pooler_serve(&mut self, server: u32, slot: u32, generation: u32) {
        let now = self.now;
        let p = self.pooler();
        p.servers[server as usize].state = ServerState::Busy;
        p.busy += 1;
        p.set_server_of(slot, server);
        let r = self.requests.get_mut(slot);
        if r.phase == Phase::ResetWait {
            r.phase = Phase::Resetting;
            let pool = self.copies[r.instance as usize].pool as usize;
            let d = self.pools[pool].reset.unwrap_or(SimDuration::ZERO);
            self.queue.push(now + d, Event::ResetDone { slot, generation });
            return;
        }
        self.grant(slot, generation, super::life::SERVED);
    }

    /// Gives a server that became free to the oldest waiting transaction, or idles it.
    fn pooler_free_server(&mut self, server: u32) {
        let now = self.now;
        if let Some(q) = self.pooler_front() {
            let p = self.pooler();
            p.queue.pop_front();
            p.waiting -= 1;
            self.pooler_rearm_check();
            self.pooler_serve(server, q.slot, q.generation);
            return;
        }
        let p = self.pooler();
        let s = &mut p.servers[server as usize];
        s.state = ServerState::Idle;
        s.since = now;
        let generation = s.generation;
        p.idle.push_back((server, generation));
        // Nobody waits: a pending "open again" is not wanted any more.
        p.open_epoch = p.open_epoch.wrapping_add(1);
        p.open_at = SimTime::MAX;
        if p.idle_timeout != SimDuration::MAX && !p.idle_check_armed {
            p.idle_check_armed = true;
            let at = now + p.idle_timeout;
            self.queue.push_timer(at, Event::ServerIdleCheck);
        }
    }

    /// The transaction of the request in `slot` is over: its server goes back.
    fn pooler_release(&mut self, slot: u32) {
        let now = self.now;
        let p = self.pooler();
        let server = p.server_of(slot);
        if server == u32::MAX {
            return;
        }
        p.server_of[slot as usize] = u32::MAX;
        p.busy -= 1;
        if now - p.servers[server as usize].created >= p.lifetime {
            self.pooler_close(server);
            self.pooler_open();
        } else {
            self.pooler_free_server(server);
        }
    }

    /// A request's hold is done behind the pooler: its server goes back, and
    /// its pool's reset query (if it has one) queues for a server in turn.
    /// Returns whether the request waits for that reset.
    pub(super) fn pooler_hold_done(&mut self, slot: u32, generation: u32) -> bool {
        self.pooler_release(slot);
        let r = self.requests.get(slot);
        if r.job != super::request::NOT_A_JOB {
            return false;
        }
        let pool = self.copies[r.instance as usize].pool as usize;
        if self.pools[pool].reset.is_none() {
            return false;
        }
        self.requests.get_mut(slot).phase = Phase::ResetWait;
        self.pooler_ask(slot, generation);
        true
    }

    /// The reset query is done: the connection goes back to its pool and the
    /// response leaves.
    pub(super) fn on_reset_done(&mut self, slot: u32, generation: u32) {
        self.pooler_release(slot);
        self.requests.get_mut(slot).phase = Phase::Holding;
        self.hold_over(slot, generation);
    }

    /// The request in `slot` is terminated (its pool's connection killed, or
    /// its query waited too long): it leaves the queue or gives its server back.
    pub(super) fn pooler_drop(&mut self, slot: u32) {
        let phase = self.requests.get(slot).phase;
        if matches!(phase, Phase::AtPooler | Phase::ResetWait) {
            self.pooler().waiting -= 1; // its entry is dropped when it surfaces
        } else {
            self.pooler_release(slot);
        }
    }

    /// (Re)arms the one query-wait timer at the oldest live entry's deadline.
    fn pooler_rearm_check(&mut self) {
        if self.pooler.as_ref().is_none_or(|p| p.query_wait == SimDuration::MAX) {
            return;
        }
        let at = match self.pooler_front() {
            Some(q) => q.since + self.pooler().query_wait,
            None => SimTime::MAX,
        };
        let p = self.pooler();
        if at == p.check_at {
            return;
        }
        p.check_epoch = p.check_epoch.wrapping_add(1);
        p.check_at = at;
        if at != SimTime::MAX {
            let event = Event::QueryWaitCheck { epoch: p.check_epoch };
            self.queue.push(at, event);
        }
    }

    /// Queries that have waited `query_wait_timeout` fail; their clients are disconnected.
    pub(super) fn on_query_wait_check(&mut self) {
        let now = self.now;
        self.pooler().check_at = SimTime::MAX;
        while let Some(q) = self.pooler_front() {
            if q.since + self.pooler().query_wait > now {
                break;
            }
            self.pooler().query_wait_timeouts += 1;
            let (conn, instance) = (self.requests.get(q.slot).conn, self.requests.get(q.slot).instance);
            self.terminate(conn);
            self.open_for_waiters(instance, None);
            self.report(instance);
        }
        self.pooler_rearm_check();
    }

    /// Opens a server connection if transactions wait for one, one at a time:
    /// up to `default_pool_size`, then the reserve once the oldest has waited
    /// `reserve_pool_timeout`, and not while the database refuses logins.
    pub(super) fn pooler_open(&mut self) {
        let now = self.now;
        loop {
            if self.pooler().opening > 0 {
                return;
            }
            let Some(front) = self.pooler_front() else { return };
            let p = self.pooler();
            if p.waiting == 0 {
                return;
            }
            let total = p.open + p.opening;
            let wake_at = if now < p.login_blocked_until {
                Some(p.login_blocked_until)
            } else if total < p.pool_size {
                None
            } else if total < p.pool_size + p.reserve {
                let due = front.since + p.reserve_timeout;
                (now < due).then_some(due)
            } else {
                return;
            };
            if let Some(at) = wake_at {
                if p.open_at != at {
                    p.open_epoch = p.open_epoch.wrapping_add(1);
                    p.open_at = at;
                    let event = Event::PoolerOpen { epoch: p.open_epoch };
                    self.queue.push(at, event);
                }
                return;
            }
            if total >= p.db_usable {
                // The database refuses the login: no new one for server_login_retry.
                p.login_refusals += 1;
                p.login_blocked_until = now + p.login_retry;
                self.recorder.refusal(now);
                continue;
            }
            let id = p.take_server_slot(now);
            p.opening += 1;
            p.servers_opened += 1;
            p.peak_servers = p.peak_servers.max(p.open + p.opening);
            let level = p.open + p.opening;
            let generation = p.servers[id as usize].generation;
            self.recorder.db_level(now, level);
            let d = self.scenario.database.connect_time.sample(&mut self.pooler.as_mut().expect("a pooler").rng);
            if d.is_zero() {
                self.pooler_established(id);
                continue;
            }
            self.queue.push(now + d, Event::ServerConnected { server: id, generation });
            return;
        }
    }

    /// A server connection finished connecting.
    pub(super) fn on_server_connected(&mut self, server: u32) {
        self.pooler_established(server);
        self.pooler_open();
    }

    fn pooler_established(&mut self, server: u32) {
        let now = self.now;
        let p = self.pooler();
        p.opening -= 1;
        p.open += 1;
        let s = &mut p.servers[server as usize];
        s.created = now;
        self.pooler_free_server(server);
    }

    /// Closes a server connection (idle, or just released) and frees its slot at the database.
    fn pooler_close(&mut self, server: u32) {
        let now = self.now;
        let p = self.pooler();
        p.servers[server as usize].state = ServerState::Free;
        p.free.push(server);
        p.open -= 1;
        p.servers_closed += 1;
        let level = p.open + p.opening;
        self.recorder.db_level(now, level);
    }

    /// Closes servers idle for `server_idle_timeout`.
    pub(super) fn on_server_idle_check(&mut self) {
        let now = self.now;
        self.pooler().idle_check_armed = false;
        loop {
            let p = self.pooler();
            let Some(&(id, generation)) = p.idle.front() else { return };
            let s = p.servers[id as usize];
            if s.generation != generation || s.state != ServerState::Idle {
                p.idle.pop_front();
                continue;
            }
            let due = s.since + p.idle_timeout;
            if due > now {
                p.idle_check_armed = true;
                self.queue.push_timer(due, Event::ServerIdleCheck);
                return;
            }
            p.idle.pop_front();
            self.pooler_close(id);
        }
    }

    /// Panics unless the pooler's accounting holds (with `with_audit`).
    pub(super) fn check_pooler(&self, p: &Pooler) {
        let t = self.now;
        let count = |st: ServerState| p.servers.iter().filter(|s| s.state == st).count() as u32;
        assert_eq!(p.opening, count(ServerState::Opening), "t={t}: pooler opening");
        assert!(p.opening <= 1, "t={t}: the pooler opens one server connection at a time");
        assert_eq!(p.busy, count(ServerState::Busy), "t={t}: pooler busy");
        assert_eq!(p.open, count(ServerState::Idle) + p.busy, "t={t}: pooler open = idle + busy");
        assert!(p.open + p.opening <= p.db_usable, "t={t}: more server connections than the database allows");
        assert!(p.open + p.opening <= p.pool_size + p.reserve, "t={t}: more server connections than the pool");
        let holding = p.server_of.iter().filter(|&&s| s != u32::MAX).count() as u32;
        assert_eq!(p.busy, holding, "t={t}: busy servers = transactions running");
        let live = p.queue.iter().filter(|&&q| self.queued_live(q)).count() as u32;
        assert_eq!(p.waiting, live, "t={t}: pooler waiting");
        assert!(p.clients <= self.db.usable, "t={t}: more clients than max_client_conn");
    }
}
