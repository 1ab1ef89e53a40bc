//! Facts from data: number questions ("Wie viele Einwohner hat die Südstadt?") answered by a
//! read-only SQL query over an open-data table, cited with the query, the table and its licence.
//!
//! A 1.5B model cannot write reliable SQL, so the questions are matched against curated
//! templates kept as data (`datasets/facts.toml`, format described there). A template matches
//! when its words occur in the question and every slot (`{stadtbezirk}`, `{jahr}`) finds exactly
//! one of its values — read from the database, never taken from the question — as whole words
//! in the question. The most specific matching template (most slots, then most `also` groups)
//! whose query returns a value wins; no match means `None` and the caller falls back to search.
//!
//! Every statement goes through [`QueryEngine::sql`] and therefore its privacy gate; templates
//! over personal tables are skipped before that. A template that is broken (bad SQL, unknown
//! column) or whose table is not ingested is skipped with a log line, so it never breaks a chat.

mod cell;
mod placeholder;
mod template;
mod text;

use std::cmp::Reverse;
use std::path::Path;

use allmende_query::{QueryEngine, QueryResult};

use crate::{Error, Result};
use cell::{Cell, first_row, render};
use placeholder::fill;
use template::Template;
pub use text::{german_float, german_number};

/// A number looked up in an open-data table, with what is needed to cite it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fact {
    /// The id of the template that produced it (e.g. `einwohner-bezirk`).
    pub id: String,
    /// E.g. "Einwohner im Stadtbezirk Südstadt (2025)".
    pub title: String,
    /// German sentence with the value(s) in German number formatting ("31.456").
    pub text: String,
    /// The exact SQL that was run.
    pub sql: String,
    /// `source.table`, e.g. `musterstadt.bevoelkerung`.
    pub table: String,
    /// Licence from the table's provenance (as listed in `allmende.catalog`).
    pub licence: String,
    /// Attribution from the table's provenance; `None` when empty.
    pub attribution: Option<String>,
}

/// Curated question templates (datasets/facts.toml) that turn number questions into read-only SQL.
#[derive(Debug, Clone)]
pub struct FactBook {
    templates: Vec<Template>,
}

impl FactBook {
    /// Reads and validates a template file; errors name the file and the entry.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates templates given as TOML text.
    pub fn from_toml(text: &str) -> Result<Self> {
        Self::parse(text, "fact templates")
    }

    fn parse(text: &str, origin: &str) -> Result<Self> {
        let templates = template::parse(text, origin).map_err(Error::Facts)?;
        Ok(Self { templates })
    }

    /// Number of templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// True when there are no templates.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// `(template id, example question)` for every example listed in the file; each example
    /// should be answered by its own template (a self-check for deployments and tests).
    pub fn examples(&self) -> impl Iterator<Item = (&str, &str)> {
        self.templates
            .iter()
            .flat_map(|t| t.examples.iter().map(|e| (t.id.as_str(), e.as_str())))
    }

    /// The fact answering `question`, if a template matches and the query returns a value.
    /// Errors only for engine failures (execution, timeout); a missing table (source not
    /// ingested), a broken template or a refusal by the privacy gate skip the template.
    pub async fn lookup(&self, engine: &QueryEngine, question: &str) -> Result<Option<Fact>> {
        let folded = text::fold(question);
        let mut candidates: Vec<&Template> = self
            .templates
            .iter()
            .filter(|t| t.words_match(&folded))
            .collect();
        candidates.sort_by_key(|t| Reverse(t.specificity()));
        let mut named = Named::new();
        for t in candidates {
            if let Some(fact) = answer(engine, t, &folded, &mut named).await? {
                tracing::debug!(template = %t.id, "fact found");
                return Ok(Some(fact));
            }
        }
        Ok(None)
    }
}

/// Slot values named in the question, by the SQL that lists them (shared between templates).
type Named = Vec<(String, Vec<Cell>)>;

/// Runs one template whose words matched.
async fn answer(
    engine: &QueryEngine,
    t: &Template,
    question: &str,
    named: &mut Named,
) -> Result<Option<Fact>> {
    if engine.policy().is_personal(&t.table) {
        tracing::warn!(template = %t.id, table = %t.table, "fact template reads a personal table; skipped");
        return Ok(None);
    }
    let Some(snapshot) = engine
        .snapshots()
        .iter()
        .find(|s| s.provenance.table.to_string() == t.table)
    else {
        tracing::debug!(template = %t.id, table = %t.table, "table not ingested; fact template skipped");
        return Ok(None);
    };
    let mut slots: Vec<(String, Cell)> = Vec::with_capacity(t.slots.len());
    for slot in &t.slots {
        if !named.iter().any(|(sql, _)| *sql == slot.values) {
            let Some(result) = run(engine, t, &slot.values).await? else {
                return Ok(None);
            };
            named.push((slot.values.clone(), values_in(question, &result)));
        }
        let found = named
            .iter()
            .find(|(sql, _)| *sql == slot.values)
            .map_or(&[][..], |(_, found)| found);
        let [value] = found else {
            tracing::debug!(template = %t.id, slot = %slot.name, matches = found.len(), "slot not named exactly once");
            return Ok(None);
        };
        slots.push((slot.name.clone(), value.clone()));
    }
    let sql = fill(&t.sql, |name, _| {
        Ok(slots
            .iter()
            .find(|(slot, _)| slot == name)
            .map(|(_, v)| v.sql_literal()))
    });
    let Ok(Some(sql)) = sql else {
        return Err(Error::Internal(format!("template {}: unfilled slot", t.id)));
    };
    let Some(result) = run(engine, t, &sql).await? else {
        return Ok(None);
    };
    let Some(row) = first_row(&result.batches) else {
        return Ok(None);
    };
    let (title, text) = match (
        render(&t.title, &row, &slots),
        render(&t.text, &row, &slots),
    ) {
        (Ok(Some(title)), Ok(Some(text))) => (title, text),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(template = %t.id, error = %e, "fact template is broken; skipped");
            return Ok(None);
        }
        _ => return Ok(None), // a NULL value: nothing to report
    };
    let p = &snapshot.provenance;
    Ok(Some(Fact {
        id: t.id.clone(),
        title,
        text,
        sql,
        table: t.table.clone(),
        licence: p.licence.clone(),
        attribution: Some(p.attribution.clone()).filter(|a| !a.trim().is_empty()),
    }))
}

/// The distinct values of the first column that occur as whole words in the folded question.
fn values_in(question: &str, result: &QueryResult) -> Vec<Cell> {
    let mut found: Vec<Cell> = Vec::new();
    for batch in &result.batches {
        let Some(column) = batch.columns().first() else {
            continue;
        };
        for row in 0..batch.num_rows() {
            let Some(value) = Cell::read(column, row) else {
                continue;
            };
            if text::has_words(question, &text::fold(&value.plain())) && !found.contains(&value) {
                found.push(value);
            }
        }
    }
    found
}

/// Runs one statement; `None` when the template must be skipped.
async fn run(engine: &QueryEngine, t: &Template, sql: &str) -> Result<Option<QueryResult>> {
    use allmende_query::Error as Q;
    match engine.sql(sql).await {
        Ok(result) => Ok(Some(result)),
        Err(Q::InvalidSql(m)) if m.contains("not found") && m.contains("table") => {
            tracing::debug!(template = %t.id, error = %m, "table not ingested; fact template skipped");
            Ok(None)
        }
        Err(e @ Q::PersonalData { .. }) => {
            tracing::warn!(template = %t.id, error = %e, "fact template refused by the privacy gate; skipped");
            Ok(None)
        }
        Err(e @ (Q::InvalidSql(_) | Q::NotReadOnly(_))) => {
            tracing::warn!(template = %t.id, error = %e, "fact template is broken; skipped");
            Ok(None)
        }
        Err(e) => Err(Error::Facts(format!("template {}: {e}", t.id))),
    }
}

#[cfg(test)]
mod tests;
