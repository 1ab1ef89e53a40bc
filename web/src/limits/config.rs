//! `[limits]` in `allmende.toml`: request rates per client address and per widget, the daily
//! budget of generated tokens, the per-request time limit and which reverse proxies are trusted
//! to name the client. Unknown keys are rejected; [`LimitsConfig::validate`] runs at load time.

use serde::Deserialize;

use super::client::IpNet;

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Sustained requests per minute one client address may send to the limited endpoints
    /// (chat, completions, embeddings, feedback); 0 switches the per-address limit off.
    pub ip_requests_per_minute: u32,
    /// Requests one client address may send at once before the per-minute rate applies.
    pub ip_burst: u32,
    /// Sustained requests per minute of all citizens using one configured widget together;
    /// 0 switches the per-widget limit off.
    pub widget_requests_per_minute: u32,
    /// Burst of one widget.
    pub widget_burst: u32,
    /// Tokens the language model may generate per day (UTC) for everybody together; when spent,
    /// chat requests get 429 until midnight UTC. 0: unlimited.
    pub daily_tokens: u64,
    /// Seconds a non-streaming request may take before it is answered with 504 (a stream is
    /// bounded by the assistant's `max_tokens` instead).
    pub request_timeout_seconds: u64,
    /// Reverse proxies (addresses or CIDR ranges such as `10.0.0.0/8`) whose
    /// `X-Forwarded-For` header is believed; from anybody else it is ignored.
    pub trusted_proxies: Vec<String>,
    /// Client addresses tracked at most; idle ones are forgotten first (bounds the memory).
    pub max_tracked_clients: usize,
    /// The widgets embedded on municipal sites (`[[limits.widgets]]`).
    pub widgets: Vec<WidgetConfig>,
}

/// One embedded widget (`[[limits.widgets]]`): requests carrying its id in the
/// `X-Allmende-Widget` header, or coming from one of its origins, count against its limits.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WidgetConfig {
    /// 1–64 characters of `A–Z a–z 0–9 . _ -`, e.g. `musterstadt-startseite`.
    pub id: String,
    /// Pages the widget runs on (`Origin` header), e.g. `https://www.musterstadt.de`.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Generated tokens per day for this widget; 0: only the server-wide budget applies.
    #[serde(default)]
    pub daily_tokens: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            ip_requests_per_minute: 30,
            ip_burst: 20,
            widget_requests_per_minute: 600,
            widget_burst: 100,
            daily_tokens: 0,
            request_timeout_seconds: 120,
            trusted_proxies: Vec::new(),
            max_tracked_clients: 100_000,
            widgets: Vec::new(),
        }
    }
}

/// Whether `id` is a valid widget id (see [`WidgetConfig::id`]).
pub fn is_widget_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl LimitsConfig {
    /// Checks the section; the message names the offending key.
    pub fn validate(&self) -> anyhow::Result<()> {
        use anyhow::bail;
        if self.ip_requests_per_minute > 0 && self.ip_burst == 0 {
            bail!("limits.ip_burst must be at least 1 when limits.ip_requests_per_minute is set");
        }
        if self.widget_requests_per_minute > 0 && self.widget_burst == 0 {
            bail!(
                "limits.widget_burst must be at least 1 when limits.widget_requests_per_minute is set"
            );
        }
        if !(1..=3600).contains(&self.request_timeout_seconds) {
            bail!(
                "limits.request_timeout_seconds must be between 1 and 3600, not {}",
                self.request_timeout_seconds
            );
        }
        if self.max_tracked_clients < 100 {
            bail!(
                "limits.max_tracked_clients must be at least 100, not {}",
                self.max_tracked_clients
            );
        }
        for proxy in &self.trusted_proxies {
            if proxy.parse::<IpNet>().is_err() {
                bail!(
                    "limits.trusted_proxies: {proxy:?} is not an IP address or CIDR range like 10.0.0.0/8"
                );
            }
        }
        let mut ids = std::collections::HashSet::new();
        let mut origins = std::collections::HashSet::new();
        for widget in &self.widgets {
            if !is_widget_id(&widget.id) {
                bail!(
                    "limits.widgets: id {:?} must be 1–64 characters of A–Z, a–z, 0–9, '.', '_', '-'",
                    widget.id
                );
            }
            if !ids.insert(widget.id.as_str()) {
                bail!("limits.widgets: id {:?} is configured twice", widget.id);
            }
            for origin in &widget.origins {
                if !crate::security::is_origin(origin) {
                    bail!(
                        "limits.widgets ({}): {origin:?} is not an origin like https://www.musterstadt.de",
                        widget.id
                    );
                }
                if !origins.insert(origin.trim_end_matches('/')) {
                    bail!("limits.widgets: origin {origin:?} belongs to two widgets");
                }
            }
        }
        Ok(())
    }

    /// The parsed `trusted_proxies` (call after [`Self::validate`]; invalid entries are skipped).
    pub fn trusted_nets(&self) -> Vec<IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<LimitsConfig> {
        let config: LimitsConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    #[test]
    fn defaults_are_valid() {
        LimitsConfig::default().validate().unwrap();
    }

    #[test]
    fn widgets_and_proxies_parse() {
        let config = parse(
            r#"
            ip_requests_per_minute = 10
            ip_burst = 5
            daily_tokens = 100000
            trusted_proxies = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]
            [[widgets]]
            id = "musterstadt-startseite"
            origins = ["https://www.musterstadt.de"]
            daily_tokens = 5000
            "#,
        )
        .unwrap();
        assert_eq!(config.widgets[0].daily_tokens, 5000);
        assert_eq!(config.trusted_nets().len(), 3);
    }

    #[test]
    fn bad_settings_are_rejected_with_the_key_named() {
        for (text, needle) in [
            (
                "ip_requests_per_minute = 5\nip_burst = 0",
                "limits.ip_burst",
            ),
            (
                "widget_requests_per_minute = 5\nwidget_burst = 0",
                "limits.widget_burst",
            ),
            ("request_timeout_seconds = 0", "request_timeout_seconds"),
            ("max_tracked_clients = 3", "max_tracked_clients"),
            ("trusted_proxies = [\"10.0.0.0/33\"]", "trusted_proxies"),
            ("trusted_proxies = [\"proxy.local\"]", "trusted_proxies"),
            ("[[widgets]]\nid = \"a b\"", "limits.widgets"),
            ("[[widgets]]\nid = \"a\"\n[[widgets]]\nid = \"a\"", "twice"),
            (
                "[[widgets]]\nid = \"a\"\norigins = [\"www.x.de\"]",
                "not an origin",
            ),
            (
                "[[widgets]]\nid = \"a\"\norigins = [\"https://x.de\"]\n[[widgets]]\nid = \"b\"\norigins = [\"https://x.de/\"]",
                "two widgets",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let unknown = parse("ip_rate = 5").unwrap_err().to_string();
        assert!(unknown.contains("ip_rate"), "{unknown}");
        let unknown = parse("[[widgets]]\nid = \"a\"\nrate = 1")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("rate"), "{unknown}");
    }
}
