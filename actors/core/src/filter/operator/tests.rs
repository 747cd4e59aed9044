//! Operator stage cases from `testdata/operator.toml`, and the full Brazil table when
//! it is beside the repository.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::*;
use crate::filter::tests::{req, screen};
use crate::filter::{Answer, Lookup, LookupFailure, Memory, Rules};

#[derive(Deserialize)]
struct Cases {
    table: String,
    aliases: BTreeMap<String, String>,
    split: Vec<Split>,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    callee: String,
    #[serde(default)]
    learned: Option<String>,
    #[serde(default)]
    portability: Option<String>,
    #[serde(default)]
    operator: Option<String>,
    finding: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    detail: Option<String>,
}

fn stage_rules(dir: &Path, cases: &Cases, portability: bool) -> std::sync::Arc<Rules> {
    std::fs::write(dir.join("t.txt"), &cases.table).expect("table");
    let cfg = OperatorConfig {
        files: vec!["t.txt".into()],
        aliases: cases.aliases.clone(),
        split: cases.split.clone(),
        portability: portability.then(|| HttpLookupConfig {
            url: "http://127.0.0.1:9/{digits}".into(),
            method: Default::default(),
            body: None,
            auth_header: None,
            auth_env: None,
            auth_prefix: String::new(),
            answer: "/operator".into(),
        }),
        ..OperatorConfig::default()
    };
    let fc = crate::config::filter::FilterConfig {
        stage: vec![crate::config::filter::StageConfig::Operator(cfg)],
        ..Default::default()
    };
    std::sync::Arc::new(Rules::check_and_build(&fc, dir, 1).expect("rules"))
}

#[test]
fn operator_cases() {
    let cases: Cases = toml::from_str(include_str!("../testdata/operator.toml")).expect("cases");
    let dir = tempdir();
    for c in &cases.case {
        let rules = stage_rules(&dir, &cases, c.portability.is_some());
        let mut mem = Memory::default();
        let r = req("", &c.callee, None);
        if let Some(l) = &c.learned {
            let e164 =
                crate::filter::numbers::parse(&c.callee, crate::filter::numbers::region("BR"))
                    .expect("parses")
                    .e164;
            mem.operators.learn(&e164, l, r.now_ms, 60_000);
        }
        let v = screen(&rules, &mut mem, r, |l| match (l, &c.portability) {
            (Lookup::Portability { .. }, Some(p)) => Answer::Portability {
                result: match p.as_str() {
                    "!" => Err(LookupFailure::Timeout),
                    "" => Ok(None),
                    name => Ok(Some(name.to_string())),
                },
                cached: false,
            },
            other => panic!("{}: unexpected lookup {other:?}", c.callee),
        });
        let t = &v.trace[0];
        assert_eq!(t.finding, c.finding, "{}: {t:?}", c.callee);
        assert_eq!(v.annotations.operator, c.operator, "{}", c.callee);
        assert_eq!(v.annotations.tags, c.tags, "{}", c.callee);
        if let Some(d) = &c.detail {
            assert_eq!(&t.detail, d, "{}", c.callee);
        }
        // What portability answered is learned for the next call.
        if let Some(p) = c
            .portability
            .as_deref()
            .filter(|p| !p.is_empty() && *p != "!")
        {
            let e164 = v.annotations.e164.clone().unwrap_or_else(|| {
                crate::filter::numbers::parse(&c.callee, crate::filter::numbers::region("BR"))
                    .map(|x| x.e164)
                    .unwrap_or_default()
            });
            assert_eq!(
                mem.operators.get(&e164, 1_790_000_000_001).as_deref(),
                c.operator.as_deref(),
                "{p}"
            );
        }
    }
}

#[test]
fn bad_tables_and_alias_loops_name_their_key() {
    let dir = tempdir();
    std::fs::write(dir.join("bad.txt"), "5511|A\n55x|B\n").expect("write");
    let cfg = OperatorConfig {
        files: vec!["bad.txt".into()],
        ..OperatorConfig::default()
    };
    let e = OperatorStage::build(cfg, &dir, "filter.stage[0]").expect_err("bad line");
    assert_eq!(e[0].key, "filter.stage[0].files[0]");
    assert!(e[0].message.contains("line 2"), "{e:?}");
    let mut loopy = OperatorConfig::default();
    loopy.aliases.insert("A".into(), "B".into());
    loopy.aliases.insert("B".into(), "A".into());
    let mut p = Vec::new();
    loopy.validate("k", &mut p);
    assert!(p.iter().any(|x| x.key == "k.aliases.A"), "{p:?}");
}

#[test]
fn learned_operators_expire_and_are_bounded() {
    let mut l = Learned::new(2);
    l.learn("+1", "A", 0, 100);
    l.learn("+2", "B", 0, 100);
    assert_eq!(l.get("+1", 99).as_deref(), Some("A"));
    assert_eq!(l.get("+1", 100), None);
    l.learn("+3", "C", 0, 100);
    assert_eq!(l.len(), 2);
    assert_eq!(l.get("+1", 1), None);
}

fn brazil() -> Option<PathBuf> {
    let p = std::env::var_os("E173GW_BRAZIL_CARRIER_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/libphonenumber-carrier-55.txt")
        });
    p.exists().then_some(p)
}

#[test]
fn the_full_brazil_table_loads_and_its_legacy_names_map_to_todays_operators() {
    let Some(path) = brazil() else {
        println!(
            "SKIPPED: the libphonenumber Brazil table is not here (set E173GW_BRAZIL_CARRIER_FILE \
             or put it at ../shared/data/libphonenumber-carrier-55.txt)"
        );
        return;
    };
    let cfg = OperatorConfig {
        files: vec![path.clone()],
        ..OperatorConfig::default()
    };
    let s = OperatorStage::build(cfg, Path::new("/"), "k").expect("the Brazil table loads");
    assert!(s.prefixes() > 9000, "{} prefixes", s.prefixes());
    let today = ["Vivo", "TIM", "Claro", "Oi"];
    for name in s.table.names() {
        assert!(
            today.contains(&s.today(name).as_str()),
            "{name} maps to {}",
            s.today(name)
        );
    }
    // Every prefix of the table resolves to itself.
    let text = std::fs::read_to_string(&path).expect("read");
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('|'))
    {
        let (prefix, _) = line.split_once('|').expect("pipe");
        let number = format!(
            "+{prefix}{}",
            "0".repeat(13usize.saturating_sub(prefix.len()))
        );
        let (p, _) = s.by_prefix(&number).expect("a prefix");
        assert!(
            prefix.starts_with(&p) || p.starts_with(prefix),
            "{prefix} -> {p}"
        );
        checked += 1;
    }
    assert!(checked > 9000);
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "e173gw-operator-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).expect("dir");
    d
}
