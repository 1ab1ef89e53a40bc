//! Who is calling: bearer tokens mapped to query roles (`[auth]`). Callers without a token get
//! `query.default_role`. Shared by every interface that runs SQL (HTTP, Flight SQL).
//!
//! Only the SHA-256 of each token is configured; a presented token is hashed and compared with
//! every configured hash in constant time. Tokens never reach the logs — only the holder's
//! configured name and the role do. `allmende token new` mints tokens ([`new_token`],
//! [`token_config_toml`]).

use allmende_query::Role;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// `[auth]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(try_from = "RawAuthConfig")]
pub struct AuthConfig {
    /// `[[auth.tokens]]`: the accepted bearer tokens.
    pub tokens: Vec<TokenConfig>,
}

/// One `[[auth.tokens]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds the token (for logs; never the token itself).
    pub name: String,
    /// `public`, `analyst` or `admin`.
    pub role: Role,
    /// Hex SHA-256 of the token (the token itself is never stored).
    pub sha256: String,
}

/// `[auth]` as written in the file, checked by [`AuthConfig::validate`] on the way in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawAuthConfig {
    tokens: Vec<TokenConfig>,
}

impl TryFrom<RawAuthConfig> for AuthConfig {
    type Error = AuthError;

    fn try_from(raw: RawAuthConfig) -> Result<Self, AuthError> {
        let mut config = AuthConfig { tokens: raw.tokens };
        for token in &mut config.tokens {
            token.sha256 = token.sha256.trim().to_ascii_lowercase();
        }
        config.validate()?;
        Ok(config)
    }
}

/// Who is asking, as decided by [`caller_for_bearer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The configured name of the token's holder; `None` for callers without a token.
    pub name: Option<String>,
    /// The role the caller's queries run under.
    pub role: Role,
}

impl Caller {
    /// The name for logs: the holder's name, or `anonymous`.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("anonymous")
    }
}

/// Why a caller could not be identified (HTTP: 401 with `WWW-Authenticate: Bearer`), or why
/// `[auth]` is invalid. Messages never contain the presented token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The `Authorization` header is present but empty.
    #[error("the Authorization header is empty; send `Authorization: Bearer <token>` or no header")]
    EmptyHeader,
    /// Another scheme than `Bearer` (e.g. `Basic`).
    #[error("only bearer tokens are accepted: send `Authorization: Bearer <token>`")]
    NotBearer,
    /// `Bearer` without a token, or a token with characters a bearer token cannot have.
    #[error(
        "the bearer token is malformed: expected `Bearer <token>` with one token of letters, digits and -._~+/"
    )]
    MalformedToken,
    /// A well-formed token that matches no `[[auth.tokens]]` entry.
    #[error("the bearer token is not valid (unknown or revoked)")]
    UnknownToken,
    /// A `[[auth.tokens]]` entry whose `sha256` is not 64 hex digits.
    #[error("auth.tokens entry '{name}': sha256 must be 64 hex digits (see `allmende token new`)")]
    InvalidHash {
        /// The entry's name.
        name: String,
    },
    /// A `[[auth.tokens]]` entry without a name.
    #[error("auth.tokens: every entry needs a non-empty name")]
    EmptyName,
    /// Two `[[auth.tokens]]` entries with the same hash.
    #[error("auth.tokens entries '{first}' and '{second}' have the same sha256")]
    DuplicateHash {
        /// The first entry's name.
        first: String,
        /// The second entry's name.
        second: String,
    },
}

impl AuthError {
    /// A stable machine-readable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::EmptyHeader | AuthError::NotBearer | AuthError::MalformedToken => {
                "invalid_authorization"
            }
            AuthError::UnknownToken => "invalid_token",
            AuthError::InvalidHash { .. }
            | AuthError::EmptyName
            | AuthError::DuplicateHash { .. } => "invalid_auth_config",
        }
    }

    /// The RFC 6750 `error` attribute for the `WWW-Authenticate` challenge.
    pub fn bearer_error(&self) -> &'static str {
        match self {
            AuthError::UnknownToken => "invalid_token",
            _ => "invalid_request",
        }
    }

    /// The full `WWW-Authenticate` value for a 401 with this error.
    pub fn www_authenticate(&self) -> String {
        format!(
            "Bearer realm=\"allmende\", error=\"{}\"",
            self.bearer_error()
        )
    }
}

impl AuthConfig {
    /// Checks every entry: a name, a 64-digit hex hash, no hash twice.
    pub fn validate(&self) -> Result<(), AuthError> {
        for (i, token) in self.tokens.iter().enumerate() {
            if token.name.trim().is_empty() {
                return Err(AuthError::EmptyName);
            }
            let hash = token.sha256.trim();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(AuthError::InvalidHash {
                    name: token.name.clone(),
                });
            }
            if let Some(earlier) = self.tokens[..i]
                .iter()
                .find(|t| t.sha256.trim().eq_ignore_ascii_case(hash))
            {
                return Err(AuthError::DuplicateHash {
                    first: earlier.name.clone(),
                    second: token.name.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Resolves an `Authorization` header value: no header → `default_role` (anonymous);
/// `Bearer <token>` with a configured token → that token's role; anything else is an error
/// (HTTP answers 401).
pub fn caller_for_bearer(
    auth: &AuthConfig,
    default_role: Role,
    header: Option<&str>,
) -> Result<Caller, AuthError> {
    let Some(header) = header else {
        tracing::debug!(role = %default_role, "anonymous caller");
        return Ok(Caller {
            name: None,
            role: default_role,
        });
    };
    let token = parse_bearer(header).inspect_err(|e| {
        tracing::warn!(reason = %e, "authorization refused");
    })?;
    caller_for_token(auth, token)
}

/// Resolves a bare token (as Flight SQL receives it, without the `Bearer ` prefix) to its
/// configured caller. The comparison with the configured hashes takes the same time whichever
/// entry (if any) matches.
pub fn caller_for_token(auth: &AuthConfig, token: &str) -> Result<Caller, AuthError> {
    if !is_token_syntax(token) {
        tracing::warn!(reason = %AuthError::MalformedToken, "authorization refused");
        return Err(AuthError::MalformedToken);
    }
    let presented = token_sha256(token);
    let mut found: Option<&TokenConfig> = None;
    for entry in &auth.tokens {
        // Every entry is compared in full; the first match wins (hashes are unique).
        let matches = constant_time_eq(presented.as_bytes(), entry.sha256.trim().as_bytes());
        if matches && found.is_none() {
            found = Some(entry);
        }
    }
    match found {
        Some(entry) => {
            tracing::info!(caller = %entry.name, role = %entry.role, "authenticated caller");
            Ok(Caller {
                name: Some(entry.name.clone()),
                role: entry.role,
            })
        }
        None => {
            tracing::warn!(reason = %AuthError::UnknownToken, "authorization refused");
            Err(AuthError::UnknownToken)
        }
    }
}

/// The token of a `Bearer <token>` header value (scheme case-insensitive, RFC 6750 syntax).
fn parse_bearer(header: &str) -> Result<&str, AuthError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(AuthError::EmptyHeader);
    }
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    let token = rest.trim_start_matches(' ');
    if !is_token_syntax(token) {
        return Err(AuthError::MalformedToken);
    }
    Ok(token)
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, at most
/// 512 characters.
fn is_token_syntax(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && token.len() <= 512
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lower-case hex SHA-256 of a token, as configured in `[[auth.tokens]] sha256`.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token: `alm_` and 64 hex digits from two v4 UUIDs (244 random bits from the
/// operating system's generator).
pub fn new_token() -> String {
    format!(
        "alm_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The `[[auth.tokens]]` lines for `token`, ready to paste into `allmende.toml`.
pub fn token_config_toml(name: &str, role: Role, token: &str) -> String {
    let quoted = toml::Value::String(name.to_string()).to_string();
    format!(
        "[[auth.tokens]]\nname = {quoted}\nrole = \"{role}\"\nsha256 = \"{}\"\n",
        token_sha256(token)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entries: &[(&str, Role, &str)]) -> AuthConfig {
        AuthConfig {
            tokens: entries
                .iter()
                .map(|(name, role, token)| TokenConfig {
                    name: name.to_string(),
                    role: *role,
                    sha256: token_sha256(token),
                })
                .collect(),
        }
    }

    #[test]
    fn no_header_gets_the_default_role() {
        let auth = config(&[("ana", Role::Analyst, "tok-a")]);
        for default in [Role::Public, Role::Analyst] {
            let caller = caller_for_bearer(&auth, default, None).unwrap();
            assert_eq!(
                caller,
                Caller {
                    name: None,
                    role: default
                }
            );
            assert_eq!(caller.display_name(), "anonymous");
        }
    }

    #[test]
    fn configured_tokens_get_their_role() {
        let auth = config(&[
            ("Statistikstelle", Role::Analyst, "alm_one"),
            ("Betrieb", Role::Admin, "alm_two"),
        ]);
        let caller = caller_for_bearer(&auth, Role::Public, Some("Bearer alm_one")).unwrap();
        assert_eq!(caller.name.as_deref(), Some("Statistikstelle"));
        assert_eq!(caller.role, Role::Analyst);
        // Scheme case-insensitive, surrounding blanks tolerated.
        let caller = caller_for_bearer(&auth, Role::Public, Some("  bEARER   alm_two ")).unwrap();
        assert_eq!(caller.role, Role::Admin);
        assert_eq!(
            caller_for_token(&auth, "alm_two").unwrap().role,
            Role::Admin
        );
    }

    #[test]
    fn bad_headers_and_unknown_tokens_are_specific_errors() {
        let auth = config(&[("ana", Role::Analyst, "alm_one")]);
        let resolve = |h: &str| caller_for_bearer(&auth, Role::Public, Some(h)).unwrap_err();
        assert_eq!(resolve(""), AuthError::EmptyHeader);
        assert_eq!(resolve("   "), AuthError::EmptyHeader);
        assert_eq!(
            resolve("Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
            AuthError::NotBearer
        );
        assert_eq!(resolve("alm_one"), AuthError::NotBearer);
        assert_eq!(resolve("Bearer"), AuthError::MalformedToken);
        assert_eq!(resolve("Bearer "), AuthError::MalformedToken);
        assert_eq!(resolve("Bearer alm_one extra"), AuthError::MalformedToken);
        assert_eq!(resolve("Bearer al\"m"), AuthError::MalformedToken);
        assert_eq!(resolve("Bearer ===="), AuthError::MalformedToken);
        assert_eq!(resolve("Bearer alm_two"), AuthError::UnknownToken);
        // A prefix or the hash itself is no token.
        assert_eq!(resolve("Bearer alm_on"), AuthError::UnknownToken);
        let hash = token_sha256("alm_one");
        assert_eq!(resolve(&format!("Bearer {hash}")), AuthError::UnknownToken);
        // Without any configured token every token is unknown.
        assert_eq!(
            caller_for_bearer(&AuthConfig::default(), Role::Analyst, Some("Bearer x")),
            Err(AuthError::UnknownToken)
        );
        // Messages never echo the token.
        for e in [resolve("Bearer alm_two"), resolve("Bearer al\"m")] {
            assert!(!e.to_string().contains("alm_two") && !e.to_string().contains("al\"m"));
        }
        assert_eq!(AuthError::UnknownToken.code(), "invalid_token");
        assert_eq!(
            AuthError::MalformedToken.www_authenticate(),
            "Bearer realm=\"allmende\", error=\"invalid_request\""
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn config_is_validated_when_read() {
        let hash = token_sha256("alm_x");
        let ok: AuthConfig = toml::from_str(&format!(
            "[[tokens]]\nname = \"a\"\nrole = \"analyst\"\nsha256 = \"{}\"\n",
            hash.to_uppercase()
        ))
        .unwrap();
        assert_eq!(ok.tokens[0].sha256, hash, "hashes are normalised");
        assert_eq!(caller_for_token(&ok, "alm_x").unwrap().role, Role::Analyst);

        let err = toml::from_str::<AuthConfig>(
            "[[tokens]]\nname = \"a\"\nrole = \"analyst\"\nsha256 = \"abc\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("64 hex digits"), "{err}");
        let err = toml::from_str::<AuthConfig>(&format!(
            "[[tokens]]\nname = \"a\"\nrole = \"analyst\"\nsha256 = \"{hash}\"\n\
             [[tokens]]\nname = \"b\"\nrole = \"admin\"\nsha256 = \"{hash}\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("same sha256"), "{err}");
        let err = toml::from_str::<AuthConfig>(
            "[[tokens]]\nname = \"a\"\nrole = \"root\"\nsha256 = \"abc\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("root"), "{err}");
        assert!(
            toml::from_str::<AuthConfig>(
                "[[tokens]]\nname = \"a\"\nrole = \"analyst\"\nsha256 = \"x\"\ntoken = \"y\"\n"
            )
            .is_err()
        );
        assert!(toml::from_str::<AuthConfig>("").unwrap().tokens.is_empty());
    }

    #[test]
    fn minted_tokens_are_fresh_and_their_config_lines_work() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert!(is_token_syntax(&a));
        let lines = token_config_toml("Amt für \"Statistik\"", Role::Analyst, &a);
        assert!(!lines.contains(&a), "the token itself is not in the config");
        #[derive(Deserialize)]
        struct File {
            auth: AuthConfig,
        }
        let file: File = toml::from_str(&lines).unwrap();
        let caller = caller_for_token(&file.auth, &a).unwrap();
        assert_eq!(caller.name.as_deref(), Some("Amt für \"Statistik\""));
        assert_eq!(caller.role, Role::Analyst);
        assert_eq!(
            caller_for_token(&file.auth, &b),
            Err(AuthError::UnknownToken)
        );
    }
}
