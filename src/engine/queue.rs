//! The pending-event set, totally ordered by (time, sequence number).
//!
//! Invariant: events pop in non-decreasing time; events scheduled for the same
//! instant pop in the order they were scheduled (FIFO). Every event gets the next
//! sequence number when it is pushed (or a number reserved earlier, see
//! [`EventQueue::reserve_seq`]), so (time, seq) keys are unique and the order
//! is total. Cancellation is lazy: the queue never removes an event early; handlers
//! check whether an event is still current when it pops (see `model`).
//!
//! # Layout, and why
//!
//! - an event scheduled *at the current time* (a response with no overhead, a user
//!   starting now) is later than everything already pending at that time, so it
//!   goes to the **now lane**, a FIFO, at O(1);
//! - an event scheduled after the latest event of the **tail lane** (typically a
//!   pool's acquire-timeout timer or an idle check) extends that lane, also a
//!   FIFO at O(1);
//! - a busy stream the model knows to be in time order (the arrivals of an open
//!   workload, responses after a constant overhead) gets its own
//!   **declared lane** ([`EventQueue::lane`]), so it stays out of the heap even
//!   when its events interleave with another stream's;
//! - the rest (typically hold completions) go to a min-set on the packed
//!   `time << 64 | seq << 4` key (`Heap`): while it holds at most 16 events
//!   (a pool's holds) 16 slots under a winner tree, where a push or a pop
//!   replays one path of 4 selects, so no branch depends on how hold times
//!   compare (the tree keeps each key's slot in its 4 low bits);
//!   past that a binary heap, sifted with a hole and popped with Floyd's
//!   bottom-up method (one compare per level on the way down);
//! - **timers** that are many at once but rarely due (each pool copy's idle
//!   check, each job copy's next run: [`EventQueue::push_timer`]) get a heap of
//!   their own, so they do not deepen the busy heap: on the fleet benchmark
//!   they were ~110 of the ~115 events a hold completion was sifted past.
//!
//! Each lane is sorted by construction (a push appends only a key larger than
//! the lane's back), so the earliest event is the smallest of the lanes' fronts
//! and the two heaps' tops. Which container holds it is cached by `push`
//! and `pop`, so `peek_time` is a field read. Nothing is allocated per event: the
//! lanes and the heap keep their capacity, so memory is O(most events pending at
//! once). Pops follow exactly the (time, seq) order whichever container an event
//! went to; a unit test below checks it against a reference sort.
//!
//! Measured (docs/performance.md): on the fleet-day benchmark the declared lanes
//! took the heap from ~300 pending events to ~135 and the run from 11.3 to 9.3
//! CPU-s; a 4-ary heap was slower than this binary one, twice. On the
//! single-pool benchmark (about 10 holds pending) the slots took the run from
//! 1.31 to 1.20 CPU-s. Earlier forms of the small set: an array whose minimum
//! was rescanned after each pop, in order over a `Vec` (LLVM turned the
//! selects into branches, even `select_unpredictable`: 1.35 CPU-s), in order
//! over a fixed array (a chain of 16 dependent selects: 1.33) and as a
//! tournament over the fixed array (1.27).

use std::collections::VecDeque;
use std::hint::select_unpredictable;

use super::time::SimTime;

/// Pending events of type `E`, earliest first, FIFO among equal times.
#[derive(Debug)]
pub struct EventQueue<E> {
    /// Sorted runs of events (keys increase front to back): lane 0 holds events
    /// at time `now` in scheduling order, lane 1 is the automatic tail lane, and
    /// the rest are the streams declared with [`EventQueue::lane`].
    lanes: Vec<VecDeque<Entry<E>>>,
    /// The front key of each busy lane (stale for an empty one): the earliest
    /// event is found by one pass over the busy lanes' fronts and the heap top.
    fronts: Vec<u128>,
    /// Bit `l` is set when lane `l` holds events: `find_head` looks at those only.
    busy: u32,
    /// Everything else: 16 slots under a winner tree, or a binary heap past
    /// that ([`Heap`]).
    heap: Heap<E>,
    /// The same kind of set for [`push_timer`](Self::push_timer)'s events.
    timers: Heap<E>,
    /// Time of the last popped event (the simulation's clock).
    now: u64,
    next_seq: u64,
    /// Where the earliest event is (a lane, [`HEAP`] or [`EMPTY`]) and its key,
    /// kept up to date by `push` and `pop` so that `peek_time` (called before
    /// every pop) costs nothing.
    head: usize,
    head_key: u128,
}

/// A FIFO lane of the queue for a stream of events whose times never decrease
/// in the order they are pushed (see [`EventQueue::lane`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane(usize);

#[derive(Debug, Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    #[inline(always)]
    fn time(&self) -> u64 {
        (self.key >> 64) as u64
    }
}

/// `head` when the earliest event is the heap's top.
const HEAP: usize = usize::MAX - 1;
/// `head` when the earliest event is the timer heap's top.
const TIMERS: usize = usize::MAX - 2;
/// `head` when nothing is pending.
const EMPTY: usize = usize::MAX;
/// The lane of events at the current time.
const NOW_LANE: usize = 0;
/// The automatic lane of later events.
const TAIL_LANE: usize = 1;
/// Lanes beyond this many are not handed out: each one adds a compare to every pop.
const MAX_LANES: usize = 8;

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            lanes: vec![VecDeque::new(), VecDeque::new()],
            fronts: vec![u128::MAX; 2],
            busy: 0,
            heap: Heap::new(),
            timers: Heap::new(),
            now: 0,
            next_seq: 0,
            head: EMPTY,
            head_key: u128::MAX,
        }
    }

    /// A FIFO lane for a stream whose events are pushed in time order, like
    /// the arrivals of one open workload or responses after a constant
    /// overhead: pushed with [`push_in`](Self::push_in), they cost an append
    /// instead of a heap insertion. `None` once the queue has all the lanes it
    /// keeps (`push_in` then falls back to `push`).
    pub fn lane(&mut self) -> Option<Lane> {
        if self.lanes.len() >= MAX_LANES {
            return None;
        }
        self.lanes.push(VecDeque::new());
        self.fronts.push(u128::MAX);
        Some(Lane(self.lanes.len() - 1))
    }

    /// Schedules `event` at `at`. Events at equal times keep their scheduling order.
    #[inline(always)]
    pub fn push(&mut self, at: SimTime, event: E) {
        let seq = self.reserve_seq();
        self.push_with_seq(at, seq, event);
    }

    /// Schedules `event` at `at` in `lane` if that keeps the lane sorted, else
    /// like [`push`](Self::push): the order of pops is the same either way.
    #[inline(always)]
    pub fn push_in(&mut self, lane: Option<Lane>, at: SimTime, event: E) {
        let seq = self.reserve_seq();
        let key = Self::key(at, seq);
        match lane {
            Some(Lane(l)) if self.lanes[l].back().is_none_or(|b| b.key < key) => self.append(l, Entry { key, event }),
            _ => self.place(Entry { key, event }),
        }
    }

    /// Schedules a timer: an event of a kind that is pending for many sources at
    /// once but rarely due (a pool copy's idle check, a job copy's next run).
    /// It pops in the same (time, seq) order as with [`push`](Self::push); it
    /// only stays out of the heap that the busy events are sifted through.
    #[inline]
    pub fn push_timer(&mut self, at: SimTime, event: E) {
        let key = Self::key(at, self.reserve_seq());
        self.timers.push(Entry { key, event });
        self.note_push(TIMERS, key);
    }

    /// Schedules `event` at `at` straight into the heap, for a stream of events
    /// in no particular time order (random hold completions): they would
    /// rarely extend a lane, and the checks would cost each push. The order
    /// of pops is the same as with [`push`](Self::push).
    #[inline(always)]
    pub fn push_unordered(&mut self, at: SimTime, event: E) {
        let key = Self::key(at, self.reserve_seq());
        self.heap.push(Entry { key, event });
        self.note_push(HEAP, key);
    }

    /// Takes the next sequence number without scheduling anything: an event
    /// pushed later with [`push_with_seq`](Self::push_with_seq) and this number
    /// pops exactly where an event pushed now for the same time would have. This
    /// is how a pool keeps one timer for all its waiters (each waiter reserves
    /// the number its own timeout event would have had) and still times them out
    /// in the order one event per waiter would give.
    #[inline(always)]
    pub fn reserve_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Schedules `event` at `at` under a number from [`reserve_seq`](Self::reserve_seq).
    /// Each reserved number must be pushed at most once at a time, so keys stay unique.
    #[inline(always)]
    pub fn push_with_seq(&mut self, at: SimTime, seq: u64, event: E) {
        self.place(Entry { key: Self::key(at, seq), event });
    }

    /// (time, seq) as one integer: a compare is a compare and a subtract-with-borrow.
    /// The sequence number sits above the low [`SLOT_BITS`] bits, which the
    /// small heap fills with an entry's slot (2^60 numbers are still plenty).
    #[inline(always)]
    fn key(at: SimTime, seq: u64) -> u128 {
        debug_assert!(seq < 1 << (64 - SLOT_BITS), "sequence numbers ran out");
        ((at.0 as u128) << 64) | u128::from(seq << SLOT_BITS)
    }

    /// Puts an entry in the now lane, the tail lane or the heap.
    #[inline(always)]
    fn place(&mut self, entry: Entry<E>) {
        // A lane takes the entry only if it stays sorted: its back must be smaller.
        let sorted_after = |lane: &VecDeque<Entry<E>>| lane.back().is_none_or(|b| b.key < entry.key);
        if entry.time() == self.now && sorted_after(&self.lanes[NOW_LANE]) {
            self.append(NOW_LANE, entry);
        } else if sorted_after(&self.lanes[TAIL_LANE]) {
            self.append(TAIL_LANE, entry);
        } else {
            self.heap.push(entry);
            self.note_push(HEAP, entry.key);
        }
    }

    /// Appends to a lane whose back is earlier than the entry.
    #[inline(always)]
    fn append(&mut self, lane: usize, entry: Entry<E>) {
        if self.lanes[lane].is_empty() {
            self.fronts[lane] = entry.key;
            self.busy |= 1 << lane;
        }
        self.lanes[lane].push_back(entry);
        self.note_push(lane, entry.key);
    }

    /// The new entry is the earliest only if it is earlier than the old head;
    /// it is then at the front of its lane or the top of the heap. `head_key`
    /// is u128::MAX when the queue is empty, a key no event can have (it would
    /// need 2^64 - 1 earlier pushes).
    #[inline(always)]
    fn note_push(&mut self, source: usize, key: u128) {
        if key < self.head_key {
            self.head = source;
            self.head_key = key;
        }
    }

    /// Finds which container holds the earliest event, after a pop.
    #[inline]
    fn find_head(&mut self) {
        // The heap's top is read as two words, as `replay` just wrote it: a
        // 16-byte load of it (which a compare with u128::MAX becomes) would
        // wait for those stores to retire instead of taking their values.
        let (mut src, mut key) = (HEAP, self.heap.top);
        if self.timers.top < key {
            (src, key) = (TIMERS, self.timers.top);
        }
        let mut busy = self.busy;
        while busy != 0 {
            let lane = busy.trailing_zeros() as usize;
            busy &= busy - 1;
            let front = self.fronts[lane];
            if front < key {
                src = lane;
                key = front;
            }
        }
        // Only an empty queue has no key below u128::MAX (see `note_push`).
        self.head = if key == u128::MAX { EMPTY } else { src };
        self.head_key = key;
    }

    /// Removes and returns the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let entry = match self.head {
            EMPTY => return None,
            HEAP => self.heap.pop()?,
            TIMERS => self.timers.pop()?,
            lane => {
                let l = &mut self.lanes[lane];
                let e = l.pop_front()?;
                match l.front() {
                    Some(f) => self.fronts[lane] = f.key,
                    None => self.busy &= !(1 << lane),
                }
                e
            }
        };
        let t = entry.time();
        self.now = t;
        self.find_head();
        Some((SimTime(t), entry.event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        (self.head != EMPTY).then_some(SimTime((self.head_key >> 64) as u64))
    }

    /// Number of pending events (including lazily cancelled ones).
    pub fn len(&self) -> usize {
        self.lanes.iter().map(VecDeque::len).sum::<usize>() + self.heap.len() + self.timers.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.head == EMPTY
    }

    /// Total events ever scheduled (a cheap work counter for budgets and benchmarks).
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }
}

/// Slots of a small [`Heap`]: past this many entries it becomes a binary heap;
/// at or below [`UNORDERED_AT`] it goes back to slots.
const SMALL: usize = 16;
const UNORDERED_AT: usize = 8;
/// Levels of the winner tree over [`SMALL`] slots.
const LEVELS: usize = SMALL.trailing_zeros() as usize;
/// Low bits of every key, left zero by [`EventQueue::key`], where a small
/// [`Heap`]'s tree keeps the slot of each key.
const SLOT_BITS: u32 = LEVELS as u32;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;

/// A min-set of entries on their keys. While small (a pool's holds, a few
/// timers) the entries sit in [`SMALL`] slots under a winner tree: each node
/// holds the smallest key below it (its slot in the key's low bits), so a
/// push or a pop replays one leaf-to-root path of [`LEVELS`] compares, each a
/// select rather than a branch: nothing depends on how the keys compare. Once it grows past
/// [`SMALL`] it becomes a binary heap, sifted with a hole and popped with
/// Floyd's method. Either way `top` is the smallest key, so the queue reads it
/// without looking inside.
#[derive(Debug)]
struct Heap<E> {
    /// Small: the entries by slot (free slots hold stale entries). Ordered:
    /// the binary heap.
    items: Vec<Entry<E>>,
    /// Whether `items` is a binary heap.
    ordered: bool,
    /// The winner tree while small: node 1 is the root, node `n` has children
    /// `2n` and `2n + 1`, and node `SMALL + i` is slot `i`, whose key is its
    /// entry's with `i` in the low [`SLOT_BITS`] bits (u128::MAX when free).
    /// Node `n` holds the smallest key below it, so its slot too, as two
    /// words: `hi[n]` (the time) and `lo[n]` (sequence number and slot).
    /// Keys are unique, so the slot bits never decide a compare.
    hi: [u64; 2 * SMALL],
    lo: [u64; 2 * SMALL],
    /// Free slots, one bit each, while small.
    free: u32,
    /// The smallest key (u128::MAX when empty).
    top: u128,
}

impl<E: Copy> Heap<E> {
    const ALL_FREE: u32 = (1 << SMALL) - 1;

    fn new() -> Self {
        Heap {
            items: Vec::new(),
            ordered: false,
            hi: [u64::MAX; 2 * SMALL],
            lo: [u64::MAX; 2 * SMALL],
            free: Self::ALL_FREE,
            top: u128::MAX,
        }
    }

    /// Entries held.
    fn len(&self) -> usize {
        if self.ordered { self.items.len() } else { SMALL - self.free.count_ones() as usize }
    }

    #[inline(always)]
    fn push(&mut self, entry: Entry<E>) {
        if self.ordered {
            let hole = self.items.len();
            self.items.push(entry);
            Self::sift_up(&mut self.items, hole, entry);
            self.top = self.items[0].key;
            return;
        }
        if self.free == 0 {
            self.items.push(entry);
            self.make_ordered();
            return;
        }
        // The lowest free slot: at most one past the slots used so far.
        let i = self.free.trailing_zeros() as usize;
        self.free &= self.free - 1;
        if let Some(item) = self.items.get_mut(i) {
            // Field by field: the entry was just built in registers and on the
            // stack, and a 16-byte copy of it would wait for those stores.
            item.key = entry.key;
            item.event = entry.event;
        } else {
            self.items.push(entry);
        }
        self.set_leaf(i, entry.key);
        self.replay(i);
    }

    /// Slot `i`'s leaf gets `key`, with `i` in its low bits.
    #[inline(always)]
    fn set_leaf(&mut self, i: usize, key: u128) {
        debug_assert_eq!(key as u64 & SLOT_MASK, 0, "a key with its slot bits set");
        self.hi[SMALL + i] = (key >> 64) as u64;
        self.lo[SMALL + i] = key as u64 | i as u64;
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<Entry<E>> {
        if self.ordered {
            return self.pop_large();
        }
        if self.free == Self::ALL_FREE {
            return None;
        }
        let i = (self.lo[1] & SLOT_MASK) as usize;
        (self.hi[SMALL + i], self.lo[SMALL + i]) = (u64::MAX, u64::MAX);
        self.free |= 1 << i;
        self.replay(i);
        Some(self.items[i])
    }

    /// A pop from the binary heap, which becomes slots again once small.
    #[inline(never)]
    fn pop_large(&mut self) -> Option<Entry<E>> {
        let top = self.pop_ordered()?;
        if self.items.len() <= UNORDERED_AT {
            self.make_slots();
        } else {
            self.top = self.items[0].key;
        }
        Some(top)
    }

    /// Slot `i`'s key changed: recomputes the winners on its path to the root.
    #[inline(always)]
    fn replay(&mut self, i: usize) {
        let mut n = SMALL + i % SMALL;
        let (mut hi, mut lo) = (self.hi[n], self.lo[n]);
        for _ in 0..LEVELS {
            let sibling = n ^ 1;
            let (h, l) = (self.hi[sibling], self.lo[sibling]);
            let theirs = (u128::from(h) << 64 | u128::from(l)) < (u128::from(hi) << 64 | u128::from(lo));
            hi = select_unpredictable(theirs, h, hi);
            lo = select_unpredictable(theirs, l, lo);
            n /= 2;
            self.hi[n] = hi;
            self.lo[n] = lo;
        }
        self.top = u128::from(hi) << 64 | u128::from(lo);
    }

    /// Becomes a binary heap of its entries: the slots' and one more (all
    /// slots are full). The new entry is pushed by the caller: passed here,
    /// it would have to be built in memory on the common path too.
    #[cold]
    fn make_ordered(&mut self) {
        for i in 1..self.items.len() {
            let e = self.items[i];
            Self::sift_up(&mut self.items, i, e);
        }
        self.ordered = true;
        self.top = self.items[0].key;
    }

    /// Goes back to slots (the heap shrank to [`UNORDERED_AT`] entries or fewer).
    #[cold]
    fn make_slots(&mut self) {
        self.ordered = false;
        (self.hi, self.lo) = ([u64::MAX; 2 * SMALL], [u64::MAX; 2 * SMALL]);
        self.free = Self::ALL_FREE & !((1 << self.items.len()) - 1);
        self.top = u128::MAX;
        // Replaying the leaves in slot order leaves every node right: the
        // last replay through a node comes after both of its subtrees are done.
        for i in 0..self.items.len() {
            self.set_leaf(i, self.items[i].key);
            self.replay(i);
        }
    }

    /// Moves the hole at `hole` up past every parent later than `entry`, then
    /// fills it with `entry`.
    #[inline(always)]
    fn sift_up(heap: &mut [Entry<E>], mut hole: usize, entry: Entry<E>) {
        while hole > 0 {
            let parent = (hole - 1) / 2;
            let p = heap[parent];
            if entry.key >= p.key {
                break;
            }
            heap[hole] = p;
            hole = parent;
        }
        heap[hole] = entry;
    }

    /// Floyd's pop: move the hole at the root down to a leaf along the smaller
    /// children (one compare per level), put the last entry there and sift it up
    /// (it usually stays: it came from the bottom).
    #[inline]
    fn pop_ordered(&mut self) -> Option<Entry<E>> {
        let heap = &mut self.items;
        let last = heap.pop()?;
        let n = heap.len();
        if n == 0 {
            return Some(last);
        }
        let top = heap[0];
        let mut hole = 0;
        let mut child = 1;
        while child + 1 < n {
            child += usize::from(heap[child + 1].key < heap[child].key);
            heap[hole] = heap[child];
            hole = child;
            child = 2 * hole + 1;
        }
        if child < n {
            heap[hole] = heap[child];
            hole = child;
        }
        Self::sift_up(heap, hole, last);
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(30), 'c');
        q.push(SimTime(10), 'a');
        q.push(SimTime(20), 'b');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c']);
    }

    #[test]
    fn equal_times_pop_in_scheduling_order() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.push(SimTime(7), i);
        }
        q.push(SimTime(3), -1);
        assert_eq!(q.pop(), Some((SimTime(3), -1)));
        for i in 0..100 {
            assert_eq!(q.pop(), Some((SimTime(7), i)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn times_near_the_top_of_the_range_keep_their_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(u64::MAX), 2);
        q.push(SimTime(u64::MAX - 1), 1);
        assert_eq!(q.peek_time(), Some(SimTime(u64::MAX - 1)));
        assert_eq!(q.pop().map(|p| p.1), Some(1));
        assert_eq!(q.pop().map(|p| p.1), Some(2));
    }

    #[test]
    fn events_pushed_at_the_current_time_run_after_earlier_ones_at_that_time() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 0);
        q.push(SimTime(5), 1);
        q.push(SimTime(9), 9);
        assert_eq!(q.pop(), Some((SimTime(5), 0)));
        // Now at t=5: a push at 5 must come after the pending (5, seq 1).
        q.push(SimTime(5), 2);
        q.push(SimTime(5), 3);
        assert_eq!(q.len(), 4);
        let order: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![1, 2, 3, 9]);
    }

    /// A small deterministic generator for the reference test (the engine's own
    /// streams would do, but this keeps the queue test independent of them).
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Simulation-like schedules (pushes at or after the clock, many ties, some
    /// monotone runs, some random) pop exactly in (time, seq) order.
    #[test]
    fn matches_a_reference_sort_on_random_schedules() {
        for seed in 0..50u64 {
            let mut rng = seed;
            let mut q = EventQueue::new();
            let mut reference: Vec<(u64, u64)> = Vec::new();
            let mut reserved: Vec<(u64, u64)> = Vec::new();
            let lanes = [q.lane(), q.lane()];
            let mut now = 0u64;
            let mut timeout_gap = 0u64;
            for step in 0..4000 {
                let pushes = splitmix(&mut rng) % 4;
                for _ in 0..pushes {
                    let r = splitmix(&mut rng);
                    let at = match r % 5 {
                        0 => now,
                        1 => now + 1000,
                        2 => now + (r >> 8) % 50,
                        3 => {
                            timeout_gap += (r >> 8) % 3;
                            now + timeout_gap % 7
                        }
                        _ => now + (r >> 8) % 5000,
                    };
                    if r.is_multiple_of(11) {
                        // A number reserved now and pushed a few steps later (a pool's timer).
                        reserved.push((at, q.reserve_seq()));
                    } else {
                        // Constant delays into a declared lane (always sorted), random
                        // ones into another (often not: they fall back), some as
                        // timers (their own heap), some straight into the heap,
                        // the rest plain.
                        let seq = q.scheduled_total();
                        match (r % 5, r % 13) {
                            (1, _) => q.push_in(lanes[0], SimTime(at), seq),
                            (2, _) => q.push_in(lanes[1], SimTime(at), seq),
                            (_, 0..=3) => q.push_timer(SimTime(at), seq),
                            (_, 4..=6) => q.push_unordered(SimTime(at), seq),
                            _ => q.push(SimTime(at), seq),
                        }
                        reference.push((at, seq));
                    }
                }
                if let Some(&(at, s)) = reserved.first()
                    && splitmix(&mut rng).is_multiple_of(3)
                {
                    reserved.remove(0);
                    if at >= now {
                        q.push_with_seq(SimTime(at), s, s);
                        reference.push((at, s));
                    }
                }
                if step % 3 != 0 {
                    // Pop the smallest of the reference and compare.
                    let expected = reference.iter().copied().min();
                    let got = q.pop().map(|(t, e)| (t.0, e));
                    assert_eq!(got, expected, "seed {seed} step {step}");
                    if let Some(e) = expected {
                        reference.retain(|&x| x != e);
                        now = e.0;
                    }
                }
                assert_eq!(q.len(), reference.len());
                assert_eq!(q.peek_time().map(|t| t.0), reference.iter().map(|x| x.0).min());
            }
            let mut rest = reference.clone();
            rest.sort_unstable();
            let drained: Vec<(u64, u64)> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
            assert_eq!(drained, rest, "seed {seed}");
            assert!(q.is_empty());
        }
    }

    /// A heap's size swings across the small-array size both ways, many times:
    /// pops stay in key order through every change of layout.
    #[test]
    fn a_heap_growing_and_shrinking_past_the_small_size_keeps_its_order() {
        let mut state = 7u64;
        let mut heap = Heap::new();
        let mut reference: Vec<u128> = Vec::new();
        let (mut seq, mut now, mut switches, mut was_ordered) = (0u128, 0u128, 0, false);
        for round in 0..300 {
            let high = 1 + (splitmix(&mut state) % (3 * SMALL as u64)) as usize;
            let low = (splitmix(&mut state) % (SMALL as u64 + 2)) as usize;
            while reference.len() < high {
                // Many equal times: the sequence number decides.
                let key = (now + u128::from(splitmix(&mut state) % 50)) << 64 | seq << SLOT_BITS;
                seq += 1;
                heap.push(Entry { key, event: key });
                reference.push(key);
                // The slots' tree keeps a slot in the top's low bits.
                assert_eq!(heap.top >> SLOT_BITS, reference.iter().min().unwrap() >> SLOT_BITS, "round {round}");
            }
            while reference.len() > low {
                let expected = *reference.iter().min().unwrap();
                reference.retain(|&k| k != expected);
                assert_eq!(heap.pop().map(|e| e.event), Some(expected), "round {round}");
                let min = reference.iter().copied().min().unwrap_or(u128::MAX);
                assert_eq!(heap.top >> SLOT_BITS, min >> SLOT_BITS, "round {round}");
                now = expected >> 64;
                switches += usize::from(heap.ordered != was_ordered);
                was_ordered = heap.ordered;
            }
        }
        assert!(heap.pop().is_none() == reference.is_empty());
        assert!(switches > 100, "the layout changed only {switches} times");
    }

    #[test]
    fn reserved_numbers_pop_where_an_event_pushed_then_would_have() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 0);
        let reserved = q.reserve_seq();
        q.push(SimTime(5), 2);
        q.push(SimTime(9), 9);
        assert_eq!(q.pop(), Some((SimTime(5), 0)));
        // At t=5, pushed late but with the number taken before event 2.
        q.push_with_seq(SimTime(5), reserved, 1);
        q.push(SimTime(5), 3);
        let order: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![1, 2, 3, 9]);
    }

    #[test]
    fn lanes_run_out_and_pushes_then_take_the_usual_path() {
        let mut q = EventQueue::new();
        let lanes: Vec<Option<Lane>> = (0..10).map(|_| q.lane()).collect();
        assert_eq!(lanes.iter().filter(|l| l.is_some()).count(), MAX_LANES - 2);
        // Each stream in time order, the streams interleaved, some without a lane.
        for i in 0..50u64 {
            for (k, lane) in lanes.iter().enumerate() {
                q.push_in(*lane, SimTime(i * 10 + k as u64 % 3), (i, k));
            }
        }
        let popped: Vec<(u64, (u64, usize))> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.0, e))).collect();
        let mut expected = popped.clone();
        expected.sort_by_key(|&(t, (i, k))| (t, i, k));
        assert_eq!(popped, expected);
        assert_eq!(popped.len(), 500);
    }

    #[test]
    fn pushes_into_the_past_still_pop_in_order() {
        // The model never schedules in the past, but the queue stays correct if it does.
        let mut q = EventQueue::new();
        q.push(SimTime(100), 0);
        assert_eq!(q.pop(), Some((SimTime(100), 0)));
        q.push(SimTime(50), 1);
        q.push(SimTime(100), 2);
        q.push(SimTime(40), 3);
        let order: Vec<i32> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec![3, 1, 2]);
    }
}
