//! Live tuning: the `[filter]` section (and the files it names) is read again when one of
//! them changes and on SIGHUP. The new rules are parsed and validated first and swapped in
//! whole; calls being screened keep the rules they started with; a bad edit is refused
//! with a log line per problem, naming its key, and the old rules stay. The `[routing]`
//! section is sent to the router the same way when it changed: calls in progress keep
//! their leases, the next decision uses the new rules.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use actix::prelude::*;
use tokio::sync::oneshot;
use tracing::{info, warn};

use e173gw_actors::filter::{FilterActor, ReloadRefused, SwapRules};
use e173gw_actors::routing::SetRouting;
use e173gw_core::config::env::EnvSource;
use e173gw_core::config::filter::FilterConfig;
use e173gw_core::config::routing::RoutingConfig;

use crate::settings::{self, Settings};

/// How often the watched files are looked at.
const POLL: Duration = Duration::from_millis(500);

/// Size and modification time of a file (`None`: missing).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(p: &Path) -> Stamp {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The config file and every file its filter stages read.
fn watched(path: &Path, base: &Path, f: &FilterConfig) -> Vec<(PathBuf, Stamp)> {
    std::iter::once(path.to_path_buf())
        .chain(f.files().into_iter().map(|p| base.join(p)))
        .map(|p| {
            let s = stamp(&p);
            (p, s)
        })
        .collect()
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// New rules are in force, with this version.
    Swapped(u64),
    /// The edit was refused; each problem as `key: message`.
    Refused(Vec<String>),
}

/// Watches the files and reloads the filter rules.
pub struct Reloader {
    path: PathBuf,
    base: PathBuf,
    filter: Addr<FilterActor>,
    router: Recipient<SetRouting>,
    /// The `[routing]` section in force.
    routing: RoutingConfig,
    env: Box<dyn EnvSource + Send>,
    version: u64,
    files: Vec<(PathBuf, Stamp)>,
    /// The providers' settings in force ([`crate::app::lookups_key`]).
    lookups_key: String,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("path", &self.path)
            .field("version", &self.version)
            .finish()
    }
}

impl Reloader {
    /// A reloader for the running `settings`.
    pub fn new(
        s: &Settings,
        filter: Addr<FilterActor>,
        router: Recipient<SetRouting>,
        env: Box<dyn EnvSource + Send>,
    ) -> Self {
        Self {
            router,
            routing: s.config.routing.clone(),
            files: watched(&s.path, &s.base_dir, &s.config.filter),
            path: s.path.clone(),
            base: s.base_dir.clone(),
            filter,
            env,
            version: s.rules.version,
            lookups_key: crate::app::lookups_key(&s.rules),
        }
    }

    /// Reads the config again and swaps the filter rules when it is good.
    pub fn reload(&mut self, why: &str) -> Reloaded {
        let loaded = settings::load(&self.path, &*self.env);
        match loaded {
            Ok(mut s) => {
                self.files = watched(&self.path, &self.base, &s.config.filter);
                if s.config.routing != self.routing {
                    self.routing = s.config.routing.clone();
                    info!(why, "Routing rules reloaded.");
                    self.router.do_send(SetRouting(self.routing.clone()));
                }
                let key = crate::app::lookups_key(&s.rules);
                let lookups = if key == self.lookups_key {
                    None
                } else {
                    match crate::app::lookups(&s.rules) {
                        Ok(l) => Some(l),
                        Err(e) => {
                            warn!(error = %e, why, "Config edit refused; the old filter rules stay.");
                            self.filter.do_send(ReloadRefused);
                            return Reloaded::Refused(vec![e.to_string()]);
                        }
                    }
                };
                self.lookups_key = key;
                self.version += 1;
                let version = self.version;
                let rules = match Arc::get_mut(&mut s.rules) {
                    Some(r) => {
                        r.version = version;
                        s.rules
                    }
                    None => s.rules,
                };
                info!(
                    why,
                    version,
                    stages = rules.stages.len(),
                    "Filter rules reloaded."
                );
                self.filter.do_send(SwapRules(rules, lookups));
                Reloaded::Swapped(version)
            }
            Err(problems) => {
                self.files = watched(&self.path, &self.base, &self.current_filter());
                for p in &problems.0 {
                    warn!(key = %p.key, problem = %p.message, why, "Config edit refused; the old filter rules stay.");
                }
                self.filter.do_send(ReloadRefused);
                Reloaded::Refused(problems.0.iter().map(ToString::to_string).collect())
            }
        }
    }

    /// The filter section as the file says now, when it parses (for the watch list).
    fn current_filter(&self) -> FilterConfig {
        std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| toml::from_str::<toml::Table>(&t).ok())
            .and_then(|t| t.get("filter").cloned())
            .and_then(|v| v.try_into().ok())
            .unwrap_or_default()
    }

    fn changed(&self) -> bool {
        self.files.iter().any(|(p, s)| stamp(p) != *s)
    }

    /// Reloads on a blocking thread: reading and checking the files (a large blacklist or
    /// prefix table) must not hold up the router and the filter on this thread.
    /// `None` if that thread failed.
    async fn reload_aside(self, why: &'static str) -> Option<(Self, Reloaded)> {
        let done = tokio::task::spawn_blocking(move || {
            let mut me = self;
            let r = me.reload(why);
            (me, r)
        })
        .await;
        match done {
            Ok(me) => Some(me),
            Err(e) => {
                warn!(error = %e, "Config reload failed; reloads stop until the next start.");
                None
            }
        }
    }

    /// Runs until the system stops: a reload on every change, on SIGHUP and on request
    /// through the handle it returns.
    pub fn spawn(self) -> ReloadHandle {
        let (tx, mut asks) = tokio::sync::mpsc::channel::<oneshot::Sender<Reloaded>>(8);
        actix::spawn(async move {
            let mut hup =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                    Ok(h) => Some(h),
                    Err(e) => {
                        warn!(error = %e, "No SIGHUP handler; reloads follow file changes only.");
                        None
                    }
                };
            let mut me = self;
            loop {
                let hup_recv = async {
                    match &mut hup {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                };
                let mut reply = None;
                let why = tokio::select! {
                    _ = hup_recv => "SIGHUP",
                    Some(r) = asks.recv() => {
                        reply = Some(r);
                        "API request"
                    }
                    () = tokio::time::sleep(POLL) => {
                        if !me.changed() {
                            continue;
                        }
                        // Let an editor finish writing before reading.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        "file changed"
                    }
                };
                match me.reload_aside(why).await {
                    Some((next, done)) => {
                        me = next;
                        if let Some(r) = reply {
                            // The asker may have gone; the reload happened anyway.
                            let _ = r.send(done);
                        }
                    }
                    None => return,
                }
            }
        });
        ReloadHandle(tx)
    }
}

/// Asks the running reloader for a reload now.
#[derive(Debug, Clone)]
pub struct ReloadHandle(tokio::sync::mpsc::Sender<oneshot::Sender<Reloaded>>);

impl ReloadHandle {
    /// Reloads and answers what happened; `None` if the reloader has stopped.
    pub async fn reload(&self) -> Option<Reloaded> {
        let (tx, rx) = oneshot::channel();
        self.0.send(tx).await.ok()?;
        rx.await.ok()
    }
}
