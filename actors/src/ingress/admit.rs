//! What the ingress does with a request that opened a server transaction.

use actix::prelude::*;
use e173gw_core::routing::node::NODE_VIEW_TYPE;
use tracing::{debug, info, warn};

use e173gw_core::config::sip::UnknownSource;
use e173gw_core::sip::build::{self, header};
use e173gw_core::sip::transaction::TxId;
use e173gw_core::sip::trunks::Admission;
use e173gw_core::sip::{headers, Header, Method, Peer, Request};

use e173gw_core::call::{Parties, Undialable};
use e173gw_core::record::CallStart;

use super::actor::{now, unix_ms, unix_now, SipIngress};

fn authorization(req: &Request) -> Option<&str> {
    req.headers.iter().find_map(|h| match h {
        Header::Authorization(a) => Some(a.value()),
        _ => None,
    })
}

impl SipIngress {
    pub(super) fn reply(
        &mut self,
        tx: TxId,
        req: &Request,
        code: u16,
        extra: Vec<Header>,
        ctx: &mut Context<Self>,
    ) {
        let tag = self.ids.tag();
        let mut resp = build::response(req, code, Some(&tag));
        for h in extra {
            resp.headers.push(h);
        }
        if let Err(e) = self.layer.respond(now(), tx, resp) {
            debug!(error = %e, "Reply not sent.");
        }
        self.flush(ctx);
    }

    /// A request that opened a new server transaction.
    pub(super) fn on_request(
        &mut self,
        tx: TxId,
        req: Request,
        from: Peer,
        ctx: &mut Context<Self>,
    ) {
        let in_dialog = headers::to_tag(&req.headers).is_some();
        if in_dialog || req.method == Method::Ack {
            let method = req.method;
            let copy = (method != Method::Ack).then(|| req.clone());
            if !self.route_in_dialog(tx, req, from) {
                if let Some(req) = copy {
                    self.reply(tx, &req, 481, vec![], ctx);
                }
            }
            return;
        }
        let Some(trunk) = self.trunks.match_source(from.addr.ip()) else {
            self.stats.unknown_source += 1;
            info!(source = %from, method = %req.method, "Request from an unknown source refused.");
            if self.unknown_source == UnknownSource::Reject {
                self.reply(tx, &req, 403, vec![], ctx);
            }
            return;
        };
        match req.method {
            Method::Invite => self.on_invite(tx, req, from, trunk, ctx),
            Method::Options => {
                let extra = vec![
                    header(
                        "Allow",
                        "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO, REGISTER, MESSAGE",
                    ),
                    header("Accept", "application/sdp"),
                ];
                if wants_node_view(&req) && self.trunks.is_peer(trunk) {
                    // A peer node's check: the answer carries this node's modems (only to
                    // a `peer` trunk: it names SIMs by IMSI).
                    let tag = self.ids.tag();
                    let mut resp = build::response(&req, 200, Some(&tag));
                    resp.headers.extend(extra);
                    let view = self.node_view.get();
                    build::set_body(
                        &mut resp.headers,
                        &mut resp.body,
                        NODE_VIEW_TYPE,
                        view.to_vec(),
                    );
                    if let Err(e) = self.layer.respond(now(), tx, resp) {
                        debug!(error = %e, "Reply not sent.");
                    }
                    self.flush(ctx);
                    return;
                }
                self.reply(tx, &req, 200, extra, ctx);
            }
            Method::Register => self.on_register(tx, req, trunk, ctx),
            Method::Message => self.on_message(tx, req, trunk, ctx),
            _ => self.reply(tx, &req, 481, vec![], ctx),
        }
    }

    pub(super) fn authenticate(
        &mut self,
        tx: TxId,
        req: &Request,
        trunk: usize,
        ctx: &mut Context<Self>,
    ) -> bool {
        let method = req.method.to_string();
        match self
            .trunks
            .authenticate(trunk, &method, authorization(req), unix_now())
        {
            Admission::Admit => true,
            Admission::Challenge(values) => {
                self.stats.challenged += 1;
                let extra = values
                    .into_iter()
                    .map(|v| header("WWW-Authenticate", v))
                    .collect();
                self.reply(tx, req, 401, extra, ctx);
                false
            }
            Admission::Forbidden(why) | Admission::Busy { reason: why, .. } => {
                self.stats.auth_failed += 1;
                info!(reason = why, "Trunk authentication failed.");
                self.reply(tx, req, 403, vec![], ctx);
                false
            }
        }
    }

    fn on_invite(
        &mut self,
        tx: TxId,
        req: Request,
        from: Peer,
        trunk: usize,
        ctx: &mut Context<Self>,
    ) {
        if !self.authenticate(tx, &req, trunk, ctx) {
            return;
        }
        // A call that cannot be dialled is refused before it takes anything.
        let parties = match Parties::from_invite(&req) {
            Ok(p) => p,
            Err(e) => {
                self.refuse_undialable(tx, &req, trunk, e, ctx);
                return;
            }
        };
        match self.trunks.admit_call(trunk, now()) {
            Admission::Admit => self.start_call(tx, req, from, trunk, parties),
            Admission::Busy {
                reason,
                retry_after,
            } => {
                self.stats.over_limit += 1;
                debug!(reason, "Call over the trunk's limits.");
                self.reply(
                    tx,
                    &req,
                    503,
                    vec![header("Retry-After", retry_after.to_string())],
                    ctx,
                );
            }
            Admission::Forbidden(_) | Admission::Challenge(_) => {
                self.reply(tx, &req, 403, vec![], ctx)
            }
        }
    }

    /// Answers an INVITE whose callee is not a number (404 or 484, per config) and writes
    /// its record.
    fn refuse_undialable(
        &mut self,
        tx: TxId,
        req: &Request,
        trunk: usize,
        e: Undialable,
        ctx: &mut Context<Self>,
    ) {
        self.stats.undialable += 1;
        let status = self.undialable_status;
        let call_id = headers::call_id(&req.headers).unwrap_or_default();
        info!(call_id, callee = %e.callee, status, "Callee is not a dialable number.");
        let record = CallStart {
            call_id: call_id.to_string(),
            trunk: self.trunks.describe(trunk).map(|d| d.0.to_string()),
            caller: e.caller.as_str().to_string(),
            callee: e.callee,
            received_ms: unix_ms(),
        }
        .refused(status);
        if let Err(err) = self.journal.records().record(record) {
            warn!(error = %err, "Record of a refused call not journaled.");
        }
        self.reply(tx, req, status, vec![], ctx);
    }

    fn on_register(&mut self, tx: TxId, req: Request, trunk: usize, ctx: &mut Context<Self>) {
        let registers = self.trunks.get(trunk).is_some_and(|t| t.cfg.register);
        if !registers {
            self.reply(tx, &req, 403, vec![], ctx);
            return;
        }
        if !self.authenticate(tx, &req, trunk, ctx) {
            return;
        }
        let requested = req
            .headers
            .iter()
            .find_map(|h| match h {
                Header::Expires(e) => e.value().trim().parse::<u32>().ok(),
                _ => None,
            })
            .unwrap_or(3600);
        let expires = requested.min(3600);
        let mut extra = vec![header("Expires", expires.to_string())];
        if let Some(c) = headers::contact_uri(&req.headers) {
            extra.push(header("Contact", format!("<{c}>;expires={expires}")));
        }
        info!(
            trunk = self.trunks.describe(trunk).map_or("?", |d| d.0),
            expires, "Trunk registered."
        );
        self.reply(tx, &req, 200, extra, ctx);
    }
}

/// Whether an `OPTIONS` asks for this node's modems (a peer node's check).
fn wants_node_view(req: &Request) -> bool {
    req.headers.iter().any(|h| {
        let text = h.to_string();
        text.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("Accept") && v.contains(NODE_VIEW_TYPE)
        })
    })
}
