//! Configuration of the modem simulator (`[sim]`), and its call scenarios.

use serde::{Deserialize, Serialize};

/// `[sim]`: the in-process simulator. Placeholder until the simulator lands.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Start the simulator inside `e173gw run`.
    pub enabled: bool,
}
