//! The local gateway: this host's modems. It starts the configured modem actors, finds
//! devices by scanning (a glob over port paths, or the USB tree in sysfs), binds them by
//! IMEI wherever they appear (so a replug under another tty name keeps the modem's
//! identity), adopts unknown devices when allowed, and keeps a health view of all modems.
//! A remote gateway ([`PeerGateway`]) is a peer e173gw node, checked with SIP `OPTIONS`.

mod actor;
pub mod discovery;
mod peer;
mod probe;

pub use actor::{GatewaySpec, ListModems, LocalGateway, ScanNow, Shutdown, SubscribeModems};
pub use peer::PeerGateway;
pub use probe::{probe_imei, ProbeError};
