//! An HTTP lookup provider as config: where to ask, how to authenticate, and where the
//! answer sits in the JSON it returns. Used by the WhatsApp check and the portability
//! lookup.

use serde::{Deserialize, Serialize};

use super::Problem;

/// HTTP method of a lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LookupMethod {
    /// GET (the default).
    #[default]
    Get,
    /// POST with `body`.
    Post,
}

/// `provider = { url = "...", answer = "/numberExists", ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpLookupConfig {
    /// URL template: `{e164}` (with `+`, URL-encoded) and `{digits}` (without) are
    /// replaced, e.g. `https://waha.example/api/contacts/check-exists?phone={digits}`.
    pub url: String,
    /// `GET` (default) or `POST`.
    #[serde(default)]
    pub method: LookupMethod,
    /// Body template for POST (JSON), with the same placeholders.
    #[serde(default)]
    pub body: Option<String>,
    /// Header carrying the credential (e.g. `Authorization`, `X-Api-Key`).
    #[serde(default)]
    pub auth_header: Option<String>,
    /// Environment variable holding the credential (never written in the file).
    #[serde(default)]
    pub auth_env: Option<String>,
    /// Put before the credential (e.g. `Bearer `).
    #[serde(default)]
    pub auth_prefix: String,
    /// JSON pointer to the answer (`/numberExists`, `/exists`, `/contacts/0/status`).
    pub answer: String,
}

impl HttpLookupConfig {
    /// Checks the URL, pointer and auth settings; `key` names the table.
    pub fn validate(&self, key: &str, p: &mut Vec<Problem>) {
        let scheme_ok = self.url.starts_with("http://") || self.url.starts_with("https://");
        if !scheme_ok {
            p.push(Problem::new(
                format!("{key}.url"),
                "must be an http:// or https:// URL",
            ));
        }
        if !self.url.contains("{e164}")
            && !self.url.contains("{digits}")
            && !self
                .body
                .as_deref()
                .is_some_and(|b| b.contains("{e164}") || b.contains("{digits}"))
        {
            p.push(Problem::new(
                format!("{key}.url"),
                "must contain {e164} or {digits} (or the body must)",
            ));
        }
        if !self.answer.is_empty() && !self.answer.starts_with('/') {
            p.push(Problem::new(
                format!("{key}.answer"),
                "must be a JSON pointer such as \"/numberExists\"",
            ));
        }
        if self.auth_header.is_some() != self.auth_env.is_some() {
            p.push(Problem::new(
                format!("{key}.auth_env"),
                "auth_header and auth_env go together",
            ));
        }
        if self.method == LookupMethod::Get && self.body.is_some() {
            p.push(Problem::new(
                format!("{key}.body"),
                "a body needs method = \"POST\"",
            ));
        }
    }

    /// The URL for `e164`.
    pub fn url_for(&self, e164: &str) -> String {
        fill(&self.url, e164, true)
    }

    /// The body for `e164`, if any.
    pub fn body_for(&self, e164: &str) -> Option<String> {
        self.body.as_deref().map(|b| fill(b, e164, false))
    }
}

fn fill(t: &str, e164: &str, url: bool) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    let plus = if url {
        format!("%2B{digits}")
    } else {
        format!("+{digits}")
    };
    t.replace("{e164}", &plus).replace("{digits}", &digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_bad_settings_name_their_key() {
        let c: HttpLookupConfig = toml::from_str(
            "url = \"http://127.0.0.1:9/check?phone={digits}&n={e164}\"\nanswer = \"/numberExists\"",
        )
        .expect("toml");
        assert_eq!(
            c.url_for("+5511987654321"),
            "http://127.0.0.1:9/check?phone=5511987654321&n=%2B5511987654321"
        );
        let mut p = Vec::new();
        c.validate("k", &mut p);
        assert!(p.is_empty(), "{p:?}");
        let cases: &[(&str, &str)] = &[
            ("url = \"ftp://x/{digits}\"\nanswer = \"/a\"", "k.url"),
            ("url = \"http://x/check\"\nanswer = \"/a\"", "k.url"),
            ("url = \"http://x/{digits}\"\nanswer = \"a\"", "k.answer"),
            (
                "url = \"http://x/{digits}\"\nanswer = \"/a\"\nauth_header = \"X\"",
                "k.auth_env",
            ),
            (
                "url = \"http://x/{digits}\"\nanswer = \"/a\"\nbody = \"{}\"",
                "k.body",
            ),
        ];
        for (text, key) in cases {
            let c: HttpLookupConfig = toml::from_str(text).expect("toml");
            let mut p = Vec::new();
            c.validate("k", &mut p);
            assert!(p.iter().any(|x| x.key == *key), "{text}: {p:?}");
        }
        let post: HttpLookupConfig = toml::from_str(
            "url = \"http://x/checkPhones\"\nmethod = \"POST\"\nbody = '{\"numbers\":[\"{digits}\"]}'\nanswer = \"/0/valid\"",
        )
        .expect("toml");
        assert_eq!(
            post.body_for("+551199").as_deref(),
            Some("{\"numbers\":[\"551199\"]}")
        );
    }
}
