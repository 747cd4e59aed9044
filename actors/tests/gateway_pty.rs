//! End to end over ptys: the local gateway finds simulated modems by scanning, binds them
//! by IMEI, and keeps a modem's identity when it comes back under another tty name.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;

use e173gw_actors::gateway::{GatewaySpec, ListModems, LocalGateway, Shutdown};
use e173gw_actors::modem::{LinkState, ModemStatus};
use e173gw_actors::sim;
use e173gw_core::config::RecoveryConfig;
use e173gw_core::config::{DiscoveryConfig, DiscoveryMode};
use support::*;

fn gateway_for(dir: &std::path::Path, adopt: bool) -> GatewaySpec {
    let profile = fast_profile();
    let mut profiles = BTreeMap::new();
    profiles.insert("e173".to_string(), profile.clone());
    GatewaySpec {
        modems: Vec::new(),
        discovery: DiscoveryConfig {
            mode: DiscoveryMode::Glob,
            at_glob: format!("{}/*.at", dir.display()),
            scan_interval_ms: 300,
            adopt_unknown: adopt,
            ..DiscoveryConfig::default()
        },
        profiles,
        default_profile: profile,
        backoff: backoff(),
        inventory: None,
        quarantine: RecoveryConfig::default().quarantine(),
    }
}

async fn wait_modems(
    gw: &Addr<LocalGateway>,
    what: &str,
    pred: impl Fn(&[ModemStatus]) -> bool,
) -> Vec<ModemStatus> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let list = gw.send(ListModems).await.expect("gateway alive");
        if pred(&list) {
            return list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix::test]
async fn discovery_adopts_by_imei_and_survives_a_new_tty_name() {
    let (dir, sim) = start_sim(3, None).await;
    let gw = LocalGateway::new(gateway_for(dir.path(), true)).start();
    let list = wait_modems(&gw, "three modems ready", |l| {
        l.len() == 3 && l.iter().all(ModemStatus::is_available)
    })
    .await;
    let m1 = info(&sim, "modem1");
    let before = list
        .iter()
        .find(|s| s.id.as_str() == m1.imei)
        .expect("modem1 adopted under its IMEI")
        .clone();

    sim::control(dir.path(), "unplug modem1")
        .await
        .expect("unplug");
    wait_modems(&gw, "modem1 gone", |l| {
        l.iter()
            .any(|s| s.id == before.id && s.link != LinkState::Open)
    })
    .await;
    sim::control(dir.path(), "replug modem1 as usb7")
        .await
        .expect("replug");

    let list = wait_modems(&gw, "modem1 back on usb7", |l| {
        l.iter().any(|s| {
            s.id == before.id
                && s.is_available()
                && s.ports.as_ref().is_some_and(|p| p.at.ends_with("usb7.at"))
        })
    })
    .await;
    assert_eq!(list.len(), 3, "no duplicate modem was created: {list:#?}");
    let after = list.iter().find(|s| s.id == before.id).expect("same modem");
    assert_eq!(after.session.identity.imei, before.session.identity.imei);
    assert_eq!(after.session.identity.imsi, before.session.identity.imsi);
    assert_ne!(
        after.ports, before.ports,
        "the device came back under another port name"
    );
    gw.send(Shutdown {
        grace: Duration::from_secs(1),
    })
    .await
    .expect("shutdown");
    sim.stop().await;
}

#[actix::test]
async fn without_adoption_only_configured_imeis_are_used() {
    let (dir, sim) = start_sim(2, None).await;
    let m0 = info(&sim, "modem0");
    let mut spec = gateway_for(dir.path(), false);
    spec.modems.push(e173gw_actors::modem::ModemSpec {
        id: e173gw_core::domain::ModemId::parse("tim-1").expect("id"),
        profile: fast_profile(),
        ports: None,
        expect_imei: Some(e173gw_core::domain::Imei::parse(&m0.imei).expect("imei")),
        backoff: backoff(),
    });
    let gw = LocalGateway::new(spec).start();
    let list = wait_modems(&gw, "tim-1 bound", |l| {
        l.iter()
            .any(|s| s.id.as_str() == "tim-1" && s.is_available())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let list2 = gw.send(ListModems).await.expect("alive");
    assert_eq!(list.len(), 1);
    assert_eq!(
        list2.len(),
        1,
        "the unnamed modem was not adopted: {list2:#?}"
    );
    assert_eq!(
        list2[0].ports.as_ref().map(|p| p.at.clone()),
        Some(m0.at.clone())
    );
    sim.stop().await;
}
