//! Loading everything the gateway needs from disk, with every problem reported at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use e173gw_core::config::env::{Applied, EnvSource};
use e173gw_core::config::profile::ModemProfile;
use e173gw_core::config::{load, Config, Problem, Problems};
use e173gw_core::filter::Rules;

/// A checked configuration with its profiles.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration.
    pub config: Config,
    /// The file it came from.
    pub path: PathBuf,
    /// The directory relative paths in it are taken from.
    pub base_dir: PathBuf,
    /// Every profile found, by name.
    pub profiles: BTreeMap<String, Arc<ModemProfile>>,
    /// Environment overrides applied.
    pub overrides: Vec<Applied>,
    /// The screening rules built from `[filter]` and the files it names.
    pub rules: Arc<Rules>,
}

impl Settings {
    /// A path from the config, made absolute against the config file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        resolve(&self.base_dir, p)
    }

    /// The profile a device uses.
    pub fn profile(&self, name: Option<&str>) -> Option<Arc<ModemProfile>> {
        self.profiles
            .get(name.unwrap_or(&self.config.modems.default_profile))
            .cloned()
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Reads and checks `path`, the profiles it refers to and the environment overrides.
pub fn load(path: &Path, env: &dyn EnvSource) -> Result<Settings, Problems> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem::new(
            &shown,
            format!("cannot read the config file: {e}"),
        )])
    })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    let (loaded, mut problems) = load::parse_partial(&text, &shown, env);
    let Some(loaded) = loaded else {
        return Err(Problems(problems));
    };
    let config = loaded.config;
    let profiles_dir = resolve(&base_dir, &config.modems.profiles_dir);
    let profiles = load_profiles(&profiles_dir, &mut problems);
    for (key, name) in config.profile_refs() {
        if !profiles.contains_key(&name) {
            problems.push(Problem::new(
                key,
                format!("no profile {name:?} in {}", profiles_dir.display()),
            ));
        }
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        problems.push(Problem::new(
            "log.level",
            format!("not a valid filter: {e}"),
        ));
    }
    let rules = if problems.iter().any(|p| p.key.starts_with("filter")) {
        None
    } else {
        match Rules::build(&config.filter, &base_dir, 1) {
            Ok(r) => Some(Arc::new(r)),
            Err(p) => {
                problems.extend(p);
                None
            }
        }
    };
    if let (true, Some(rules)) = (problems.is_empty(), rules) {
        Ok(Settings {
            rules,
            config,
            path: path.to_path_buf(),
            base_dir,
            profiles,
            overrides: loaded.overrides,
        })
    } else {
        Err(Problems(problems))
    }
}

fn load_profiles(dir: &Path, problems: &mut Vec<Problem>) -> BTreeMap<String, Arc<ModemProfile>> {
    let mut out = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(Problem::new(
                "modems.profiles_dir",
                format!("cannot read {}: {e}", dir.display()),
            ));
            return out;
        }
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for file in files {
        let Some(name) = file
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => match ModemProfile::parse(&text, &name) {
                Ok(p) => {
                    out.insert(name, Arc::new(p));
                }
                Err(Problems(p)) => problems.extend(p),
            },
            Err(e) => problems.push(Problem::new(
                format!("profile {name}"),
                format!("cannot read {}: {e}", file.display()),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn the_filter_examples_in_the_default_config_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let text = std::fs::read_to_string(root.join("default.toml")).expect("default.toml");
        let start = text.find("[filter]").expect("a [filter] section");
        let mut body = String::from("[filter]\n");
        let mut stages = 0;
        for line in text[start..].lines().skip(1) {
            if let Some(rest) = line.strip_prefix("# ") {
                // Commented settings of the example stages (prose lines are not TOML).
                if rest.starts_with("[[filter.stage]]") {
                    stages += 1;
                }
                if stages > 0 && !rest.starts_with('#') && !rest.trim().is_empty() {
                    body.push_str(rest);
                    body.push('\n');
                }
            }
        }
        assert_eq!(stages, 5, "one example per stage kind");
        #[derive(serde::Deserialize)]
        struct W {
            filter: e173gw_core::config::filter::FilterConfig,
        }
        let w: W = toml::from_str(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        let rules = Rules::check_and_build(&w.filter, &root, 1).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(rules.stages.len(), 5);
    }

    #[test]
    fn the_routing_examples_in_the_default_config_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let text = std::fs::read_to_string(root.join("default.toml")).expect("default.toml");
        let start = text.find("\n[routing]").expect("a [routing] section");
        let end = text
            .find("\n# Peer e173gw nodes")
            .expect("the [[peer]] example");
        // Every commented setting and table header, uncommented (prose lines are not TOML).
        let setting = |l: &str| {
            l.starts_with("[routing")
                || l.split_once(" = ").is_some_and(|(k, _)| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                })
        };
        let body: String = text[start..end]
            .lines()
            .filter_map(|l| match l.strip_prefix("# ") {
                Some(rest) if setting(rest) => Some(rest),
                Some(_) => None,
                None => Some(l),
            })
            .map(|l| format!("{l}\n"))
            .collect();
        #[derive(serde::Deserialize)]
        struct W {
            routing: e173gw_core::config::routing::RoutingConfig,
        }
        let w: W = toml::from_str(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        let r = w.routing;
        assert_eq!(r.validate(true), Vec::new(), "{body}");
        assert_eq!(r.sim_operator.len(), 4);
        assert_eq!(r.weight.get("modem0"), Some(&2));
        let l = r.limits.for_sim("m", Some("724020001000000"), Some("TIM"));
        assert_eq!(
            (l.calls_per_day, l.minutes_per_day, l.max_call_s),
            (Some(100), Some(60), Some(1800))
        );
        assert_eq!(r.protection.unanswered_streak, Some(5));
    }

    #[test]
    fn shipped_configs_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for f in [
            "config/default.toml",
            "config/demo.toml",
            "config/production.example.toml",
        ] {
            let s = load(&root.join(f), &env()).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(s.profiles.contains_key("e173"), "{f}");
        }
    }

    #[test]
    fn missing_file_and_profile_are_reported() {
        let err = load(Path::new("/nonexistent/gw.toml"), &env()).unwrap_err();
        assert_eq!(err.0[0].key, "/nonexistent/gw.toml");
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("gw.toml");
        std::fs::create_dir(dir.path().join("profiles")).unwrap();
        std::fs::write(
            &cfg,
            "[log]\nlevel = \"info,[\"\n[modems]\nprofiles_dir = \"profiles\"\ndefault_profile = \"nope\"\n",
        )
        .unwrap();
        let err = load(&cfg, &env()).unwrap_err();
        let keys: Vec<_> = err.0.iter().map(|p| p.key.as_str()).collect();
        assert!(keys.contains(&"modems.default_profile"), "{err}");
        assert!(keys.contains(&"log.level"), "{err}");
    }
}
