//! A small in-memory RDF graph for reading DCAT: the quads that `oxrdfio` parses, indexed by
//! subject in document order.
//!
//! `oxrdf` (the term types) is not a direct dependency of this crate, so terms are read from
//! their N-Triples form (`<iri>`, `_:id`, `"value"@lang`, `"value"^^<datatype>`), which
//! `oxrdf` prints with a fixed, reversible set of escapes. IRIs are parsed leniently (the
//! ckanext-dcatde pages carry `tel:` IRIs with spaces and relative IRIs); everything else in
//! the grammar is checked, and the first syntax error stops the parse with its position.

use std::collections::HashMap;

use oxrdfio::{JsonLdProfileSet, RdfFormat, RdfParser, RdfSyntaxError};

use super::RdfSyntax;
use crate::{Error, Result};

/// `rdf:type`.
pub(crate) const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// An RDF term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    /// A named node.
    Iri(String),
    /// A blank node with its label in this document.
    Blank(String),
    /// A literal.
    Literal {
        value: String,
        lang: Option<String>,
        datatype: Option<String>,
    },
}

impl Node {
    /// The IRI of a named node or the value of a literal; `None` for blank nodes.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Node::Iri(iri) => Some(iri),
            Node::Literal { value, .. } => Some(value),
            Node::Blank(_) => None,
        }
    }

    /// Short form for summaries: IRIs in angle brackets, literals quoted.
    pub(crate) fn short(&self) -> String {
        match self {
            Node::Iri(iri) => format!("<{iri}>"),
            Node::Blank(label) => format!("_:{label}"),
            Node::Literal { value, lang, .. } => {
                let value: String = value.chars().take(80).collect();
                match lang {
                    Some(lang) => format!("\"{value}\"@{lang}"),
                    None => format!("\"{value}\""),
                }
            }
        }
    }

    /// Reads a term from its N-Triples form; `None` for forms this reader does not use
    /// (RDF 1.2 triple terms).
    pub(crate) fn from_ntriples(s: &str) -> Option<Node> {
        if s.starts_with("<<") {
            return None;
        }
        if let Some(iri) = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
            return Some(Node::Iri(iri.to_string()));
        }
        if let Some(label) = s.strip_prefix("_:") {
            return Some(Node::Blank(label.to_string()));
        }
        let rest = s.strip_prefix('"')?;
        let (value, after) = unquote(rest)?;
        if after.is_empty() {
            return Some(Node::Literal {
                value,
                lang: None,
                datatype: None,
            });
        }
        if let Some(lang) = after.strip_prefix('@') {
            return Some(Node::Literal {
                value,
                lang: Some(lang.to_string()),
                datatype: None,
            });
        }
        let datatype = after
            .strip_prefix("^^<")
            .and_then(|d| d.strip_suffix('>'))?;
        Some(Node::Literal {
            value,
            lang: None,
            datatype: Some(datatype.to_string()),
        })
    }
}

/// Undoes `oxrdf`'s string escapes up to the closing quote; returns the value and what follows
/// the quote.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut value = String::with_capacity(s.len());
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[i + 1..])),
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'b' => value.push('\u{8}'),
                    't' => value.push('\t'),
                    'n' => value.push('\n'),
                    'f' => value.push('\u{C}'),
                    'r' => value.push('\r'),
                    '"' => value.push('"'),
                    '\\' => value.push('\\'),
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        value.push(char::from_u32(code)?);
                    }
                    'U' => {
                        let hex: String = (0..8)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        value.push(char::from_u32(code)?);
                    }
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                }
            }
            _ => value.push(c),
        }
    }
    None
}

/// The triples of one document, grouped by subject in the order subjects first appear.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    subjects: Vec<Node>,
    index: HashMap<Node, usize>,
    properties: Vec<Vec<(String, Node)>>,
    /// `(subject, type IRI)` of every `rdf:type` triple, in document order.
    types: Vec<(Node, String)>,
    /// Triples read.
    pub(crate) triples: usize,
}

impl Graph {
    /// Parses one document. A syntax error is [`Error::Malformed`] naming `origin` and the
    /// parser's position (1-based line and column).
    pub(crate) fn parse(bytes: &[u8], origin: &str, syntax: RdfSyntax) -> Result<Graph> {
        let format = match syntax {
            RdfSyntax::Turtle => RdfFormat::Turtle,
            RdfSyntax::RdfXml => RdfFormat::RdfXml,
            RdfSyntax::JsonLd => RdfFormat::JsonLd {
                profile: JsonLdProfileSet::empty(),
            },
        };
        let parser = match base_iri(origin) {
            Some(base) => RdfParser::from_format(format)
                .with_base_iri(base)
                .unwrap_or_else(|_| RdfParser::from_format(format)),
            None => RdfParser::from_format(format),
        };
        let mut graph = Graph::default();
        for quad in parser.lenient().for_slice(bytes) {
            let quad = quad.map_err(|e| syntax_error(&e, bytes, origin, syntax, graph.triples))?;
            graph.triples += 1;
            let (Some(subject), Some(object)) = (
                Node::from_ntriples(&quad.subject.to_string()),
                Node::from_ntriples(&quad.object.to_string()),
            ) else {
                continue;
            };
            let predicate = quad.predicate.as_str().to_string();
            if predicate == RDF_TYPE
                && let Node::Iri(class) = &object
            {
                graph.types.push((subject.clone(), class.clone()));
            }
            let slot = match graph.index.get(&subject) {
                Some(&slot) => slot,
                None => {
                    graph.subjects.push(subject.clone());
                    graph.properties.push(Vec::new());
                    graph.index.insert(subject, graph.subjects.len() - 1);
                    graph.subjects.len() - 1
                }
            };
            graph.properties[slot].push((predicate, object));
        }
        Ok(graph)
    }

    /// Every `(predicate, object)` of `subject`, in document order.
    pub(crate) fn properties(&self, subject: &Node) -> &[(String, Node)] {
        self.index
            .get(subject)
            .and_then(|&slot| self.properties.get(slot))
            .map_or(&[], Vec::as_slice)
    }

    /// The objects of `subject` under `predicate`, in document order.
    pub(crate) fn objects<'a, 'p>(
        &'a self,
        subject: &Node,
        predicate: &'p str,
    ) -> impl Iterator<Item = &'a Node> + use<'a, 'p> {
        self.properties(subject)
            .iter()
            .filter(move |(p, _)| p == predicate)
            .map(|(_, o)| o)
    }

    /// Subjects typed `class`, each once, in the order their type triple appears.
    pub(crate) fn instances_of(&self, class: &str) -> Vec<&Node> {
        let mut seen = std::collections::HashSet::new();
        self.types
            .iter()
            .filter(|(_, c)| c == class)
            .map(|(s, _)| s)
            .filter(|s| seen.insert(*s))
            .collect()
    }

    /// Every `(subject, object)` pair linked by `predicate`, in subject order.
    pub(crate) fn pairs<'a, 'p>(
        &'a self,
        predicate: &'p str,
    ) -> impl Iterator<Item = (&'a Node, &'a Node)> + use<'a, 'p> {
        self.subjects
            .iter()
            .zip(&self.properties)
            .flat_map(move |(s, props)| {
                props
                    .iter()
                    .filter(move |(p, _)| p == predicate)
                    .map(move |(_, o)| (s, o))
            })
    }
}

/// The base IRI relative references in a document resolve against: the origin itself when it
/// is a URL, a `file://` URL for a path.
fn base_iri(origin: &str) -> Option<String> {
    let origin = origin.split('#').next().unwrap_or(origin);
    if origin.is_empty() {
        return None;
    }
    if origin.contains("://") {
        return Some(origin.to_string());
    }
    let path = origin.replace('\\', "/").replace(' ', "%20");
    Some(if path.starts_with('/') {
        format!("file://{path}")
    } else {
        format!("file:///{path}")
    })
}

/// A syntax error as [`Error::Malformed`] with the parser's position. The Turtle and JSON-LD
/// parsers report one; for RDF/XML the position of the first XML well-formedness error is
/// looked up with `quick-xml`, else the error is placed after the triples read so far.
fn syntax_error(
    e: &RdfSyntaxError,
    bytes: &[u8],
    origin: &str,
    syntax: RdfSyntax,
    triples: usize,
) -> Error {
    let position = match e.location() {
        Some(range) => format!(
            "line {}, column {}",
            range.start.line + 1,
            range.start.column + 1
        ),
        None => match xml_error_offset(bytes) {
            Some(offset) => {
                let (line, column) = line_column(bytes, offset);
                format!("line {line}, column {column}")
            }
            None => format!("an unknown position after {triples} triples"),
        },
    };
    Error::Malformed {
        origin: origin.to_string(),
        reason: format!("{} syntax error at {position}: {e}", syntax.name()),
    }
}

/// Byte offset of the first XML well-formedness error, if there is one.
fn xml_error_offset(bytes: &[u8]) -> Option<u64> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => return None,
            Ok(_) => {}
            Err(_) => return Some(reader.error_position()),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(bytes: &[u8], offset: u64) -> (usize, usize) {
    let end = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(bytes.len());
    let before = String::from_utf8_lossy(&bytes[..end]);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_round_trip_through_their_ntriples_form() {
        assert_eq!(
            Node::from_ntriples("<http://x/a>"),
            Some(Node::Iri("http://x/a".into()))
        );
        assert_eq!(Node::from_ntriples("_:b0"), Some(Node::Blank("b0".into())));
        assert_eq!(
            Node::from_ntriples(r#""Zeile 1\nZeile \"2\" \\ \u0001"@de-DE"#),
            Some(Node::Literal {
                value: "Zeile 1\nZeile \"2\" \\ \u{1}".into(),
                lang: Some("de-DE".into()),
                datatype: None,
            })
        );
        assert_eq!(
            Node::from_ntriples(r#""42"^^<http://www.w3.org/2001/XMLSchema#decimal>"#),
            Some(Node::Literal {
                value: "42".into(),
                lang: None,
                datatype: Some("http://www.w3.org/2001/XMLSchema#decimal".into()),
            })
        );
        assert_eq!(Node::from_ntriples(r#""unterminated"#), None);
    }

    #[test]
    fn escaped_literals_from_the_parser_come_back_unchanged() {
        let ttl = "<http://x/a> <http://x/p> \"Tab\\there, quote \\\" and ümlaut\\r\\n\" .";
        let g = Graph::parse(ttl.as_bytes(), "t.ttl", RdfSyntax::Turtle).unwrap();
        let subject = Node::Iri("http://x/a".into());
        let value: Vec<_> = g.objects(&subject, "http://x/p").collect();
        assert_eq!(value[0].text(), Some("Tab\there, quote \" and ümlaut\r\n"));
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("ab\nüx".as_bytes(), 5), (2, 2));
        assert_eq!(line_column(b"abc", 0), (1, 1));
    }
}
