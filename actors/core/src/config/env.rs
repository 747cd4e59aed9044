//! Environment overrides: `E173GW_<SECTION>__<KEY>=value` sets `section.key`.
//!
//! Deeper keys add more `__` segments (`E173GW_MODEMS__DISCOVERY__MODE=glob`); a numeric
//! segment indexes an array of tables (`E173GW_MODEMS__DEVICE__0__AT_PORT=/dev/ttyUSB2`).
//! Values are read as TOML literals when they are one (`true`, `5000`, `["a","b"]`) and as
//! strings otherwise. Variables without `__` are not overrides (`E173GW_CONFIG` is the CLI's).

use toml::Value;

use super::Problem;

/// The prefix of override variables.
pub const PREFIX: &str = "E173GW_";

/// Where environment variables come from; tests pass a list instead of the real env.
pub trait EnvSource {
    /// All variables as (name, value).
    fn vars(&self) -> Vec<(String, String)>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }
}

impl EnvSource for Vec<(String, String)> {
    fn vars(&self) -> Vec<(String, String)> {
        self.clone()
    }
}

/// One override that was applied, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The variable.
    pub var: String,
    /// The dotted key it set.
    pub key: String,
}

fn literal(raw: &str) -> Value {
    match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Applies every `E173GW_*__*` variable to `root`. Variables that cannot be applied
/// (an index past the end of an array, a key under a non-table) become problems.
pub fn apply(root: &mut Value, env: &dyn EnvSource) -> (Vec<Applied>, Vec<Problem>) {
    let mut vars: Vec<_> = env
        .vars()
        .into_iter()
        .filter(|(k, _)| k.starts_with(PREFIX) && k.contains("__"))
        .collect();
    vars.sort();
    let mut applied = Vec::new();
    let mut problems = Vec::new();
    for (var, raw) in vars {
        let segments: Vec<String> = var[PREFIX.len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if segments.iter().any(String::is_empty) {
            problems.push(Problem::new(
                &var,
                "empty key segment in environment override",
            ));
            continue;
        }
        match set(root, &segments, literal(&raw)) {
            Ok(key) => applied.push(Applied { var, key }),
            Err(msg) => problems.push(Problem::new(&var, msg)),
        }
    }
    (applied, problems)
}

fn set(root: &mut Value, segments: &[String], value: Value) -> Result<String, String> {
    let mut node = root;
    let mut key = String::new();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        if let Ok(idx) = seg.parse::<usize>() {
            let Value::Array(items) = node else {
                return Err(format!(
                    "`{key}` is not an array, so `{seg}` cannot index it"
                ));
            };
            let len = items.len();
            key.push_str(&format!("[{idx}]"));
            let Some(item) = items.get_mut(idx) else {
                return Err(format!(
                    "`{}` has {len} entries",
                    key.rsplit_once('[').map_or("", |(k, _)| k)
                ));
            };
            if last {
                *item = value;
                return Ok(key);
            }
            node = item;
            continue;
        }
        if !key.is_empty() {
            key.push('.');
        }
        key.push_str(seg);
        let Value::Table(table) = node else {
            return Err(format!("`{key}` is under a value that is not a table"));
        };
        if last {
            table.insert(seg.clone(), value);
            return Ok(key);
        }
        node = table
            .entry(seg.clone())
            .or_insert_with(|| Value::Table(toml::Table::new()));
    }
    Err("no key".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn overrides_set_typed_values() {
        let mut root: Value =
            toml::from_str("[log]\nlevel = \"info\"\n[[modems.device]]\nid = \"m0\"\n").unwrap();
        let (applied, problems) = apply(
            &mut root,
            &env(&[
                ("E173GW_LOG__LEVEL", "debug"),
                ("E173GW_LOG__FORMAT", "json"),
                ("E173GW_MODEMS__DISCOVERY__SCAN_INTERVAL_MS", "250"),
                ("E173GW_MODEMS__DISCOVERY__ADOPT_UNKNOWN", "false"),
                ("E173GW_MODEMS__DEVICE__0__AT_PORT", "/dev/ttyUSB2"),
                ("E173GW_CONFIG", "ignored.toml"),
                ("OTHER__X", "ignored"),
            ]),
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(applied.len(), 5);
        assert_eq!(root["log"]["level"].as_str(), Some("debug"));
        assert_eq!(
            root["modems"]["discovery"]["scan_interval_ms"].as_integer(),
            Some(250)
        );
        assert_eq!(
            root["modems"]["discovery"]["adopt_unknown"].as_bool(),
            Some(false)
        );
        assert_eq!(
            root["modems"]["device"][0]["at_port"].as_str(),
            Some("/dev/ttyUSB2")
        );
    }

    #[test]
    fn bad_overrides_are_problems() {
        let mut root: Value = toml::from_str("[log]\nlevel = \"info\"\n").unwrap();
        let (_, problems) = apply(
            &mut root,
            &env(&[
                ("E173GW_MODEMS__DEVICE__3__ID", "x"),
                ("E173GW_LOG__LEVEL__X", "1"),
                ("E173GW_LOG____X", "1"),
            ]),
        );
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "E173GW_LOG__LEVEL__X",
                "E173GW_LOG____X",
                "E173GW_MODEMS__DEVICE__3__ID"
            ]
        );
    }
}
