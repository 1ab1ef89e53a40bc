//! Configuration: `allmende.toml` (every crate owns its section, all with defaults), then
//! `ALLMENDE_*` environment variables, then command-line flags — later wins.

use std::path::{Path, PathBuf};

use allmende_assistant::answer::AssistantConfig;
use allmende_connectors::SourceSpec;
use allmende_query::QueryConfig;
use anyhow::{Context, bail};
use serde::Deserialize;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where snapshots, the index and models live.
    pub data_dir: PathBuf,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[query]`, owned by allmende-query.
    pub query: QueryConfig,
    /// `[assistant]`, owned by allmende-assistant.
    pub assistant: AssistantConfig,
    /// `[model]`.
    pub model: ModelConfig,
    /// `[datasets]`.
    pub datasets: DatasetsConfig,
    /// `[limits]`: request rates, the daily token budget, the time limit, trusted proxies and
    /// widgets (see [`crate::limits`]).
    pub limits: crate::limits::LimitsConfig,
    /// `[auth]`: bearer tokens and their roles (see [`crate::auth`]).
    pub auth: crate::auth::AuthConfig,
    /// `[flight]`: the Arrow Flight SQL listener (see [`crate::flight`]).
    pub flight: crate::flight::FlightConfig,
    /// `[pgwire]`: the PostgreSQL wire-protocol listener (see [`crate::pgwire`]).
    pub pgwire: crate::pgwire::PgWireConfig,
    /// Additional `[[sources]]` to ingest beside the built-in manifest.
    pub sources: Vec<SourceSpec>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address.
    pub bind: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Origins whose pages may call the APIs (CORS), e.g. `https://www.musterstadt.de`;
    /// empty: same-origin only.
    pub allowed_origins: Vec<String>,
    /// Who may frame the widget (CSP `frame-ancestors` sources), e.g. `'self'` and the
    /// municipality's site; empty: nobody.
    pub frame_ancestors: Vec<String>,
}

/// `[model]`: which GGUF the assistant loads.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// A name from `allmende models list`, an explicit path to a `.gguf` file, or `none` for the
    /// extractive mode.
    pub name: String,
}

/// `[datasets]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetsConfig {
    /// Directory with the real German sample data (optional; skipped when absent).
    pub shared_dir: PathBuf,
    /// Seed of the Musterstadt generator.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            server: ServerConfig::default(),
            query: QueryConfig::default(),
            assistant: AssistantConfig::default(),
            model: ModelConfig::default(),
            datasets: DatasetsConfig::default(),
            limits: crate::limits::LimitsConfig::default(),
            auth: crate::auth::AuthConfig::default(),
            flight: crate::flight::FlightConfig::default(),
            pgwire: crate::pgwire::PgWireConfig::default(),
            sources: Vec::new(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 64 * 1024,
            allowed_origins: Vec::new(),
            frame_ancestors: vec!["'self'".into()],
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            name: allmende_assistant::models::DEFAULT_MODEL.into(),
        }
    }
}

impl Default for DatasetsConfig {
    fn default() -> Self {
        Self {
            shared_dir: PathBuf::from("../shared/datasets"),
            seed: allmende_datasets::musterstadt::DEFAULT_SEED,
        }
    }
}

/// Where the model setting points.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelChoice {
    /// No model: extractive answers.
    Disabled,
    /// A GGUF file (which may not exist yet).
    File(PathBuf),
}

impl Config {
    /// Reads `path` if given (it must exist), else `./allmende.toml` if present, else defaults;
    /// then applies `ALLMENDE_*` variables.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = match path {
            Some(p) => Self::from_file(p)?,
            None if Path::new("allmende.toml").exists() => {
                Self::from_file(Path::new("allmende.toml"))?
            }
            None => Self::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))
    }

    /// Applies `ALLMENDE_DATA_DIR`, `ALLMENDE_BIND`, `ALLMENDE_MODEL`, `ALLMENDE_SHARED_DIR`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("ALLMENDE_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("ALLMENDE_BIND") {
            self.server.bind = v;
        }
        if let Some(v) = var("ALLMENDE_MODEL") {
            self.model.name = v;
        }
        if let Some(v) = var("ALLMENDE_SHARED_DIR") {
            self.datasets.shared_dir = v.into();
        }
        crate::security::validate(&self.server)?;
        self.limits.validate()?;
        if self.server.max_body_bytes < 1024 {
            bail!("server.max_body_bytes must be at least 1024");
        }
        Ok(())
    }

    /// `<data_dir>/snapshots`.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.data_dir.join("snapshots")
    }

    /// `<data_dir>/index`.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// `<data_dir>/models`.
    pub fn models_dir(&self) -> PathBuf {
        self.data_dir.join("models")
    }

    /// `<data_dir>/feedback`: one JSON-lines file per day of answer ratings.
    pub fn feedback_dir(&self) -> PathBuf {
        self.data_dir.join("feedback")
    }

    /// `<data_dir>/models/multilingual-e5-small-q4.bin`: the sentence encoder behind
    /// `/v1/embeddings` (loaded when present).
    pub fn encoder_path(&self) -> PathBuf {
        self.models_dir()
            .join(allmende_search::dense::MODEL_FILE_NAME)
    }

    /// `<data_dir>/musterstadt`: where the generator writes the demo files.
    pub fn musterstadt_dir(&self) -> PathBuf {
        self.data_dir.join("musterstadt")
    }

    /// Resolves the `[model] name` setting.
    pub fn model_choice(&self) -> anyhow::Result<ModelChoice> {
        let name = self.model.name.trim();
        if name.is_empty() || name.eq_ignore_ascii_case("none") {
            return Ok(ModelChoice::Disabled);
        }
        if name.ends_with(".gguf") || name.contains('/') {
            return Ok(ModelChoice::File(PathBuf::from(name)));
        }
        let spec = allmende_assistant::models::find(name)?;
        Ok(ModelChoice::File(self.models_dir().join(spec.file_name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_overrides() {
        let mut config: Config =
            toml::from_str("data_dir = \"/srv/a\"\n[server]\nbind = \"0.0.0.0:1\"").unwrap();
        config
            .apply_env(|k| match k {
                "ALLMENDE_BIND" => Some("127.0.0.1:9".into()),
                "ALLMENDE_MODEL" => Some("none".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/srv/a"));
        assert_eq!(config.server.bind, "127.0.0.1:9");
        assert_eq!(config.model_choice().unwrap(), ModelChoice::Disabled);
    }

    #[test]
    fn unknown_keys_and_models_are_errors() {
        let err = toml::from_str::<Config>("[server]\nbnd = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bnd"), "{err}");
        let err = toml::from_str::<Config>("[limits]\nip_rate = 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ip_rate"), "{err}");
        let mut config: Config = toml::from_str("[limits]\nrequest_timeout_seconds = 0").unwrap();
        let err = config.apply_env(|_| None).unwrap_err().to_string();
        assert!(err.contains("limits.request_timeout_seconds"), "{err}");
        let mut config = Config::default();
        config.model.name = "gpt-17".into();
        assert!(config.model_choice().is_err());
        config.model.name = "/models/own.gguf".into();
        assert_eq!(
            config.model_choice().unwrap(),
            ModelChoice::File("/models/own.gguf".into())
        );
    }

    #[test]
    fn example_config_in_repo_parses() {
        let text = include_str!("../../allmende.example.toml");
        let mut config: Config = toml::from_str(text).unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:8080");
        config
            .apply_env(|_| None)
            .expect("the example config is valid");
        assert_eq!(config.limits.widgets.len(), 1, "the example shows a widget");
    }
}
