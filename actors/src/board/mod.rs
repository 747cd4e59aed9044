//! The call board: the calls in progress and their current state, and the call ladders
//! (SIP messages and AT lines on one timeline) of live, recent and traced calls, for
//! operations. Calls and modems tell it what happens (a `do_send` each, never waited
//! on); the operations API reads it.

mod ladders;

use std::collections::BTreeMap;

use actix::prelude::*;
use serde::Serialize;

use e173gw_core::call::ladder::{Ladder, Step};

pub use ladders::{Ladders, TRACED_KEEP};

/// A call in progress as operations see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveCall {
    /// The SIP Call-ID.
    pub call_id: String,
    /// The trunk it came in on.
    pub trunk: String,
    /// Calling number.
    pub caller: String,
    /// Called number.
    pub callee: String,
    /// When the INVITE arrived (Unix ms).
    pub received_ms: u64,
    /// Current state (`screening`, `routing`, `connecting`, `early`, `answered`,
    /// `confirmed`, `ending`).
    pub state: &'static str,
    /// Since when (Unix ms).
    pub state_since_ms: u64,
    /// The modem it is on, once one is leased.
    pub modem: Option<String>,
}

/// What a call tells the board.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub enum BoardEvent {
    /// A call started (`key` is the ingress's call key).
    Started(u64, ActiveCall),
    /// Its state changed (and, with `modem`, the modem it is on).
    State {
        /// The call.
        key: u64,
        /// The new state.
        state: &'static str,
        /// The modem, when it changed.
        modem: Option<String>,
        /// When (Unix ms).
        at_ms: u64,
    },
    /// It ended.
    Ended(u64),
    /// A SIP message or AT line of call `call_id` (its SIP Call-ID).
    Step {
        /// The call.
        call_id: String,
        /// What happened.
        step: Step,
    },
}

/// A call's ladder, if it is kept.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Option<Ladder>")]
pub struct GetLadder(pub String);

/// Trace a number's calls (keep their ladders), or stop; answers whether it changed.
#[derive(Message, Debug, Clone)]
#[rtype(result = "bool")]
pub struct Trace {
    /// The number, as calls carry it.
    pub number: String,
    /// On or off.
    pub on: bool,
}

/// The numbers traced.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<String>")]
pub struct ListTraced;

/// The calls in progress, oldest first.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<ActiveCall>")]
pub struct ListCalls;

/// The board actor.
#[derive(Debug, Default)]
pub struct CallBoard {
    calls: BTreeMap<u64, ActiveCall>,
    ladders: Ladders,
}

impl CallBoard {
    /// A board keeping the ladders of the last `keep` calls (0: traced numbers' only).
    pub fn new(keep: usize) -> Self {
        Self {
            calls: BTreeMap::new(),
            ladders: Ladders::new(keep),
        }
    }

    /// Applies one event.
    fn apply(&mut self, ev: BoardEvent) {
        match ev {
            BoardEvent::Started(key, call) => {
                self.ladders
                    .start(&call.call_id, &call.caller, &call.callee);
                self.calls.insert(key, call);
            }
            BoardEvent::Step { call_id, step } => self.ladders.step(&call_id, step),
            BoardEvent::State {
                key,
                state,
                modem,
                at_ms,
            } => {
                if let Some(c) = self.calls.get_mut(&key) {
                    if c.state != state {
                        c.state = state;
                        c.state_since_ms = at_ms;
                    }
                    if let Some(m) = modem {
                        self.ladders.modem(&c.call_id, &m);
                        c.modem = Some(m);
                    }
                }
            }
            BoardEvent::Ended(key) => {
                if let Some(c) = self.calls.remove(&key) {
                    self.ladders.end(&c.call_id);
                }
            }
        }
    }

    fn list(&self) -> Vec<ActiveCall> {
        let mut v: Vec<ActiveCall> = self.calls.values().cloned().collect();
        v.sort_by_key(|c| c.received_ms);
        v
    }
}

impl Actor for CallBoard {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(100_000);
    }
}

impl Handler<BoardEvent> for CallBoard {
    type Result = ();

    fn handle(&mut self, ev: BoardEvent, _: &mut Context<Self>) {
        self.apply(ev);
    }
}

impl Handler<GetLadder> for CallBoard {
    type Result = Option<Ladder>;

    fn handle(&mut self, msg: GetLadder, _: &mut Context<Self>) -> Self::Result {
        self.ladders.get(&msg.0).cloned()
    }
}

impl Handler<Trace> for CallBoard {
    type Result = bool;

    fn handle(&mut self, msg: Trace, _: &mut Context<Self>) -> bool {
        self.ladders.trace(&msg.number, msg.on)
    }
}

impl Handler<ListTraced> for CallBoard {
    type Result = MessageResult<ListTraced>;

    fn handle(&mut self, _: ListTraced, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.ladders.traced())
    }
}

impl Handler<ListCalls> for CallBoard {
    type Result = MessageResult<ListCalls>;

    fn handle(&mut self, _: ListCalls, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.list())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, at: u64) -> ActiveCall {
        ActiveCall {
            call_id: id.into(),
            trunk: "t".into(),
            caller: "1".into(),
            callee: "2".into(),
            received_ms: at,
            state: "screening",
            state_since_ms: at,
            modem: None,
        }
    }

    #[test]
    fn follows_calls_from_start_to_end() {
        let mut b = CallBoard::default();
        b.apply(BoardEvent::Started(7, call("b", 20)));
        b.apply(BoardEvent::Started(3, call("a", 10)));
        b.apply(BoardEvent::State {
            key: 7,
            state: "connecting",
            modem: Some("modem1".into()),
            at_ms: 25,
        });
        b.apply(BoardEvent::State {
            key: 7,
            state: "early",
            modem: None,
            at_ms: 30,
        });
        // An event for a call the board never saw changes nothing.
        b.apply(BoardEvent::State {
            key: 99,
            state: "early",
            modem: None,
            at_ms: 30,
        });
        let l = b.list();
        assert_eq!(
            l.iter().map(|c| c.call_id.as_str()).collect::<Vec<_>>(),
            ["a", "b"],
            "oldest first"
        );
        assert_eq!(l[1].state, "early");
        assert_eq!(l[1].state_since_ms, 30);
        assert_eq!(l[1].modem.as_deref(), Some("modem1"), "the modem stays");
        b.apply(BoardEvent::Ended(3));
        b.apply(BoardEvent::Ended(3));
        assert_eq!(b.list().len(), 1);
    }
}
