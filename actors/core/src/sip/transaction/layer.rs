//! The [`TransactionLayer`] value: transactions, indexes, the timer heap, the output
//! queue and the counters. The state machines live in `server` and `client`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use super::client::ClientTx;
use super::key::{AckKey, ClientKey, ServerKey};
use super::server::ServerTx;
use super::{Output, Timers, TuEvent, TxCounts, TxId};
use crate::sip::Peer;

/// Which of a transaction's two timers an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Slot {
    /// Retransmission: Timers A, E, G and the 2xx retransmission.
    Retransmit = 0,
    /// End of a state: Timers B, D, F, H, I, J, K, L, M and the CANCEL guard.
    Lifetime = 1,
}

/// Which side a timer entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Side {
    /// In `servers`.
    Server,
    /// In `clients`.
    Client,
}

/// One scheduled timer. Ordered by deadline, then by transaction (ids only grow, so
/// the order is deterministic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: Instant,
    tx: TxId,
    side: Side,
    slot: Slot,
    gen: u32,
}

/// Timers of all transactions; an entry is live while its generation equals the one its
/// transaction holds for that slot, so cancelling is bumping a counter.
#[derive(Debug, Default)]
pub(super) struct TimerHeap {
    heap: BinaryHeap<Reverse<Entry>>,
}

/// The per-transaction generation counters of both slots.
pub(super) type Gens = [u32; 2];

impl TimerHeap {
    fn with_capacity(n: usize) -> Self {
        Self {
            heap: BinaryHeap::with_capacity(n),
        }
    }

    /// Arms `slot` of a transaction at `at`, replacing what was armed there.
    pub(super) fn arm(&mut self, gens: &mut Gens, tx: TxId, side: Side, slot: Slot, at: Instant) {
        let g = &mut gens[slot as usize];
        *g = g.wrapping_add(1);
        self.heap.push(Reverse(Entry {
            at,
            tx,
            side,
            slot,
            gen: *g,
        }));
    }

    /// Disarms `slot` of a transaction.
    pub(super) fn cancel(gens: &mut Gens, slot: Slot) {
        let g = &mut gens[slot as usize];
        *g = g.wrapping_add(1);
    }
}

/// Hashes transaction ids, which the layer makes itself (sequential, never from the
/// network): one multiplication instead of SipHash.
#[derive(Debug, Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Room made at start for this many live transactions of each side.
///
/// A finished transaction lives on for its retransmission timers (32 s for a server
/// transaction over UDP), so at 2,000 calls/s some 130,000 server and 75,000 client
/// transactions are alive at once. Growing a map of that size rehashes and moves every
/// entry in one go: a stall of tens of milliseconds for every call in flight. Reserved up
/// front, the maps' memory is address space until it is used.
const RESERVED: usize = 1 << 18;

/// A map keyed by transaction id.
pub(super) type IdMap<V> = HashMap<TxId, V, BuildHasherDefault<IdHasher>>;

/// Every client and server transaction of the gateway, sans-IO.
///
/// Feed it checked messages and time, drain [`TransactionLayer::poll_output`] after every
/// call, and call [`TransactionLayer::on_timer`] at [`TransactionLayer::next_deadline`].
#[derive(Debug)]
pub struct TransactionLayer {
    pub(super) timers: Timers,
    next_id: u64,
    pub(super) servers: IdMap<ServerTx>,
    pub(super) clients: IdMap<ClientTx>,
    pub(super) server_index: HashMap<ServerKey, TxId>,
    pub(super) client_index: HashMap<ClientKey, TxId>,
    /// Accepted INVITE server transactions by Call-ID, From tag and CSeq number.
    pub(super) accepted: HashMap<AckKey, TxId>,
    pub(super) heap: TimerHeap,
    out: VecDeque<Output>,
    pub(super) stats: TxCounts,
    /// `Server` / `User-Agent` value for what the layer sends (`None`: neither).
    pub(super) product: Option<String>,
}

impl TransactionLayer {
    /// An empty layer with these timers. T1 below 1 ms is raised to 1 ms and T2 below T1
    /// to T1, so that no retransmission interval is zero.
    pub fn new(timers: Timers) -> Self {
        let t1 = timers.t1.max(Duration::from_millis(1));
        let timers = Timers {
            t1,
            t2: timers.t2.max(t1),
            t4: timers.t4,
        };
        Self {
            timers,
            next_id: 0,
            servers: IdMap::with_capacity_and_hasher(RESERVED, Default::default()),
            clients: IdMap::with_capacity_and_hasher(RESERVED / 2, Default::default()),
            server_index: HashMap::with_capacity(RESERVED),
            client_index: HashMap::with_capacity(RESERVED / 2),
            accepted: HashMap::with_capacity(RESERVED / 2),
            heap: TimerHeap::with_capacity(RESERVED * 2),
            out: VecDeque::new(),
            stats: TxCounts::default(),
            product: None,
        }
    }

    /// Names the product in every message the layer sends (`Server` on responses,
    /// `User-Agent` on requests) that has no such header of its own; `None` names nothing.
    pub fn with_product(mut self, product: Option<String>) -> Self {
        self.product = product.filter(|p| !p.is_empty());
        self
    }

    /// The timers this layer runs with.
    pub fn timers(&self) -> Timers {
        self.timers
    }

    /// The next thing to send or tell the transaction user, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When [`TransactionLayer::on_timer`] has work next (`None`: no timer armed).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Fires every timer due at `now`.
    pub fn on_timer(&mut self, now: Instant) {
        while let Some(Reverse(e)) = self.heap.heap.peek().copied() {
            if e.at > now {
                break;
            }
            self.heap.heap.pop();
            if self.is_live(&e) {
                match e.side {
                    Side::Server => self.server_timer(now, e.tx, e.slot),
                    Side::Client => self.client_timer(now, e.tx, e.slot),
                }
            }
        }
        self.prune();
    }

    /// Live transactions and counters.
    pub fn counts(&self) -> TxCounts {
        TxCounts {
            server: self.servers.len(),
            client: self.clients.len(),
            ..self.stats
        }
    }

    fn is_live(&self, e: &Entry) -> bool {
        let gens = match e.side {
            Side::Server => self.servers.get(&e.tx).map(|t| t.gens),
            Side::Client => self.clients.get(&e.tx).map(|t| t.gens),
        };
        gens.is_some_and(|g| g[e.slot as usize] == e.gen)
    }

    /// Drops cancelled entries from the top of the heap, so that `next_deadline` names a
    /// live timer.
    pub(super) fn prune(&mut self) {
        while let Some(Reverse(e)) = self.heap.heap.peek() {
            if self.is_live(e) {
                break;
            }
            self.heap.heap.pop();
        }
    }

    /// A fresh transaction id.
    pub(super) fn alloc_id(&mut self) -> TxId {
        self.next_id += 1;
        TxId(self.next_id)
    }

    /// Queues bytes to send.
    pub(super) fn send(&mut self, to: Peer, bytes: Vec<u8>) {
        self.out.push_back(Output::Send { to, bytes });
    }

    /// Queues an event for the transaction user.
    pub(super) fn emit(&mut self, ev: TuEvent) {
        self.out.push_back(Output::Event(ev));
    }

    /// A deadline `d` after `now`.
    pub(super) fn after(now: Instant, d: Duration) -> Instant {
        now.checked_add(d).unwrap_or(now)
    }

    /// Entries in the timer heap, live or cancelled (for tests of lazy cancellation).
    #[cfg(test)]
    pub(super) fn heap_len(&self) -> usize {
        self.heap.heap.len()
    }
}

impl Default for TransactionLayer {
    fn default() -> Self {
        Self::new(Timers::default())
    }
}
