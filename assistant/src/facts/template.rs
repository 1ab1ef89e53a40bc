//! The fact template file (`datasets/facts.toml`): its TOML shape and the checks run at load.

use regex::Regex;
use serde::Deserialize;

use super::placeholder::placeholders;
use super::text::{fold, starts_word};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBook {
    /// Question cues: one must occur unless a template sets its own `cues`.
    #[serde(default)]
    cues: Vec<String>,
    #[serde(default)]
    fact: Vec<RawFact>,
}

/// One `[[fact]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFact {
    id: String,
    table: String,
    keywords: Vec<String>,
    #[serde(default)]
    also: Vec<Vec<String>>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    except_regex: Option<String>,
    #[serde(default)]
    cues: Option<Vec<String>>,
    #[serde(default)]
    slot: Vec<RawSlot>,
    sql: String,
    title: String,
    text: String,
    #[serde(default)]
    examples: Vec<String>,
}

/// One `[[fact.slot]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlot {
    name: String,
    values: String,
}

/// A validated template; word lists are folded (see [`fold`]).
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub id: String,
    pub table: String,
    pub keywords: Vec<String>,
    pub also: Vec<Vec<String>>,
    pub except: Vec<String>,
    pub except_regex: Option<Regex>,
    pub cues: Vec<String>,
    pub slots: Vec<Slot>,
    pub sql: String,
    pub title: String,
    pub text: String,
    pub examples: Vec<String>,
}

/// A value taken from the database and recognised in the question.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub name: String,
    /// A SELECT whose first column lists the values.
    pub values: String,
}

impl Template {
    /// True when the word conditions hold for the folded question (no database needed).
    pub fn words_match(&self, question: &str) -> bool {
        let any = |list: &[String]| list.iter().any(|w| starts_word(question, w));
        (self.cues.is_empty() || any(&self.cues))
            && any(&self.keywords)
            && self.also.iter().all(|group| any(group))
            && !any(&self.except)
            && !self
                .except_regex
                .as_ref()
                .is_some_and(|re| re.is_match(question))
    }

    /// Sort key: more slots first, then more `also` groups.
    pub fn specificity(&self) -> (usize, usize) {
        (self.slots.len(), self.also.len())
    }
}

/// Parses and validates a template file; `origin` names it in errors.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Vec<Template>, String> {
    let raw: RawBook = toml::from_str(text).map_err(|e| match failing_entry(text) {
        Some(entry) => format!("{origin}: {entry}: {e}"),
        None => format!("{origin}: {e}"),
    })?;
    let cues = fold_list(&raw.cues);
    let mut out: Vec<Template> = Vec::with_capacity(raw.fact.len());
    for (n, f) in raw.fact.into_iter().enumerate() {
        let what = format!("{origin}: [[fact]] #{} (id \"{}\")", n + 1, f.id);
        let t = compile(f, &cues).map_err(|e| format!("{what}: {e}"))?;
        if out.iter().any(|o| o.id == t.id) {
            return Err(format!("{what}: the id is used twice"));
        }
        out.push(t);
    }
    Ok(out)
}

/// Names the first `[[fact]]` that does not deserialize (for errors on otherwise valid TOML).
fn failing_entry(text: &str) -> Option<String> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let facts = table.get("fact")?.as_array()?;
    facts.iter().enumerate().find_map(|(n, value)| {
        RawFact::deserialize(value.clone()).err()?;
        let id = value.get("id").and_then(toml::Value::as_str).unwrap_or("?");
        Some(format!("[[fact]] #{} (id \"{id}\")", n + 1))
    })
}

fn compile(f: RawFact, cues: &[String]) -> Result<Template, String> {
    if f.id.is_empty()
        || !f
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("id must be lower-case letters, digits and '-'".into());
    }
    let (source, table) = f.table.split_once('.').unwrap_or(("", ""));
    if !identifier(source) || !identifier(table) {
        return Err(format!(
            "table \"{}\" must be \"source.table\" in lower case",
            f.table
        ));
    }
    let keywords = fold_list(&f.keywords);
    if keywords.is_empty() {
        return Err("keywords must list at least one word".into());
    }
    let also: Vec<Vec<String>> = f.also.iter().map(|g| fold_list(g)).collect();
    if also.iter().any(Vec::is_empty) {
        return Err("every group in `also` needs at least one word".into());
    }
    let except_regex = match &f.except_regex {
        Some(re) => Some(Regex::new(re).map_err(|e| format!("except_regex: {e}"))?),
        None => None,
    };
    let mut slots: Vec<Slot> = Vec::new();
    for s in f.slot {
        if !identifier(&s.name) || slots.iter().any(|o| o.name == s.name) {
            return Err(format!(
                "slot name \"{}\" must be a unique lower-case identifier",
                s.name
            ));
        }
        check_select(&s.values).map_err(|e| format!("slot {}: values {e}", s.name))?;
        if !placeholders(&s.values)?.is_empty() {
            return Err(format!("slot {}: values cannot use placeholders", s.name));
        }
        slots.push(Slot {
            name: s.name,
            values: s.values,
        });
    }
    check_select(&f.sql).map_err(|e| format!("sql {e}"))?;
    if !f.sql.to_lowercase().contains(&f.table) {
        return Err(format!("sql does not read its table {}", f.table));
    }
    let used = placeholders(&f.sql)?;
    for (name, decimals) in &used {
        if !slots.iter().any(|s| &s.name == name) || decimals.is_some() {
            return Err(format!("sql uses {{{name}}} but there is no slot {name}"));
        }
    }
    if let Some(s) = slots
        .iter()
        .find(|s| !used.iter().any(|(n, _)| n == &s.name))
    {
        return Err(format!("slot {} is never used in sql", s.name));
    }
    for (field, text) in [("title", &f.title), ("text", &f.text)] {
        if text.trim().is_empty() {
            return Err(format!("{field} is empty"));
        }
        placeholders(text).map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(Template {
        id: f.id,
        table: f.table,
        keywords,
        also,
        except: fold_list(&f.except),
        except_regex,
        cues: f.cues.as_deref().map_or_else(|| cues.to_vec(), fold_list),
        slots,
        sql: f.sql,
        title: f.title,
        text: f.text,
        examples: f.examples,
    })
}

fn fold_list(words: &[String]) -> Vec<String> {
    words
        .iter()
        .map(|w| fold(w))
        .filter(|w| !w.trim().is_empty())
        .collect()
}

/// A lower-case SQL-style identifier (`stadtbezirk`, `jahr_2`).
pub(crate) fn identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// One read-only statement: starts with SELECT or WITH (after comments), no `;`.
fn check_select(sql: &str) -> Result<(), String> {
    let body: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let first = body
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if first != "select" && first != "with" {
        return Err("must be a single SELECT (or WITH … SELECT) statement".into());
    }
    let mut quoted = false;
    let mut outside_quotes = sql.chars().filter(|&c| {
        quoted ^= c == '\'';
        !quoted
    });
    if outside_quotes.any(|c| c == ';') {
        return Err("must be a single SELECT statement (no ';' outside quotes)".into());
    }
    Ok(())
}
