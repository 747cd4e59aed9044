//! From TOML text and an environment to a validated [`Config`], collecting every problem.

use toml::Value;

use super::env::{self, Applied, EnvSource};
use super::{Config, Problem, Problems};

/// A loaded configuration and the environment overrides that shaped it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Overrides applied, for the start-up log.
    pub overrides: Vec<Applied>,
}

/// Parses `text` (the contents of `source`, for messages), applies environment overrides,
/// deserializes strictly and validates. Every problem found is returned, each naming its key.
pub fn parse(text: &str, source: &str, env: &dyn EnvSource) -> Result<Loaded, Problems> {
    match parse_partial(text, source, env) {
        (Some(loaded), problems) if problems.is_empty() => Ok(loaded),
        (_, problems) => Err(Problems(problems)),
    }
}

/// Like [`parse`], but also returns the configuration when it has problems (with the bad
/// keys at their defaults), so callers can go on checking what depends on it (profiles).
/// `None` when the text is not TOML or a required key is missing.
pub fn parse_partial(
    text: &str,
    source: &str,
    env: &dyn EnvSource,
) -> (Option<Loaded>, Vec<Problem>) {
    let mut root: Value = match toml::from_str::<toml::Table>(text) {
        Ok(t) => Value::Table(t),
        Err(e) => {
            return (
                None,
                vec![Problem::new(
                    source,
                    format!("not valid TOML: {}", e.message().trim()),
                )],
            );
        }
    };
    let (overrides, mut problems) = env::apply(&mut root, env);
    let config: Option<Config> = deserialize_collecting(root, &mut problems);
    if let Some(c) = &config {
        problems.extend(c.validate());
    }
    (config.map(|config| Loaded { config, overrides }), problems)
}

/// Deserializes into [`Config`]; on an error, records it, removes the offending key and
/// tries again, so one run reports every unknown key and bad value.
pub fn deserialize_collecting<T: serde::de::DeserializeOwned>(
    mut root: Value,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    for _ in 0..64 {
        match serde_path_to_error::deserialize::<_, T>(root.clone()) {
            Ok(c) => return Some(c),
            Err(e) => {
                let path = e.path().to_string();
                let message = e.inner().to_string();
                let message = message.lines().next().unwrap_or_default().to_string();
                let key = if path == "." { String::new() } else { path };
                if let Some(field) = message
                    .strip_prefix("missing field `")
                    .and_then(|r| r.split('`').next())
                {
                    // A required field is absent (perhaps because we removed its bad value):
                    // drop the whole enclosing table or array so other sections are checked.
                    let child = if key.is_empty() {
                        field.to_string()
                    } else {
                        format!("{key}.{field}")
                    };
                    if !problems.iter().any(|p| p.key == child) {
                        problems.push(Problem::new(
                            child,
                            format!("missing required field `{field}`"),
                        ));
                    }
                    let container = key.split('[').next().unwrap_or_default().to_string();
                    if container.is_empty() || !remove(&mut root, &container) {
                        return None;
                    }
                    continue;
                }
                let removable = !key.is_empty() && remove(&mut root, &key);
                problems.push(Problem::new(
                    if key.is_empty() {
                        "(top level)".to_string()
                    } else {
                        key
                    },
                    message,
                ));
                if !removable {
                    return None;
                }
            }
        }
    }
    None
}

/// Removes `a.b[2].c` from the tree. Array elements are not removed (indices would
/// shift); only keys of tables are.
fn remove(root: &mut Value, path: &str) -> bool {
    let segments: Vec<&str> = path.split('.').collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut node = root;
    for seg in parents {
        let (name, indices) = split_indices(seg);
        let Some(next) = node.as_table_mut().and_then(|t| t.get_mut(name)) else {
            return false;
        };
        node = next;
        for i in indices {
            let Some(next) = node.as_array_mut().and_then(|a| a.get_mut(i)) else {
                return false;
            };
            node = next;
        }
    }
    let (name, indices) = split_indices(last);
    if !indices.is_empty() {
        return false;
    }
    node.as_table_mut()
        .is_some_and(|t| t.remove(name).is_some())
}

fn split_indices(seg: &str) -> (&str, Vec<usize>) {
    let mut parts = seg.split('[');
    let name = parts.next().unwrap_or_default();
    let indices = parts
        .filter_map(|p| p.trim_end_matches(']').parse().ok())
        .collect();
    (name, indices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DiscoveryMode, LogFormat};

    fn no_env() -> Vec<(String, String)> {
        Vec::new()
    }

    #[test]
    fn empty_file_gives_defaults() {
        let loaded = parse("", "t.toml", &no_env()).unwrap();
        assert_eq!(loaded.config, Config::default());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let text = r#"
            [log]
            levl = "debug"
            format = "xml"

            [modems]
            bogus = 1
            [modems.discovery]
            mode = "glob"
            scan_interval_ms = "fast"

            [[modems.device]]
            id = "m 0"
            at_port = "/dev/ttyUSB2"
        "#;
        let err = parse(text, "t.toml", &no_env()).unwrap_err();
        let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
        for want in [
            "log.levl",
            "log.format",
            "modems.bogus",
            "modems.discovery.scan_interval_ms",
            "modems.device[0].id",
        ] {
            assert!(keys.contains(&want), "missing {want} in {err}");
        }
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = parse("[log\n", "gw.toml", &no_env()).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].key, "gw.toml");
    }

    #[test]
    fn env_overrides_apply_before_validation() {
        let env = vec![
            ("E173GW_LOG__FORMAT".to_string(), "json".to_string()),
            (
                "E173GW_MODEMS__DISCOVERY__MODE".to_string(),
                "glob".to_string(),
            ),
            (
                "E173GW_MODEMS__DISCOVERY__AT_GLOB".to_string(),
                "/tmp/x/*.at".to_string(),
            ),
        ];
        let loaded = parse("", "t.toml", &env).unwrap();
        assert_eq!(loaded.config.log.format, LogFormat::Json);
        assert_eq!(loaded.config.modems.discovery.mode, DiscoveryMode::Glob);
        assert_eq!(loaded.overrides.len(), 3);
        let bad = vec![("E173GW_LOG__COLOUR".to_string(), "red".to_string())];
        let err = parse("", "t.toml", &bad).unwrap_err();
        assert_eq!(err.0[0].key, "log.colour");
    }
}
