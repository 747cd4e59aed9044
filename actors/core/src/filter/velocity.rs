//! Recent calls per caller and per trunk, in memory (placeholder).

/// Sliding windows of recent calls.
#[derive(Debug, Default)]
pub struct Velocity {}
