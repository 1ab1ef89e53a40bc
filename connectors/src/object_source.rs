//! Files in S3-compatible object stores: a member's own MinIO or Ceph RGW.
//!
//! A source names its object as `url = "s3://bucket/path/to/file.csv"` ([`parse_s3_url`]) and
//! its store in `options` ([`SourceOptions`]):
//!
//! ```toml
//! [[sources]]
//! source = "kommune"
//! table = "einwohner"
//! format = "csv"
//! url = "s3://opendata/statistik/einwohner.csv"
//! # licence, attribution, ...
//! [sources.options]
//! s3_endpoint = "https://minio.kommune.example:9000"
//! s3_access_key_env = "ALLMENDE_S3_ACCESS_KEY"
//! s3_secret_key_env = "ALLMENDE_S3_SECRET_KEY"
//! ```
//!
//! - **No default endpoint.** `s3_endpoint` is required and `*.amazonaws.com` is refused, so
//!   nothing is ever sent to AWS. `s3_region` (default `us-east-1`) is only the region name
//!   the signature carries, which is what MinIO expects.
//! - **No ambient credentials.** The client is built with [`AmazonS3Builder::new`], never
//!   `from_env`: no `AWS_*` variables, profiles, web-identity tokens, container credentials
//!   or instance metadata (IMDS, `169.254.169.254`) are consulted. Credentials come only from
//!   the two environment variables the options *name* (`s3_access_key_env`,
//!   `s3_secret_key_env`), as a static key pair; with neither, requests are unsigned (public
//!   buckets) and a fixed placeholder credential provider takes the place of object_store's
//!   fallback chain, whose last resort would be IMDS.
//! - **Limits.** Connect timeout [`CONNECT_TIMEOUT`], request timeout [`REQUEST_TIMEOUT`],
//!   [`RETRIES`] retries with exponential backoff (object_store resumes an interrupted body
//!   with a range request), and objects over [`MAX_OBJECT_BYTES`] are refused from their
//!   metadata before the body is read.
//! - **Errors** are [`Error::Http`] with the `s3://` URL and a specific reason (not found,
//!   access denied, timed out, object larger than …); a secret key never appears in them.
//!   Invalid URLs and options are [`Error::Spec`].
//!
//! [`fetch`] and [`fetch_if_changed`] are blocking: each builds a current-thread tokio
//! runtime for its one request, so they must be called from a blocking thread, never from
//! async code (they return an error there instead of panicking).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, HeaderValue, ObjectStore, RetryConfig,
    StaticCredentialProvider,
};

use crate::options::SourceOptions;
use crate::{Error, Result};

/// The signing region unless `s3_region` says otherwise: only the name MinIO expects in a
/// signature, not a place (no request ever goes to AWS).
pub const DEFAULT_REGION: &str = "us-east-1";
/// The largest object read (512 MiB, like [`crate::http::HttpOptions`]'s body limit).
pub const MAX_OBJECT_BYTES: u64 = 512 * 1024 * 1024;
/// Time allowed to establish a connection to the store.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one request, from sending it to the last byte of the body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Retries after the first attempt for connection errors, timeouts and 5xx answers.
pub const RETRIES: usize = 3;

/// Where the metadata-service fallback of object_store would point. It is unreachable by
/// construction (every client here has static credentials or skips signing); pinning it to a
/// closed local port makes sure that even a future change of that fallback order could never
/// reach a cloud metadata service such as `169.254.169.254`.
const NO_METADATA_ENDPOINT: &str = "http://127.0.0.1:1";

/// An object in a bucket, parsed from `s3://bucket/path/to/file.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket (`opendata`).
    pub bucket: String,
    /// The object key, as written in the URL (`statistik/einwohner.csv`).
    pub key: String,
}

/// An object read from a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The object's content.
    pub bytes: Vec<u8>,
    /// Its ETag as the store sent it (with quotes), for [`fetch_if_changed`].
    pub e_tag: Option<String>,
    /// Its last modification, as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
    pub last_modified: Option<String>,
    /// Its version ID, when the bucket is versioned.
    pub version: Option<String>,
}

impl Fetched {
    /// ETag and Last-Modified as the [`crate::http::Validators`] a snapshot's provenance
    /// keeps; pass `validators.etag` back to [`fetch_if_changed`] next time.
    pub fn validators(&self) -> crate::http::Validators {
        crate::http::Validators {
            etag: self.e_tag.clone(),
            last_modified: self.last_modified.clone(),
        }
    }
}

/// Parses `s3://bucket/key`. The bucket must be a valid S3 bucket name (3–63 characters of
/// `a-z`, `0-9`, `.` and `-`, starting and ending with a letter or digit); the key is taken as
/// written, without percent-decoding, and must name one object (not empty, no trailing `/`,
/// no empty, `.` or `..` segments). Credentials, query strings and fragments do not belong in
/// the URL. Anything else is an [`Error::Spec`] that says what is wrong.
pub fn parse_s3_url(url: &str) -> Result<S3Location> {
    let bad = |reason: &str| Error::Spec(format!("`{url}` is not a usable s3:// URL: {reason}"));
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("s3") => rest,
        Some(_) => return Err(bad("the scheme must be `s3`")),
        None => return Err(bad("expected `s3://bucket/path/to/object`")),
    };
    if rest.contains(['?', '#']) {
        return Err(bad(
            "query strings and fragments (`?`, `#`) are not part of an s3:// URL",
        ));
    }
    let Some((bucket, key)) = rest.split_once('/') else {
        return Err(bad("it names a bucket but no object key"));
    };
    if bucket.contains('@') {
        return Err(Error::Spec(format!(
            "`{}`: credentials do not belong in an s3:// URL; name the environment variables \
             that hold them in `s3_access_key_env` and `s3_secret_key_env`",
            crate::remote::redact_url(url)
        )));
    }
    check_bucket(bucket).map_err(|reason| bad(&reason))?;
    if key.is_empty() {
        return Err(bad("the object key is empty"));
    }
    if key.ends_with('/') {
        return Err(bad(
            "the key ends with `/`, which names a folder, not an object",
        ));
    }
    if let Err(e) = Path::parse(key) {
        return Err(bad(&format!("invalid object key ({e})")));
    }
    Ok(S3Location {
        bucket: bucket.to_string(),
        key: key.to_string(),
    })
}

/// The S3 naming rules for buckets, as MinIO enforces them.
fn check_bucket(bucket: &str) -> std::result::Result<(), String> {
    if bucket.is_empty() {
        return Err("the bucket name is empty".into());
    }
    if !(3..=63).contains(&bucket.len()) {
        return Err(format!(
            "the bucket name `{bucket}` must be 3 to 63 characters long"
        ));
    }
    if let Some(c) = bucket
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')))
    {
        return Err(format!(
            "the bucket name `{bucket}` contains `{c}` (allowed: a-z, 0-9, `.`, `-`)"
        ));
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge_ok(bucket.chars().next()) || !edge_ok(bucket.chars().last()) {
        return Err(format!(
            "the bucket name `{bucket}` must start and end with a letter or digit"
        ));
    }
    if bucket.contains("..") {
        return Err(format!("the bucket name `{bucket}` contains `..`"));
    }
    Ok(())
}

/// Reads the object `url` names from the store `options` describe, with credentials from the
/// process environment (the variables named by `s3_access_key_env` / `s3_secret_key_env`).
///
/// Blocking: call it from a blocking thread, never from async code.
pub fn fetch(url: &str, options: &SourceOptions) -> Result<Fetched> {
    fetch_with_env(url, options, &|name| std::env::var(name).ok())
}

/// [`fetch`] with the environment lookup supplied by the caller (`env(name)` gives the value
/// of the variable `name`); tests and embedders use it instead of the process environment.
pub fn fetch_with_env(
    url: &str,
    options: &SourceOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Fetched> {
    match get(url, options, None, env)? {
        Some(fetched) => Ok(fetched),
        None => Err(Error::Http {
            url: url.to_string(),
            reason: "the store answered 304 Not Modified to an unconditional request".into(),
        }),
    }
}

/// Reads the object unless its ETag still is `previous_etag` (`If-None-Match`): `Ok(None)`
/// then means the copy read with that ETag is current. Without a previous ETag this is
/// [`fetch`]. Credentials come from the process environment, as for [`fetch`].
///
/// Blocking: call it from a blocking thread, never from async code.
pub fn fetch_if_changed(
    url: &str,
    options: &SourceOptions,
    previous_etag: Option<&str>,
) -> Result<Option<Fetched>> {
    fetch_if_changed_with_env(url, options, previous_etag, &|name| {
        std::env::var(name).ok()
    })
}

/// [`fetch_if_changed`] with the environment lookup supplied by the caller.
pub fn fetch_if_changed_with_env(
    url: &str,
    options: &SourceOptions,
    previous_etag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Fetched>> {
    get(url, options, previous_etag, env)
}

/// An object_store builder for `bucket` on the store `options` describe, with this module's
/// endpoint checks, credentials, timeouts and retries; [`fetch`] builds its client from it,
/// and tools that need more than a GET (tests that upload fixtures) can too. It never reads
/// `AWS_*` variables and never falls back to instance metadata.
pub fn s3_builder(
    bucket: &str,
    options: &SourceOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AmazonS3Builder> {
    let allow_http = options.s3_allow_http.unwrap_or(false);
    let path_style = options.s3_path_style.unwrap_or(true);
    let endpoint = endpoint(options, allow_http)?;
    let endpoint = if path_style {
        endpoint
    } else {
        // Virtual-hosted style: object_store takes the endpoint as the bucket's own URL.
        match endpoint.split_once("://") {
            Some((scheme, host)) => format!("{scheme}://{bucket}.{host}"),
            None => endpoint,
        }
    };
    let region = match options.s3_region.as_deref().map(str::trim) {
        None => DEFAULT_REGION.to_string(),
        Some("") => return Err(Error::Spec("`s3_region` is empty".into())),
        Some(region) => region.to_string(),
    };
    let mut client = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(CONNECT_TIMEOUT)
        .with_timeout(REQUEST_TIMEOUT);
    if let Ok(agent) = HeaderValue::from_str(crate::http::USER_AGENT) {
        client = client.with_user_agent(agent);
    }
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            base: 2.0,
        },
        max_retries: RETRIES,
        retry_timeout: Duration::from_secs(3 * 60),
    };
    let builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_endpoint(endpoint)
        .with_region(region)
        .with_virtual_hosted_style_request(!path_style)
        .with_client_options(client)
        .with_retry(retry)
        .with_metadata_endpoint(NO_METADATA_ENDPOINT);
    Ok(match credentials(options, env)? {
        Some((key_id, secret)) => builder
            .with_access_key_id(key_id)
            .with_secret_access_key(secret),
        None => builder.with_skip_signature(true).with_credentials(Arc::new(
            StaticCredentialProvider::new(AwsCredential {
                key_id: String::new(),
                secret_key: String::new(),
                token: None,
            }),
        )),
    })
}

/// The checked `s3_endpoint`, without a trailing `/`.
fn endpoint(options: &SourceOptions, allow_http: bool) -> Result<String> {
    let Some(endpoint) = options
        .s3_endpoint
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    else {
        return Err(Error::Spec(
            "an s3:// source needs `s3_endpoint` in its options, the URL of the member's own \
             S3-compatible store (e.g. `https://minio.kommune.example:9000`); there is no \
             default endpoint, so nothing is ever sent to AWS"
                .into(),
        ));
    };
    let bad = |reason: &str| Error::Spec(format!("`s3_endpoint` `{endpoint}`: {reason}"));
    let (scheme, rest) = endpoint
        .split_once("://")
        .ok_or_else(|| bad("expected `https://host[:port]`"))?;
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(bad(
                "plain http is refused unless `s3_allow_http = true` (a local MinIO without \
                 TLS; credentials and data then travel unencrypted)",
            ));
        }
        _ => return Err(bad("the scheme must be `https` (or `http`)")),
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(Error::Spec(format!(
            "`s3_endpoint` `{}`: credentials do not belong in the endpoint; name the \
             environment variables that hold them in `s3_access_key_env` and \
             `s3_secret_key_env`",
            crate::remote::redact_url(endpoint)
        )));
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _port)| host)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if host.is_empty() {
        return Err(bad("the host is missing"));
    }
    if host == "amazonaws.com" || host.ends_with(".amazonaws.com") || host.contains(".amazonaws.") {
        return Err(bad(
            "Allmende does not read from AWS; point it at the member's own store",
        ));
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

/// The static key pair from the environment variables the options name; `None` for
/// unsigned requests.
fn credentials(
    options: &SourceOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(String, String)>> {
    let read = |option: &str, name: &str| {
        env(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::Spec(format!(
                "the environment variable `{name}` (named by `{option}`) is not set or empty"
            ))
        })
    };
    match (&options.s3_access_key_env, &options.s3_secret_key_env) {
        (None, None) => Ok(None),
        (Some(key_env), Some(secret_env)) => Ok(Some((
            read("s3_access_key_env", key_env)?,
            read("s3_secret_key_env", secret_env)?,
        ))),
        _ => Err(Error::Spec(
            "give both `s3_access_key_env` and `s3_secret_key_env` (the names of the \
             environment variables holding the credentials), or neither for a public bucket"
                .into(),
        )),
    }
}

/// Why reading an object failed, before it becomes an [`Error::Http`].
#[derive(Debug)]
enum Failure {
    Store(object_store::Error),
    TooLarge { size: u64, limit: u64 },
}

impl From<object_store::Error> for Failure {
    fn from(e: object_store::Error) -> Self {
        Failure::Store(e)
    }
}

/// The one GET behind [`fetch`] and [`fetch_if_changed`].
fn get(
    url: &str,
    options: &SourceOptions,
    previous_etag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Fetched>> {
    let location = parse_s3_url(url)?;
    let signed = options.s3_secret_key_env.is_some();
    let secret = options
        .s3_secret_key_env
        .as_deref()
        .and_then(env)
        .filter(|s| !s.is_empty());
    let store = s3_builder(&location.bucket, options, env)?
        .build()
        .map_err(|e| {
            Error::Spec(redact(
                &format!("invalid S3 store settings: {e}"),
                secret.as_deref(),
            ))
        })?;
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Internal(
            "object_source::fetch blocks and must not be called from async code (use \
             tokio::task::spawn_blocking)"
                .into(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Http {
            url: url.to_string(),
            reason: format!("could not start the I/O runtime: {e}"),
        })?;
    let get_options = GetOptions {
        if_none_match: previous_etag.map(str::to_string),
        ..GetOptions::default()
    };
    let path = Path::parse(&location.key)
        .map_err(|e| Error::Spec(format!("`{url}`: invalid object key ({e})")))?;
    let result = runtime.block_on(read_object(&store, &path, get_options, MAX_OBJECT_BYTES));
    match result {
        Ok(fetched) => Ok(Some(fetched)),
        Err(Failure::Store(object_store::Error::NotModified { .. })) if previous_etag.is_some() => {
            Ok(None)
        }
        Err(failure) => Err(Error::Http {
            url: url.to_string(),
            reason: redact(&describe(&failure, &location, signed), secret.as_deref()),
        }),
    }
}

/// GETs `path` and reads its body, refusing objects over `limit` bytes from their metadata
/// (and stopping should the body run past it anyway).
async fn read_object(
    store: &dyn ObjectStore,
    path: &Path,
    options: GetOptions,
    limit: u64,
) -> std::result::Result<Fetched, Failure> {
    let result = store.get_opts(path, options).await?;
    let meta = result.meta.clone();
    if meta.size > limit {
        return Err(Failure::TooLarge {
            size: meta.size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
    let mut stream = result.into_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let read = bytes.len() as u64 + chunk.len() as u64;
        if read > limit {
            return Err(Failure::TooLarge { size: read, limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        bytes,
        e_tag: meta.e_tag,
        last_modified: Some(
            meta.last_modified
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        ),
        version: meta.version,
    })
}

/// A specific reason for a failed read.
/// `signed`: whether the request carried credentials.
fn describe(failure: &Failure, location: &S3Location, signed: bool) -> String {
    let S3Location { bucket, key } = location;
    let e = match failure {
        Failure::TooLarge { size, limit } => {
            return format!("object larger than {limit} bytes ({size} bytes)");
        }
        Failure::Store(e) => e,
    };
    match e {
        object_store::Error::NotFound { .. } => {
            let text = chain_text(e);
            if text.contains("NoSuchBucket") {
                format!("not found: the bucket `{bucket}` does not exist")
            } else if text.contains("NoSuchKey") {
                format!("not found: no object `{key}` in bucket `{bucket}`")
            } else {
                format!("not found: no object `{key}` in bucket `{bucket}` (or no such bucket)")
            }
        }
        object_store::Error::PermissionDenied { .. } if signed => format!(
            "access denied (HTTP 403) to `{key}` in bucket `{bucket}`: check the credentials \
             in the environment variables named by `s3_access_key_env` / `s3_secret_key_env`, \
             the bucket policy and `s3_region`"
        ),
        object_store::Error::PermissionDenied { .. } => format!(
            "access denied (HTTP 403) to `{key}` in bucket `{bucket}`: the request was \
             unsigned and the object is not public; name the credentials' environment \
             variables in `s3_access_key_env` and `s3_secret_key_env`"
        ),
        object_store::Error::Unauthenticated { .. } => format!(
            "not authenticated (HTTP 401) for bucket `{bucket}`: the store wants credentials \
             (`s3_access_key_env`, `s3_secret_key_env`)"
        ),
        object_store::Error::Precondition { .. } => {
            "the object changed while it was read (precondition failed)".into()
        }
        object_store::Error::NotModified { .. } => {
            "the store answered 304 Not Modified to an unconditional request".into()
        }
        _ => match http_error_kind(e) {
            Some(HttpErrorKind::Timeout) => format!(
                "timed out (connect limit {} s, request limit {} s, {} attempts)",
                CONNECT_TIMEOUT.as_secs(),
                REQUEST_TIMEOUT.as_secs(),
                RETRIES + 1
            ),
            Some(HttpErrorKind::Connect) => format!(
                "could not connect to the store ({} attempts): {}",
                RETRIES + 1,
                chain_text(e)
            ),
            Some(HttpErrorKind::Interrupted) => {
                format!("the connection was interrupted: {}", chain_text(e))
            }
            _ => format!("S3 request failed: {}", chain_text(e)),
        },
    }
}

/// The kind of the first [`HttpError`] in an error's source chain.
fn http_error_kind(e: &object_store::Error) -> Option<HttpErrorKind> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(http) = err.downcast_ref::<HttpError>() {
            return Some(http.kind());
        }
        next = err.source();
    }
    None
}

/// An error and its sources as one line.
fn chain_text(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(err) = next {
        let part = err.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = err.source();
    }
    text
}

/// `text` with every occurrence of the secret replaced by `***`.
fn redact(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "***"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use object_store::aws::AmazonS3ConfigKey;
    use object_store::memory::InMemory;
    use object_store::{ClientConfigKey, ObjectStoreExt, PutPayload};

    use super::*;

    fn minio() -> SourceOptions {
        SourceOptions {
            s3_endpoint: Some("https://minio.kommune.example:9000".into()),
            ..SourceOptions::default()
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_s3_url("s3://opendata/statistik/einwohner 2024.csv").unwrap(),
            S3Location {
                bucket: "opendata".into(),
                key: "statistik/einwohner 2024.csv".into()
            }
        );
        let reason = |url: &str| parse_s3_url(url).unwrap_err().to_string();
        assert!(reason("https://x.example/a.csv").contains("scheme must be `s3`"));
        assert!(reason("opendata/a.csv").contains("expected `s3://"));
        assert!(reason("s3://opendata").contains("no object key"));
        assert!(reason("s3://opendata/").contains("key is empty"));
        assert!(reason("s3://opendata/ordner/").contains("names a folder"));
        assert!(reason("s3://opendata/a//b.csv").contains("invalid object key"));
        assert!(reason("s3://opendata/../b.csv").contains("invalid object key"));
        assert!(reason("s3://Open_Data/a.csv").contains("contains `O`"));
        assert!(reason("s3://ab/a.csv").contains("3 to 63"));
        assert!(reason("s3://-ab/a.csv").contains("start and end"));
        assert!(reason("s3://b/a.csv?versionId=1").contains("query strings"));
        let creds = reason("s3://user:geheim@opendata/a.csv");
        assert!(creds.contains("credentials do not belong"), "{creds}");
        assert!(!creds.contains("geheim"), "{creds}");
    }

    #[test]
    fn endpoint_is_required_and_never_aws() {
        let err = |o: &SourceOptions| s3_builder("b0", o, &no_env).unwrap_err().to_string();
        let missing = err(&SourceOptions::default());
        assert!(missing.contains("needs `s3_endpoint`"), "{missing}");
        assert!(missing.contains("no default endpoint"), "{missing}");
        for aws in [
            "https://s3.eu-central-1.amazonaws.com",
            "https://s3.amazonaws.com:443/",
            "https://S3.AMAZONAWS.COM.",
        ] {
            let o = SourceOptions {
                s3_endpoint: Some(aws.into()),
                ..SourceOptions::default()
            };
            assert!(err(&o).contains("does not read from AWS"), "{aws}");
        }
        let http = SourceOptions {
            s3_endpoint: Some("http://127.0.0.1:9000".into()),
            ..SourceOptions::default()
        };
        assert!(err(&http).contains("s3_allow_http = true"));
        let http_ok = SourceOptions {
            s3_allow_http: Some(true),
            ..http
        };
        assert!(s3_builder("b0", &http_ok, &no_env).is_ok());
        let ftp = SourceOptions {
            s3_endpoint: Some("ftp://minio.example".into()),
            ..SourceOptions::default()
        };
        assert!(err(&ftp).contains("scheme must be"));
        let userinfo = SourceOptions {
            s3_endpoint: Some("https://admin:geheim@minio.example".into()),
            ..SourceOptions::default()
        };
        let e = err(&userinfo);
        assert!(
            e.contains("credentials do not belong") && !e.contains("geheim"),
            "{e}"
        );
    }

    /// The builder `fetch` uses can never fall back to AWS's ambient credential chain: it
    /// has static keys or skips signing, and object_store's last resort (the instance
    /// metadata service) is pinned to a closed local port.
    #[test]
    fn no_ambient_credentials() {
        let anonymous = s3_builder("opendata", &minio(), &no_env).unwrap();
        let get = |b: &AmazonS3Builder, k| b.get_config_value(&k);
        assert_eq!(
            get(&anonymous, AmazonS3ConfigKey::SkipSignature).as_deref(),
            Some("true")
        );
        assert_eq!(get(&anonymous, AmazonS3ConfigKey::AccessKeyId), None);
        assert_eq!(
            get(&anonymous, AmazonS3ConfigKey::MetadataEndpoint).as_deref(),
            Some(NO_METADATA_ENDPOINT)
        );
        for key in [
            AmazonS3ConfigKey::WebIdentityTokenFile,
            AmazonS3ConfigKey::RoleArn,
            AmazonS3ConfigKey::ContainerCredentialsRelativeUri,
            AmazonS3ConfigKey::ContainerCredentialsFullUri,
            AmazonS3ConfigKey::Token,
        ] {
            assert_eq!(get(&anonymous, key), None);
        }
        assert_eq!(
            get(&anonymous, AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("https://minio.kommune.example:9000")
        );
        assert_eq!(
            get(&anonymous, AmazonS3ConfigKey::Region).as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            get(&anonymous, AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref(),
            Some("false")
        );
        assert_eq!(
            get(
                &anonymous,
                AmazonS3ConfigKey::Client(ClientConfigKey::AllowHttp)
            )
            .as_deref(),
            Some("false")
        );
        assert_eq!(
            get(
                &anonymous,
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout)
            )
            .as_deref(),
            Some("30s")
        );
        assert!(anonymous.build().is_ok());

        let signed_options = SourceOptions {
            s3_access_key_env: Some("KEY".into()),
            s3_secret_key_env: Some("SECRET".into()),
            s3_path_style: Some(false),
            s3_region: Some("de-nrw-1".into()),
            ..minio()
        };
        let env = |name: &str| Some(format!("value-of-{name}"));
        let signed = s3_builder("opendata", &signed_options, &env).unwrap();
        assert_eq!(
            get(&signed, AmazonS3ConfigKey::SkipSignature).as_deref(),
            Some("false")
        );
        assert_eq!(
            get(&signed, AmazonS3ConfigKey::AccessKeyId).as_deref(),
            Some("value-of-KEY")
        );
        assert_eq!(
            get(&signed, AmazonS3ConfigKey::SecretAccessKey).as_deref(),
            Some("value-of-SECRET")
        );
        assert_eq!(
            get(&signed, AmazonS3ConfigKey::Region).as_deref(),
            Some("de-nrw-1")
        );
        assert_eq!(
            get(&signed, AmazonS3ConfigKey::Endpoint).as_deref(),
            Some("https://opendata.minio.kommune.example:9000")
        );
        assert_eq!(
            get(&signed, AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref(),
            Some("true")
        );
    }

    #[test]
    fn credential_options() {
        let one = SourceOptions {
            s3_access_key_env: Some("KEY".into()),
            ..minio()
        };
        let e = s3_builder("opendata", &one, &no_env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("give both"), "{e}");
        let both = SourceOptions {
            s3_secret_key_env: Some("SECRET".into()),
            ..one
        };
        let e = s3_builder("opendata", &both, &no_env)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`KEY` (named by `s3_access_key_env`) is not set"),
            "{e}"
        );
        let only_key = |name: &str| (name == "KEY").then(|| "k".to_string());
        let e = s3_builder("opendata", &both, &only_key)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`SECRET` (named by `s3_secret_key_env`)"), "{e}");
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn reads_limits_and_conditions() {
        let store = InMemory::new();
        let path = Path::from("a/b.csv");
        let at = S3Location {
            bucket: "opendata".into(),
            key: "a/b.csv".into(),
        };
        block_on(store.put(&path, PutPayload::from_static(b"x;y\n1;2\n"))).unwrap();
        let fetched = block_on(read_object(&store, &path, GetOptions::default(), 1024)).unwrap();
        assert_eq!(fetched.bytes, b"x;y\n1;2\n");
        assert!(fetched.e_tag.is_some());
        assert!(fetched.last_modified.as_deref().unwrap().ends_with(" GMT"));
        assert_eq!(fetched.validators().etag, fetched.e_tag);

        let too_large = block_on(read_object(&store, &path, GetOptions::default(), 4)).unwrap_err();
        assert_eq!(
            describe(&too_large, &at, true),
            "object larger than 4 bytes (8 bytes)"
        );

        let same = GetOptions {
            if_none_match: fetched.e_tag.clone(),
            ..GetOptions::default()
        };
        let unchanged = block_on(read_object(&store, &path, same, 1024)).unwrap_err();
        assert!(matches!(
            unchanged,
            Failure::Store(object_store::Error::NotModified { .. })
        ));

        let missing = block_on(read_object(
            &store,
            &Path::from("nope"),
            GetOptions::default(),
            9,
        ))
        .unwrap_err();
        assert!(describe(&missing, &at, true).starts_with("not found: no object `a/b.csv`"));
    }

    #[test]
    fn reasons_are_specific_and_secret_free() {
        let at = S3Location {
            bucket: "opendata".into(),
            key: "a.csv".into(),
        };
        let boxed = |text: &str| -> Box<dyn std::error::Error + Send + Sync> { text.into() };
        let denied = Failure::Store(object_store::Error::PermissionDenied {
            path: "a.csv".into(),
            source: boxed("AccessDenied"),
        });
        assert!(describe(&denied, &at, true).starts_with("access denied (HTTP 403)"));
        assert!(describe(&denied, &at, false).contains("unsigned"));
        let bucket = Failure::Store(object_store::Error::NotFound {
            path: "a.csv".into(),
            source: boxed("<Code>NoSuchBucket</Code>"),
        });
        assert_eq!(
            describe(&bucket, &at, true),
            "not found: the bucket `opendata` does not exist"
        );
        let timeout = Failure::Store(object_store::Error::Generic {
            store: "S3",
            source: Box::new(HttpError::new(
                HttpErrorKind::Timeout,
                std::io::Error::other("deadline"),
            )),
        });
        assert!(describe(&timeout, &at, true).starts_with("timed out (connect limit 10 s"));
        let leaky = Failure::Store(object_store::Error::Generic {
            store: "S3",
            source: boxed("signature for s3cr3t-key mismatched"),
        });
        let text = redact(&describe(&leaky, &at, true), Some("s3cr3t-key"));
        assert!(
            !text.contains("s3cr3t-key") && text.contains("***"),
            "{text}"
        );
    }

    #[test]
    fn refuses_async_callers() {
        let options = SourceOptions {
            s3_allow_http: Some(true),
            s3_endpoint: Some("http://127.0.0.1:1".into()),
            ..SourceOptions::default()
        };
        let e = block_on(async { fetch_with_env("s3://opendata/a.csv", &options, &no_env) })
            .unwrap_err()
            .to_string();
        assert!(e.contains("must not be called from async code"), "{e}");
    }
}
