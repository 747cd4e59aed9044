//! The IO of handing a received SMS on: a SIP `MESSAGE` over UDP with its retransmissions,
//! and a signed webhook `POST`.

use std::time::Duration;

use tokio::net::UdpSocket;

use e173gw_core::config::sms::SmsConfig;
use e173gw_core::sms::delivery::{
    message_request, response_status, signature, MessageRequest, WebhookEvent,
};
use e173gw_core::sms::message::{SmsRecord, SmsState};

use super::actor::uuid_like;

/// Tries every target `rec` has not reached yet; returns it with `delivered_to`,
/// `attempts`, `error` and (when every target took it) `state` updated.
pub(super) async fn deliver(
    http: reqwest::Client,
    cfg: SmsConfig,
    mut rec: SmsRecord,
) -> SmsRecord {
    rec.attempts += 1;
    rec.updated_ms = crate::wall_ms();
    let mut errors = Vec::new();
    if !cfg.deliver_uri.is_empty() && !rec.delivered_to.iter().any(|t| t == "sip") {
        match sip_message(&cfg.deliver_uri, &rec).await {
            Ok(()) => rec.delivered_to.push("sip".into()),
            Err(e) => errors.push(format!("sip: {e}")),
        }
    }
    if !cfg.webhook_url.is_empty() && !rec.delivered_to.iter().any(|t| t == "webhook") {
        match webhook(&http, &cfg, "sms.received", &rec).await {
            Ok(()) => rec.delivered_to.push("webhook".into()),
            Err(e) => errors.push(format!("webhook: {e}")),
        }
    }
    if errors.is_empty() {
        rec.state = SmsState::Delivered;
        rec.error = None;
    } else {
        rec.error = Some(errors.join("; "));
    }
    rec
}

/// POSTs `rec` as JSON, signed when a secret is set. A 2xx answer is success.
pub(super) fn webhook(
    http: &reqwest::Client,
    cfg: &SmsConfig,
    event: &str,
    rec: &SmsRecord,
) -> impl std::future::Future<Output = Result<(), String>> + 'static {
    let body = serde_json::to_vec(&WebhookEvent { event, sms: rec }).unwrap_or_default();
    let mut req = http
        .post(cfg.webhook_url.clone())
        .header("Content-Type", "application/json")
        .header("X-E173gw-Event", event.to_string());
    if !cfg.webhook_secret.is_empty() {
        if let Some(sig) = signature(&cfg.webhook_secret, &body) {
            req = req.header("X-E173gw-Signature", sig);
        }
    }
    let req = req.body(body);
    async move {
        let resp = req.send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", resp.status()))
        }
    }
}

/// One `MESSAGE` transaction (RFC 3261 §17.1.2 timers E and F, over UDP): retransmitted
/// from 500 ms doubling to 4 s until a final answer, at most 32 s. 2xx is success.
async fn sip_message(target: &str, rec: &SmsRecord) -> Result<(), String> {
    let addr = e173gw_core::sip::headers::uri_target(target).ok_or("the target has no address")?;
    let bind: std::net::SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    sock.connect(addr).await.map_err(|e| e.to_string())?;
    let local = sock.local_addr().map_err(|e| e.to_string())?;
    let id = uuid_like();
    let call_id = format!("{id}@e173gw");
    let bytes = message_request(&MessageRequest {
        target,
        from_number: &rec.number,
        local,
        call_id: &call_id,
        branch: &id.replace('-', ""),
        tag: &id.replace('-', ""),
        modem: rec.modem.as_deref().unwrap_or(""),
        text: &rec.text,
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(32);
    let mut interval = Duration::from_millis(500);
    let mut buf = vec![0u8; 65_535];
    let mut provisional = false;
    loop {
        if !provisional {
            sock.send(&bytes).await.map_err(|e| e.to_string())?;
        }
        let wait = tokio::time::sleep(interval);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                _ = &mut wait => break,
                r = sock.recv(&mut buf) => {
                    let n = match r {
                        Ok(n) => n,
                        // ICMP port unreachable: nobody listens there.
                        Err(e) => return Err(e.to_string()),
                    };
                    match response_status(&buf[..n], &call_id) {
                        Some(s) if s < 200 => provisional = true,
                        Some(s) if s < 300 => return Ok(()),
                        Some(s) => return Err(format!("answered {s}")),
                        None => {}
                    }
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err("no answer (timer F)".into());
        }
        interval = (interval * 2).min(Duration::from_secs(4));
    }
}
