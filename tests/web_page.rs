//! The modem health page in a real browser (headless Chromium): it shows the simulator's
//! modems, and a modem pulled out shows as unplugged on the next refresh. A screenshot of
//! the page is kept under `target/artifacts/` (or `$E173GW_ARTIFACTS`).

#![allow(clippy::disallowed_methods)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::gw::{Gateway, Options};
use common::root;

fn chromium() -> PathBuf {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !p.is_empty() {
                return PathBuf::from(p);
            }
        }
    }
    panic!("no Chromium: install Debian's chromium (scripts/test-env.sh does)");
}

/// Runs headless Chromium on `url` with `args`, letting the page's script run (its
/// fetches included); returns what it printed.
fn headless(url: &str, args: &[&str]) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=3000",
        ])
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Loads `url` and returns the DOM after its script ran.
fn dom(url: &str) -> String {
    headless(url, &["--dump-dom"])
}

/// The `data-state` of the card of modem `id`, if the page shows one.
fn card_state<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let at = dom.find(&format!("data-modem=\"{id}\""))?;
    let tag_end = at + dom[at..].find('>')?;
    let tag = &dom[at..tag_end];
    let s = tag.find("data-state=\"")? + "data-state=\"".len();
    let e = s + tag[s..].find('"')?;
    Some(&tag[s..e])
}

#[test]
fn the_page_shows_the_modems_and_an_unplugged_one() {
    let gw = Gateway::start(Options {
        modems: 2,
        ..Options::default()
    });
    let url = format!("http://{}/", gw.http);
    let status = gw.sim("status");
    let imei = |i: usize| {
        status["modems"][i]["imei"]
            .as_str()
            .expect("imei")
            .to_string()
    };
    let (m0, m1) = (imei(0), imei(1));

    // Both modems, available, with their signal.
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = dom(&url);
        if card_state(&page, &m0) == Some("available")
            && card_state(&page, &m1) == Some("available")
        {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "the modems are not shown available:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(page.contains(" dBm<"), "signal shown");
    assert!(page.contains("modems: 2 free of 2"), "summary");
    assert!(page.contains("updated "), "the script ran");

    // Pull modem 0 out: the page says so, and keeps the other one available.
    gw.sim("unplug modem0");
    let deadline = Instant::now() + Duration::from_secs(20);
    let page = loop {
        let page = dom(&url);
        if card_state(&page, &m0) == Some("unplugged") {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "the unplugged modem is not shown:\n{page}"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(card_state(&page, &m1), Some("available"));
    assert!(page.contains("modems: 1 free of 2"), "summary follows");
    // A reading shows in the modem's card and in the table: the other modem's only.
    assert_eq!(
        page.matches(" dBm<").count(),
        2,
        "no stale signal on the unplugged modem:\n{page}"
    );

    // The screenshot, kept as an artifact of the run.
    let dir = std::env::var_os("E173GW_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/artifacts"));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    let shot = dir.join("modem-page.png");
    let _ = std::fs::remove_file(&shot);
    let shot_arg = format!("--screenshot={}", shot.display());
    headless(
        &url,
        &["--hide-scrollbars", "--window-size=1280,900", &shot_arg],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    eprintln!("screenshot: {}", shot.display());
}
