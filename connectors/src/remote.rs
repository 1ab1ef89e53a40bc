//! Reading a [`SourceSpec`] from where it lives: a local file, a local directory of JSON
//! objects (OParl dumps), an HTTP(S) URL (one file, or a paged protocol: OParl lists, CKAN
//! `package_search`, DCAT Hydra pages), an object in an S3-compatible store (`s3://`) or a
//! PostgreSQL database. Single remote files are
//! fetched conditionally: the ETag / Last-Modified of the last snapshot go along, and a
//! `304 Not Modified` leaves the snapshot as it is ([`Fetched::NotModified`]). Paged sources
//! are harvested whole; their content hash (over every page, in order) decides whether the
//! snapshot is rewritten.

use std::cell::RefCell;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::catalogue::{self, CatalogueTable};
use crate::fetch::Fetch;
use crate::http::{Conditional, HttpClient, Validators};
use crate::oparl::{self, OparlKind};
use crate::postgres_register::{self, PgSource};
use crate::provenance::Provenance;
use crate::source::{Connector, Format, SourceSpec};
use crate::{Error, Parsed, Result};

/// Pages a paged source may take unless `options.max_pages` says otherwise.
pub const DEFAULT_MAX_PAGES: usize = 1000;
/// Datasets per CKAN `package_search` page unless `options.page_size` says otherwise.
pub const DEFAULT_CKAN_PAGE_SIZE: usize = 100;

/// What reading a source gave.
#[derive(Debug)]
pub enum Fetched {
    /// The parsed rows, the content hash and (for single remote files) the HTTP validators.
    Fresh {
        parsed: Parsed,
        origin: String,
        sha256: String,
        validators: Option<Validators>,
    },
    /// The server said the file did not change since the last snapshot.
    NotModified { origin: String },
}

/// Where a spec's data is.
enum Location<'a> {
    File(&'a Path),
    Dir(&'a Path),
    Url(&'a str),
    Object(&'a str),
    Database(&'a str),
}

fn location(spec: &SourceSpec) -> Result<Location<'_>> {
    let has_path = !spec.path.as_os_str().is_empty();
    match (&spec.url, has_path) {
        (Some(_), true) => Err(Error::Spec(format!(
            "{}.{}: give either `path` or `url`, not both",
            spec.source, spec.table
        ))),
        (None, false) => Err(Error::Spec(format!(
            "{}.{}: a source needs a `path` or a `url`",
            spec.source, spec.table
        ))),
        (Some(url), false)
            if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
        {
            Ok(Location::Database(url))
        }
        (Some(url), false) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(Location::Url(url))
        }
        (Some(url), false) if url.starts_with("s3://") => Ok(Location::Object(url)),
        (Some(url), false) => Err(Error::Spec(format!(
            "{}.{}: `{}` is neither an http(s), s3 nor a postgres URL",
            spec.source,
            spec.table,
            redact_url(url)
        ))),
        (None, true) if spec.path.is_dir() => Ok(Location::Dir(&spec.path)),
        (None, true) => Ok(Location::File(&spec.path)),
    }
}

/// A URL with its password (if any) replaced by `***`, for messages and provenance.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
    let sep = if rest.contains('/') { "/" } else { "" };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{sep}{tail}")
        }
        None => url.to_string(),
    }
}

/// Records every page a protocol walker fetches into one SHA-256, in order.
struct HashingFetch<'a> {
    inner: &'a dyn Fetch,
    hasher: RefCell<Sha256>,
}

impl Fetch for HashingFetch<'_> {
    fn get(&self, url: &str) -> Result<Vec<u8>> {
        let body = self.inner.get(url)?;
        let mut h = self.hasher.borrow_mut();
        h.update(url.as_bytes());
        h.update(&body);
        Ok(body)
    }
}

/// Reads a spec's data. `previous` is the provenance of the current snapshot, whose HTTP
/// validators make a conditional request for a single remote file.
pub fn fetch_and_parse(
    spec: &SourceSpec,
    http: &HttpClient,
    previous: Option<&Provenance>,
) -> Result<Fetched> {
    if matches!(spec.format, Format::Xmeld | Format::Postgres) && !spec.personal {
        return Err(Error::Spec(format!(
            "{}.{}: register formats (xmeld, postgres) hold personal data: set `personal = true`",
            spec.source, spec.table
        )));
    }
    let o = &spec.options;
    let max_pages = o.max_pages.unwrap_or(DEFAULT_MAX_PAGES);
    match (location(spec)?, spec.format) {
        (Location::Database(url), Format::Postgres) => {
            let query = o.query.clone().ok_or_else(|| {
                Error::Spec(format!(
                    "{}.{}: a postgres source needs `options.query` (one SELECT)",
                    spec.source, spec.table
                ))
            })?;
            let origin = redact_url(url);
            let parsed = postgres_register::read(
                &PgSource {
                    url: url.to_string(),
                    query,
                },
                &origin,
            )?;
            let sha256 = batch_hash(&parsed)?;
            Ok(Fetched::Fresh {
                parsed,
                origin,
                sha256,
                validators: None,
            })
        }
        (_, Format::Postgres) => Err(Error::Spec(format!(
            "{}.{}: a postgres source needs `url = \"postgres://…\"`",
            spec.source, spec.table
        ))),
        (Location::Url(url), format) if paged(format) => {
            let hashing = HashingFetch {
                inner: http,
                hasher: RefCell::new(Sha256::new()),
            };
            let parsed = harvest(&hashing, url, format, spec, max_pages)?;
            Ok(Fetched::Fresh {
                parsed,
                origin: url.to_string(),
                sha256: hex::encode(hashing.hasher.into_inner().finalize()),
                validators: None,
            })
        }
        (Location::Url(url), format) => {
            let previous_validators = previous.and_then(|p| p.validators.as_ref());
            match http.get_conditional(url, previous_validators)? {
                Conditional::NotModified => Ok(Fetched::NotModified {
                    origin: url.to_string(),
                }),
                Conditional::Fresh { body, validators } => Ok(Fetched::Fresh {
                    parsed: parse_bytes(spec, format, &body, url)?,
                    origin: url.to_string(),
                    sha256: crate::provenance::sha256_hex(&body),
                    validators: Some(validators),
                }),
            }
        }
        (Location::Object(url), format) => {
            let previous_etag = previous
                .and_then(|p| p.validators.as_ref())
                .and_then(|v| v.etag.as_deref());
            match crate::object_source::fetch_if_changed(url, &spec.options, previous_etag)? {
                None => Ok(Fetched::NotModified {
                    origin: url.to_string(),
                }),
                Some(object) => Ok(Fetched::Fresh {
                    parsed: parse_bytes(spec, format, &object.bytes, url)?,
                    origin: url.to_string(),
                    sha256: crate::provenance::sha256_hex(&object.bytes),
                    validators: Some(object.validators()),
                }),
            }
        }
        (Location::Dir(dir), format) => {
            let pages = read_dir_pages(dir)?;
            let mut hasher = Sha256::new();
            for (name, bytes) in &pages {
                hasher.update(name.as_bytes());
                hasher.update(bytes);
            }
            let parsed = parse_pages(format, &pages)?;
            Ok(Fetched::Fresh {
                parsed,
                origin: dir.display().to_string(),
                sha256: hex::encode(hasher.finalize()),
                validators: None,
            })
        }
        (Location::File(path), format) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            let origin = path.display().to_string();
            let parsed = parse_bytes(spec, format, &bytes, &origin)?;
            Ok(Fetched::Fresh {
                parsed,
                sha256: crate::provenance::sha256_hex(&bytes),
                origin,
                validators: None,
            })
        }
        (Location::Database(_), _) => Err(Error::Spec(format!(
            "{}.{}: a postgres URL needs `format = \"postgres\"`",
            spec.source, spec.table
        ))),
    }
}

/// Formats read as protocols (several requests) rather than as one file.
fn paged(format: Format) -> bool {
    oparl_kind(format).is_some()
        || matches!(
            format,
            Format::DcatDatasets
                | Format::DcatDistributions
                | Format::CkanDatasets
                | Format::CkanDistributions
        )
}

fn oparl_kind(format: Format) -> Option<OparlKind> {
    match format {
        Format::OparlPapers => Some(OparlKind::Paper),
        Format::OparlMeetings => Some(OparlKind::Meeting),
        Format::OparlOrganizations => Some(OparlKind::Organization),
        _ => None,
    }
}

fn catalogue_table(format: Format) -> Option<CatalogueTable> {
    match format {
        Format::DcatDatasets | Format::CkanDatasets => Some(CatalogueTable::Datasets),
        Format::DcatDistributions | Format::CkanDistributions => {
            Some(CatalogueTable::Distributions)
        }
        _ => None,
    }
}

fn harvest(
    fetch: &dyn Fetch,
    url: &str,
    format: Format,
    spec: &SourceSpec,
    max_pages: usize,
) -> Result<Parsed> {
    let o = &spec.options;
    if let Some(kind) = oparl_kind(format) {
        return oparl::harvest(fetch, url, kind, o.modified_since.as_deref(), max_pages);
    }
    let table = catalogue_table(format)
        .ok_or_else(|| Error::Internal(format!("{format:?} is not a paged format")))?;
    match format {
        Format::CkanDatasets | Format::CkanDistributions => catalogue::harvest_ckan(
            fetch,
            url,
            table,
            o.query.as_deref(),
            o.page_size.unwrap_or(DEFAULT_CKAN_PAGE_SIZE),
            max_pages,
        ),
        _ => catalogue::harvest_dcat(fetch, url, table, max_pages),
    }
}

/// Parses the files of a directory (or one file) of a multi-file format: OParl objects and
/// lists, DCAT pages, CKAN responses, law texts.
pub(crate) fn parse_pages(format: Format, pages: &[(String, Vec<u8>)]) -> Result<Parsed> {
    if let Some(kind) = oparl_kind(format) {
        return oparl::parse_objects(kind, pages);
    }
    match (format, catalogue_table(format)) {
        (Format::CkanDatasets | Format::CkanDistributions, Some(table)) => {
            catalogue::parse_ckan(table, pages)
        }
        (_, Some(table)) => catalogue::parse_dcat(table, pages, None),
        (Format::LawText, _) => concat_parsed(
            pages
                .iter()
                .map(|(origin, bytes)| crate::law_text::parse(bytes, origin))
                .collect::<Result<Vec<_>>>()?,
        ),
        _ => Err(Error::Spec(format!(
            "format {format:?} reads one file, not a directory"
        ))),
    }
}

/// One table from several parses of the same format (files of a directory).
fn concat_parsed(parts: Vec<Parsed>) -> Result<Parsed> {
    let schema = parts
        .first()
        .map(|p| p.batch.schema())
        .ok_or_else(|| Error::Internal("no files to concatenate".into()))?;
    let batches: Vec<_> = parts.iter().map(|p| p.batch.clone()).collect();
    let batch = arrow::compute::concat_batches(&schema, &batches)?;
    let mut quarantine = Vec::new();
    let mut notes = Vec::new();
    let mut rows_read = 0;
    for p in parts {
        rows_read += p.rows_read;
        quarantine.extend(p.quarantine);
        notes.extend(p.notes);
    }
    Ok(Parsed {
        batch,
        quarantine,
        rows_read,
        notes,
    })
}

/// Parses one file's bytes with the spec's connector.
fn parse_bytes(spec: &SourceSpec, format: Format, bytes: &[u8], origin: &str) -> Result<Parsed> {
    crate::source::Configured {
        format,
        options: &spec.options,
    }
    .parse(bytes, origin)
}

/// Every `*.json`, `*.jsonld`, `*.ttl`, `*.rdf`, `*.xml` and `*.md` file of a directory, by
/// name.
fn read_dir_pages(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let pages = read_files(dir, &["json", "jsonld", "ttl", "rdf", "xml", "md"])?;
    if pages.is_empty() {
        return Err(Error::Malformed {
            origin: dir.display().to_string(),
            reason: "the directory holds no .json, .jsonld, .ttl, .rdf, .xml or .md files".into(),
        });
    }
    Ok(pages)
}

/// The files of `dir` whose extension is one of `extensions` (any case), sorted by path, as
/// `(path, bytes)` pages; empty when there are none (the caller says what was expected).
pub(crate) fn read_files(dir: &Path, extensions: &[&str]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let wanted = path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| extensions.iter().any(|e| x.eq_ignore_ascii_case(e)));
        if wanted && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            Ok((p.display().to_string(), bytes))
        })
        .collect()
}

/// A content hash of parsed rows, for sources without raw bytes (databases): the Arrow IPC
/// stream of the batch.
fn batch_hash(parsed: &Parsed) -> Result<String> {
    let mut buf = Vec::new();
    {
        let mut writer =
            arrow::ipc::writer::StreamWriter::try_new(&mut buf, &parsed.batch.schema())?;
        writer.write(&parsed.batch)?;
        writer.finish()?;
    }
    Ok(crate::provenance::sha256_hex(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_in_urls() {
        assert_eq!(
            redact_url("postgres://melde:geheim@db.intern:5432/register"),
            "postgres://melde:***@db.intern:5432/register"
        );
        assert_eq!(redact_url("https://example.org/x"), "https://example.org/x");
        assert_eq!(redact_url("postgres://u:p@h"), "postgres://u:***@h");
    }
}
