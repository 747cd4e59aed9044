//! Actix actors of e173gw.
pub mod board;
pub mod call;
pub mod filter;
pub mod gateway;
pub mod ingress;
pub mod modem;
pub mod recorder;
pub mod routing;
pub mod sim;
pub mod sms;

/// Unix milliseconds now (0 before 1970: a clock that broken is not worth a panic).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
