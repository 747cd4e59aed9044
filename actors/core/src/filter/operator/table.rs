//! The prefix table: libphonenumber's carrier format (`<prefix>|<Operator>` per line,
//! prefixes with the country code and without `+`, `#` comments), longest prefix wins.

use std::collections::HashMap;

/// A loaded table.
#[derive(Debug, Clone, Default)]
pub struct PrefixTable {
    /// Prefix -> index into `names`, one map per prefix length.
    by_len: Vec<(usize, HashMap<String, u16>)>,
    names: Vec<String>,
    len: usize,
}

/// A line that is not `<digits>|<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub why: String,
}

impl PrefixTable {
    /// Prefixes loaded.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the lines of one file (BOM and CRLF tolerated; a later file's entry replaces
    /// an earlier one for the same prefix).
    pub fn add_text(&mut self, text: &str) -> Result<usize, Vec<BadLine>> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut bad = Vec::new();
        let mut rows = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((prefix, name)) = line.split_once('|') else {
                bad.push(BadLine {
                    line: i + 1,
                    why: "expected <prefix>|<operator>".into(),
                });
                continue;
            };
            let (prefix, name) = (prefix.trim(), name.trim());
            if prefix.is_empty() || prefix.len() > 15 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                bad.push(BadLine {
                    line: i + 1,
                    why: format!("{prefix:?} is not a prefix of digits"),
                });
                continue;
            }
            if name.is_empty() {
                bad.push(BadLine {
                    line: i + 1,
                    why: "no operator name".into(),
                });
                continue;
            }
            rows.push((prefix.to_string(), name.to_string()));
        }
        if !bad.is_empty() {
            return Err(bad);
        }
        let n = rows.len();
        for (p, name) in rows {
            self.insert(p, &name);
        }
        Ok(n)
    }

    fn insert(&mut self, prefix: String, name: &str) {
        let idx = match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        let idx = u16::try_from(idx).unwrap_or(u16::MAX);
        let len = prefix.len();
        let pos = match self.by_len.iter().position(|(l, _)| *l == len) {
            Some(p) => p,
            None => {
                self.by_len.push((len, HashMap::new()));
                self.by_len.sort_by_key(|e| std::cmp::Reverse(e.0));
                self.by_len.iter().position(|(l, _)| *l == len).unwrap_or(0)
            }
        };
        if let Some((_, m)) = self.by_len.get_mut(pos) {
            if m.insert(prefix, idx).is_none() {
                self.len += 1;
            }
        }
    }

    /// The operator of the longest prefix of `digits` (E.164 without `+`), and that prefix.
    pub fn lookup<'a>(&self, digits: &'a str) -> Option<(&'a str, &str)> {
        for (len, m) in &self.by_len {
            if let Some(p) = digits.get(..*len) {
                if let Some(i) = m.get(p) {
                    return self.names.get(usize::from(*i)).map(|n| (p, n.as_str()));
                }
            }
        }
        None
    }

    /// Every operator name in the table.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_wins_and_bad_lines_are_named() {
        let mut t = PrefixTable::default();
        let n = t
            .add_text("\u{feff}# sample\r\n5511|A\r\n551198|B\r\n\r\n5511987|C\r\n5521 | D \r\n")
            .expect("table");
        assert_eq!(n, 4);
        // (digits, operator, prefix)
        for (d, op, p) in [
            ("5511987654321", Some("C"), "5511987"),
            ("5511986654321", Some("B"), "551198"),
            ("5511912345678", Some("A"), "5511"),
            ("5521912345678", Some("D"), "5521"),
            ("5531912345678", None, ""),
            ("55", None, ""),
        ] {
            let got = t.lookup(d);
            assert_eq!(got.map(|x| x.1), op, "{d}");
            if let Some((gp, _)) = got {
                assert_eq!(gp, p, "{d}");
            }
        }
        let mut t2 = PrefixTable::default();
        let bad = t2
            .add_text("5511|A\nnot a line\n55x1|B\n5512|\n")
            .expect_err("bad lines");
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(t2.is_empty(), "nothing is taken from a bad file");
    }
}
