//! e173gw composition root.
