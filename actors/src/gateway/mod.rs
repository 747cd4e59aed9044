//! The local gateway: this host's modems. It starts the configured modem actors, finds
//! devices by scanning (a glob over port paths, or the USB tree in sysfs), binds them by
//! IMEI wherever they appear (so a replug under another tty name keeps the modem's
//! identity), adopts unknown devices when allowed, and keeps a health view of all modems.

mod actor;
pub mod discovery;
mod probe;

pub use actor::{GatewaySpec, ListModems, LocalGateway, ScanNow, Shutdown, SubscribeModems};
pub use probe::{probe_imei, ProbeError};
