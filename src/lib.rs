//! e173gw: a SIP to GSM-modem call-routing gateway for Huawei E173-class USB dongles.
//!
//! This package is the composition root: it reads configuration files, starts the
//! actors of [`e173gw_actors`] and wires them together. The rules themselves live in
//! [`e173gw_core`]; the actors only move messages and hold state.
//!
//! # Layout
//!
//! - [`settings`]: read the config file, environment overrides and modem profiles from
//!   disk, and check everything before start (`e173gw check-config`).
//! - [`adapters`]: storage adapters (SQLite; PostgreSQL and Redis) behind the core ports.
//! - [`logging`]: tracing output, human or JSON.
//! - [`app`]: start the gateway (and the in-process simulator for the demo), wait for
//!   SIGINT/SIGTERM, hang up calls in progress, stop.
//! - [`http`]: the operations HTTP server (`/metrics`, `/healthz`).
//! - [`storage`]: opening the configured storage (embedded, or PostgreSQL + Redis).
//! - [`sim_cmd`]: `e173gw sim`, the pty modem simulator on its own.

pub mod adapters;
pub mod app;
pub mod check_number;
pub mod http;
pub mod logging;
pub mod ops_cmd;
pub mod providers;
pub mod reload;
pub mod settings;
pub mod sim_cmd;
pub mod storage;
