//! Registers kept in a PostgreSQL database: one read-only query, read into an Arrow table.
//!
//! [`read`] connects with the URL of a [`PgSource`] (`postgres://user:pass@host:port/db`, or a
//! key-value connection string), checks that the query is a single `SELECT` or `WITH`
//! statement, and runs it inside a read-only transaction (`START TRANSACTION READ ONLY`, rolled
//! back at the end). The transaction is the real guard — a `WITH` whose main statement writes,
//! `SELECT … INTO` or `nextval()` fail in it; the statement check only refuses the obvious early
//! and gives a clear message. Give the connector a database role that may only read anyway.
//!
//! Rows are fetched through a portal (a server-side cursor) in chunks of [`CHUNK_ROWS`], one
//! Arrow batch per chunk, concatenated at the end: the rows of only one chunk are in memory
//! next to the growing Arrow columns.
//!
//! | PostgreSQL | Arrow |
//! |---|---|
//! | `int2`, `int4`, `int8`, `oid` | Int64 |
//! | `float4`, `float8`, `numeric` (through its decimal text; `NaN` stays NaN) | Float64 |
//! | `text`, `varchar`, `bpchar`, `name`, `"char"`, `citext`, enums | Utf8 |
//! | `uuid`, `json`, `jsonb`, `xml`, `time` | Utf8 (their text form) |
//! | `date` | Date32 |
//! | `timestamp` | Timestamp(µs) |
//! | `timestamptz` | Timestamp(µs, `UTC`) |
//! | `bool` | Boolean |
//! | a domain | as its base type |
//!
//! Any other type (arrays, `interval`, `bytea`, `money`, geometric and network types, …) is an
//! [`Error::Spec`] naming the column and its type: cast it in the query (`col::text`).
//! `infinity`/`-infinity` dates and timestamps become null and are counted in the notes.
//!
//! **The password never leaves this module**: connection and query errors are
//! [`Error::Database`] with the URL *without* the password as origin, and the password is
//! removed from every message and from the origin label. `PgSource`'s `Debug` output hides it.
//! Row values are never logged.
//!
//! **Blocking.** The `postgres` crate runs its own small tokio runtime and panics when called
//! from inside a tokio runtime. Call [`read`] from synchronous code, or from async code through
//! `tokio::task::spawn_blocking`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use postgres::types::{FromSql, Kind, Type};
use postgres::{Config, NoTls, Row};

use crate::{Error, Parsed, Result};

/// Rows fetched from the portal per round trip (and rows per intermediate batch).
pub const CHUNK_ROWS: i32 = 8192;

/// Connect timeout used when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days from 1970-01-01 to 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;

/// A register table in PostgreSQL: where it is and which query reads it.
#[derive(Clone)]
pub struct PgSource {
    /// Connection URL, `postgres://user:pass@host:port/db` (or a key-value connection string
    /// such as `host=… user=… password=… dbname=…`). It holds a secret: log
    /// [`PgSource::redacted_url`], never this.
    pub url: String,
    /// One read-only `SELECT` or `WITH` statement.
    pub query: String,
}

impl fmt::Debug for PgSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgSource")
            .field("url", &self.redacted_url())
            .field("query", &self.query)
            .finish()
    }
}

impl PgSource {
    /// The connection URL without the password (for provenance, errors and logs).
    pub fn redacted_url(&self) -> String {
        redact(&self.url)
    }
}

/// The URL (or key-value connection string) without its password.
fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let rest = match rest.split_once('@') {
            Some((creds, host)) => {
                let user = creds.split(':').next().unwrap_or_default();
                if user.is_empty() {
                    host.to_string()
                } else {
                    format!("{user}@{host}")
                }
            }
            None => rest.to_string(),
        };
        let rest = match rest.split_once('?') {
            Some((path, params)) => {
                let kept: Vec<&str> = params
                    .split('&')
                    .filter(|p| !p.to_ascii_lowercase().starts_with("password="))
                    .collect();
                if kept.is_empty() {
                    path.to_string()
                } else {
                    format!("{path}?{}", kept.join("&"))
                }
            }
            None => rest,
        };
        return format!("{scheme}://{rest}");
    }
    // Key-value form: drop `password=…` (also a quoted value with spaces).
    let mut out = Vec::new();
    let mut skipping_quoted = false;
    for token in url.split_whitespace() {
        if skipping_quoted {
            if token.ends_with('\'') && !token.ends_with("\\'") {
                skipping_quoted = false;
            }
            continue;
        }
        let lower = token.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("password") {
            let value = value.trim_start_matches(' ');
            if value.starts_with('=') {
                let v = &token[token.find('=').map_or(token.len(), |i| i + 1)..];
                skipping_quoted = v.starts_with('\'') && (v.len() < 2 || !v.ends_with('\''));
                continue;
            }
        }
        out.push(token);
    }
    out.join(" ")
}

/// Every form the password may take in messages: as written in the URL and decoded.
fn secrets(url: &str, config: Option<&Config>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, rest)) = url.split_once("://")
        && let Some((creds, _)) = rest.split_once('@')
        && let Some((_, password)) = creds.split_once(':')
    {
        out.push(password.to_string());
    }
    for part in url.split(['?', '&', ' ']) {
        if let Some(v) = part.strip_prefix("password=") {
            out.push(v.trim_matches('\'').to_string());
        }
    }
    if let Some(p) = config.and_then(Config::get_password) {
        out.push(String::from_utf8_lossy(p).into_owned());
    }
    out.retain(|s| !s.is_empty());
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for s in secrets {
        text = text.replace(s.as_str(), "***");
    }
    text
}

/// An error's message with its causes (`db error: FATAL: …`).
fn describe(e: &postgres::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}

/// Checks that `query` is one `SELECT` or `WITH` statement and returns it without a trailing
/// semicolon. String literals, quoted identifiers, dollar quotes and comments are skipped, so a
/// `;` inside them does not count.
fn single_select(query: &str) -> Result<&str> {
    let bytes = query.as_bytes();
    let mut i = 0;
    let mut first_word: Option<String> = None;
    let mut end: Option<usize> = None;
    while i < bytes.len() {
        let c = bytes[i];
        let rest = &query[i..];
        if rest.starts_with("--") {
            i += rest.find('\n').map_or(rest.len(), |n| n + 1);
        } else if rest.starts_with("/*") {
            // Block comments nest in PostgreSQL.
            let mut depth = 0usize;
            let mut j = i;
            while j < bytes.len() {
                if bytes[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if bytes[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            i = j;
        } else if c == b'\'' || c == b'"' {
            let backslash = c == b'\''
                && i > 0
                && matches!(bytes[i - 1], b'e' | b'E')
                && (i < 2 || !is_ident(bytes[i - 2]));
            let mut j = i + 1;
            while j < bytes.len() {
                if backslash && bytes[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if bytes[j] == c {
                    if bytes.get(j + 1) == Some(&c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            i = j + 1;
        } else if c == b'$' && (i == 0 || !is_ident(bytes[i - 1])) {
            // $tag$ … $tag$ (but not a parameter like $1).
            let tag_len = bytes[i + 1..].iter().take_while(|b| is_ident(**b)).count();
            let digit = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !digit && bytes.get(i + 1 + tag_len) == Some(&b'$') {
                let tag = &bytes[i..i + tag_len + 2];
                let body = &bytes[i + tag.len()..];
                let close = body.windows(tag.len()).position(|w| w == tag);
                i += tag.len() + close.map_or(body.len(), |p| p + tag.len());
            } else {
                i += 1;
            }
        } else if c == b';' {
            if end.is_none() {
                end = Some(i);
            }
            i += 1;
        } else if c.is_ascii_whitespace() || c == b'(' {
            i += 1;
        } else {
            if end.is_some() {
                return Err(Error::Spec(
                    "the query holds more than one statement; only a single read-only SELECT or WITH query is allowed".into(),
                ));
            }
            if first_word.is_none() {
                let word: String = rest
                    .chars()
                    .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
                    .collect();
                first_word = Some(word.to_uppercase());
            }
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    match first_word.as_deref() {
        Some("SELECT" | "WITH") => Ok(query[..end.unwrap_or(query.len())].trim()),
        Some(other) => Err(Error::Spec(format!(
            "only a single read-only SELECT or WITH query is allowed, not {}",
            if other.is_empty() {
                "this statement"
            } else {
                other
            }
        ))),
        None => Err(Error::Spec(
            "the query is empty; give a single read-only SELECT or WITH query".into(),
        )),
    }
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// How one column is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Text,
    Char,
    Uuid,
    Jsonb,
    Time,
    Date,
    Timestamp,
    TimestampTz,
    Bool,
}

impl Plan {
    fn for_type(ty: &Type) -> Option<Self> {
        match ty.kind() {
            Kind::Domain(base) => return Self::for_type(base),
            Kind::Enum(_) => return Some(Self::Text),
            Kind::Simple => {}
            _ => return None,
        }
        if ty.name() == "citext" {
            return Some(Self::Text);
        }
        if ty.schema() != "pg_catalog" {
            return None;
        }
        Some(match ty.name() {
            "int2" => Self::Int2,
            "int4" => Self::Int4,
            "int8" => Self::Int8,
            "oid" => Self::Oid,
            "float4" => Self::Float4,
            "float8" => Self::Float8,
            "numeric" => Self::Numeric,
            "text" | "varchar" | "bpchar" | "name" | "unknown" | "json" | "xml" => Self::Text,
            "char" => Self::Char,
            "uuid" => Self::Uuid,
            "jsonb" => Self::Jsonb,
            "time" => Self::Time,
            "date" => Self::Date,
            "timestamp" => Self::Timestamp,
            "timestamptz" => Self::TimestampTz,
            "bool" => Self::Bool,
            _ => return None,
        })
    }

    fn data_type(self) -> DataType {
        match self {
            Self::Int2 | Self::Int4 | Self::Int8 | Self::Oid => DataType::Int64,
            Self::Float4 | Self::Float8 | Self::Numeric => DataType::Float64,
            Self::Text | Self::Char | Self::Uuid | Self::Jsonb | Self::Time => DataType::Utf8,
            Self::Date => DataType::Date32,
            Self::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Self::TimestampTz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Self::Bool => DataType::Boolean,
        }
    }
}

/// The raw binary value of any column type.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(
        _: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

type DecodeResult<T> = std::result::Result<T, Box<dyn std::error::Error + Sync + Send>>;

fn be_i64(raw: &[u8]) -> DecodeResult<i64> {
    Ok(i64::from_be_bytes(raw.try_into()?))
}

fn be_i32(raw: &[u8]) -> DecodeResult<i32> {
    Ok(i32::from_be_bytes(raw.try_into()?))
}

/// The decimal text of a binary `numeric` (`NaN`, `Infinity`, `-Infinity` for the specials).
fn numeric_text(raw: &[u8]) -> DecodeResult<String> {
    let word = |i: usize| -> DecodeResult<u16> {
        let b = raw.get(i..i + 2).ok_or("numeric value too short")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|k| word(8 + 2 * k))
        .collect::<DecodeResult<_>>()?;
    let digit = |k: i64| -> u16 {
        usize::try_from(k)
            .ok()
            .and_then(|k| digits.get(k))
            .copied()
            .unwrap_or(0)
    };
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    if weight < 0 {
        out.push('0');
    } else {
        for k in 0..=weight {
            if k == 0 {
                out.push_str(&digit(k).to_string());
            } else {
                out.push_str(&format!("{:04}", digit(k)));
            }
        }
    }
    if dscale > 0 {
        let mut fraction = String::new();
        let mut k = weight + 1;
        while fraction.len() < dscale {
            fraction.push_str(&format!("{:04}", digit(k)));
            k += 1;
        }
        fraction.truncate(dscale);
        out.push('.');
        out.push_str(&fraction);
    }
    Ok(out)
}

fn uuid_text(raw: &[u8]) -> DecodeResult<String> {
    if raw.len() != 16 {
        return Err("uuid value is not 16 bytes".into());
    }
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn time_text(raw: &[u8]) -> DecodeResult<String> {
    let micros = be_i64(raw)?;
    let (secs, frac) = (micros / 1_000_000, micros % 1_000_000);
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let f = format!("{frac:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    Ok(out)
}

/// One column's values of one chunk.
enum Values {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
    Date(Vec<Option<i32>>),
    Timestamp(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

/// Decodes one chunk of rows into a batch; `infinite` counts ±infinity dates and timestamps.
fn chunk_batch(
    rows: &[Row],
    plans: &[Plan],
    names: &[String],
    schema: &SchemaRef,
    infinite: &mut usize,
) -> std::result::Result<RecordBatch, String> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(plans.len());
    for (c, plan) in plans.iter().enumerate() {
        let mut values = match plan.data_type() {
            DataType::Int64 => Values::Int(Vec::with_capacity(rows.len())),
            DataType::Float64 => Values::Float(Vec::with_capacity(rows.len())),
            DataType::Date32 => Values::Date(Vec::with_capacity(rows.len())),
            DataType::Timestamp(..) => Values::Timestamp(Vec::with_capacity(rows.len())),
            DataType::Boolean => Values::Bool(Vec::with_capacity(rows.len())),
            _ => Values::Text(Vec::with_capacity(rows.len())),
        };
        for row in rows {
            let cell: Option<Raw<'_>> = row
                .try_get(c)
                .map_err(|e| format!("column '{}': {}", names[c], describe(&e)))?;
            decode(cell.map(|r| r.0), *plan, &mut values, infinite)
                .map_err(|e| format!("column '{}': cannot decode a value: {e}", names[c]))?;
        }
        arrays.push(match values {
            Values::Int(v) => Arc::new(Int64Array::from(v)),
            Values::Float(v) => Arc::new(Float64Array::from(v)),
            Values::Text(v) => Arc::new(StringArray::from(v)),
            Values::Date(v) => Arc::new(Date32Array::from(v)),
            Values::Timestamp(v) => {
                let array = TimestampMicrosecondArray::from(v);
                match plan {
                    Plan::TimestampTz => Arc::new(array.with_timezone("UTC")),
                    _ => Arc::new(array),
                }
            }
            Values::Bool(v) => Arc::new(BooleanArray::from(v)),
        });
    }
    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| e.to_string())
}

fn decode(
    raw: Option<&[u8]>,
    plan: Plan,
    values: &mut Values,
    infinite: &mut usize,
) -> DecodeResult<()> {
    match values {
        Values::Int(v) => v.push(match raw {
            None => None,
            Some(r) => Some(match plan {
                Plan::Int2 => i64::from(i16::from_sql(&Type::INT2, r)?),
                Plan::Int4 => i64::from(i32::from_sql(&Type::INT4, r)?),
                Plan::Oid => i64::from(u32::from_sql(&Type::OID, r)?),
                _ => i64::from_sql(&Type::INT8, r)?,
            }),
        }),
        Values::Float(v) => v.push(match raw {
            None => None,
            Some(r) => Some(match plan {
                Plan::Float4 => f64::from(f32::from_sql(&Type::FLOAT4, r)?),
                Plan::Float8 => f64::from_sql(&Type::FLOAT8, r)?,
                _ => numeric_text(r)?.parse::<f64>()?,
            }),
        }),
        Values::Text(v) => v.push(match raw {
            None => None,
            Some(r) => Some(match plan {
                Plan::Char => char::from(r.first().copied().unwrap_or(0)).to_string(),
                Plan::Uuid => uuid_text(r)?,
                Plan::Jsonb => match r.split_first() {
                    Some((1, json)) => std::str::from_utf8(json)?.to_string(),
                    _ => return Err("unknown jsonb version".into()),
                },
                Plan::Time => time_text(r)?,
                _ => std::str::from_utf8(r)?.to_string(),
            }),
        }),
        Values::Date(v) => v.push(match raw {
            None => None,
            Some(r) => match be_i32(r)? {
                i32::MAX | i32::MIN => {
                    *infinite += 1;
                    None
                }
                days => Some(days.checked_add(PG_EPOCH_DAYS).ok_or("date out of range")?),
            },
        }),
        Values::Timestamp(v) => v.push(match raw {
            None => None,
            Some(r) => match be_i64(r)? {
                i64::MAX | i64::MIN => {
                    *infinite += 1;
                    None
                }
                micros => Some(
                    micros
                        .checked_add(PG_EPOCH_MICROS)
                        .ok_or("timestamp out of range")?,
                ),
            },
        }),
        Values::Bool(v) => v.push(match raw {
            None => None,
            Some(r) => Some(bool::from_sql(&Type::BOOL, r)?),
        }),
    }
    Ok(())
}

/// Reads the rows of `src.query` from the database at `src.url` into one Arrow table.
///
/// `origin_label` names the source in the notes and logs (e.g. the table name or the
/// redacted URL; the redacted URL is used when it is empty); a password in it is removed.
/// Refuses anything but a single `SELECT`/`WITH` statement and unmappable column types with
/// [`Error::Spec`]; connection and query failures are [`Error::Database`] whose origin is the
/// URL without the password. Blocking: see the module docs for async callers.
pub fn read(src: &PgSource, origin_label: &str) -> Result<Parsed> {
    let origin = src.redacted_url();
    let query = single_select(&src.query)?;
    let parsed_config: std::result::Result<Config, _> = src.url.parse();
    let secrets = secrets(&src.url, parsed_config.as_ref().ok());
    let db_error = |reason: String| Error::Database {
        origin: origin.clone(),
        reason: scrub(&reason, &secrets),
    };
    let mut config =
        parsed_config.map_err(|e| db_error(format!("invalid connection URL: {}", describe(&e))))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("allmende-connectors");
    }
    let label = match scrub(origin_label.trim(), &secrets) {
        l if l.is_empty() => origin.clone(),
        l => l,
    };

    let mut client = config
        .connect(NoTls)
        .map_err(|e| db_error(format!("cannot connect: {}", describe(&e))))?;
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(|e| {
            db_error(format!(
                "cannot start a read-only transaction: {}",
                describe(&e)
            ))
        })?;
    let statement = tx
        .prepare(query)
        .map_err(|e| db_error(format!("query failed: {}", describe(&e))))?;

    let mut plans = Vec::new();
    let mut names = Vec::new();
    let mut fields = Vec::new();
    for column in statement.columns() {
        let plan = Plan::for_type(column.type_()).ok_or_else(|| {
            Error::Spec(format!(
                "column '{}' has PostgreSQL type {}, which the register connector cannot map; cast it in the query (e.g. {}::text)",
                column.name(),
                column.type_(),
                column.name()
            ))
        })?;
        fields.push(Field::new(column.name(), plan.data_type(), true));
        names.push(column.name().to_string());
        plans.push(plan);
    }
    let schema: SchemaRef = Arc::new(Schema::new(fields));

    let portal = tx
        .bind(&statement, &[])
        .map_err(|e| db_error(format!("query failed: {}", describe(&e))))?;
    let mut batches = Vec::new();
    let mut infinite = 0usize;
    loop {
        let rows = tx
            .query_portal(&portal, CHUNK_ROWS)
            .map_err(|e| db_error(format!("query failed: {}", describe(&e))))?;
        if rows.is_empty() {
            break;
        }
        let full = rows.len() == CHUNK_ROWS as usize;
        batches.push(chunk_batch(&rows, &plans, &names, &schema, &mut infinite).map_err(db_error)?);
        if !full {
            break;
        }
    }
    // Read-only anyway; rolling back also discards whatever a called function might have done.
    tx.rollback()
        .map_err(|e| db_error(format!("cannot end the transaction: {}", describe(&e))))?;

    let batch = if batches.is_empty() {
        RecordBatch::new_empty(schema.clone())
    } else {
        arrow::compute::concat_batches(&schema, &batches)?
    };
    let rows = batch.num_rows();
    let mut notes = vec![
        format!("PostgreSQL source {label} ({origin})"),
        format!(
            "{rows} rows read in {} chunks of up to {CHUNK_ROWS} rows, in a read-only transaction",
            batches.len()
        ),
    ];
    if infinite > 0 {
        notes.push(format!(
            "{infinite} infinite dates or timestamps (infinity, -infinity) became null"
        ));
    }
    tracing::info!(origin = %label, rows, chunks = batches.len(), "read PostgreSQL register");
    Ok(Parsed {
        batch,
        quarantine: Vec::new(),
        rows_read: rows,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Binary `numeric`: ndigits, weight, sign, dscale, then base-10000 digits.
    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for word in [digits.len() as u16, weight as u16, sign, dscale] {
            out.extend(word.to_be_bytes());
        }
        for d in digits {
            out.extend(d.to_be_bytes());
        }
        out
    }

    #[test]
    fn numeric_binary_becomes_decimal_text() {
        let cases: [(Vec<u8>, &str); 8] = [
            (numeric(0, 0, 0, &[]), "0"),
            (numeric(0, 0x4000, 1, &[12, 5000]), "-12.5"),
            (numeric(1, 0, 0, &[1]), "10000"),
            (numeric(-1, 0, 4, &[1]), "0.0001"),
            (numeric(-2, 0, 8, &[1]), "0.00000001"),
            (
                numeric(2, 0, 6, &[1234, 5678, 9012, 3456, 7800]),
                "123456789012.345678",
            ),
            (numeric(0, 0, 2, &[7]), "7.00"),
            (numeric(0, 0xC000, 0, &[]), "NaN"),
        ];
        for (raw, text) in cases {
            assert_eq!(numeric_text(&raw).unwrap(), text);
        }
        assert!(numeric_text(&[0, 1]).is_err());
        assert_eq!(
            time_text(&(49_507_250_000i64).to_be_bytes()).unwrap(),
            "13:45:07.25"
        );
    }

    #[test]
    fn the_statement_check_reads_sql_lexically() {
        assert_eq!(single_select(" SELECT 1 ; -- fertig").unwrap(), "SELECT 1");
        assert_eq!(
            single_select("select ';' as \";\", $x$;$x$ ;").unwrap(),
            "select ';' as \";\", $x$;$x$"
        );
        // $1 is a parameter, not a dollar quote: the semicolon after it counts.
        assert!(single_select("SELECT $1; DROP TABLE t").is_err());
        assert!(single_select("SELECT 1 /* unterminated ; DROP").is_ok());
        assert!(single_select("INSERT INTO t SELECT 1").is_err());
        assert!(single_select("selectx 1").is_err());
    }

    proptest! {
        #[test]
        fn the_statement_check_never_panics(query in "\\PC{0,60}") {
            let _ = single_select(&query);
            let _ = redact(&query);
        }

        #[test]
        fn a_password_never_survives_redaction(
            user in "[a-z]{1,8}",
            password in "[A-Za-z0-9!%*+,.~-]{1,16}",
            host in "[a-z]{1,8}",
        ) {
            let url = format!("postgres://{user}:{password}@{host}:5432/db");
            let redacted = redact(&url);
            prop_assert_eq!(redacted, format!("postgres://{user}@{host}:5432/db"));
            let kv = format!("host={host} user={user} password={password} dbname=db");
            prop_assert_eq!(redact(&kv), format!("host={host} user={user} dbname=db"));
        }
    }
}
