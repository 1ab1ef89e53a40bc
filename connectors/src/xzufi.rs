//! XZuFi 2.2 service descriptions (Leistungen), as the PVOG (Portalverbund Online-Gateway) and
//! the editorial systems of the federal states deliver them.
//!
//! A transfer message (root element e.g. `xzufi:transfer.leistung.052010`, any root in an XZuFi
//! namespace `http://xoev.de/schemata/xzufi/...`) holds `<xzufi:leistung>` elements (usually
//! inside `<xzufi:schreibe>`) and `<xzufi:organisationseinheit>` elements. Every `leistung`
//! becomes one row with the columns of [`crate::service_json::SERVICE_COLUMNS`], so XZuFi
//! catalogues feed search documents exactly like the JSON catalogues:
//!
//! | column | taken from |
//! |---|---|
//! | `id` | `<xzufi:id>` |
//! | `title` | text module *Leistungsbezeichnung II* (the citizen-friendly name), else *Leistungsbezeichnung* |
//! | `teaser` | text module *Teaser*, else *Kurztext*, else the first sentence of `body_text` |
//! | `body_html` | *Volltext*, then the other descriptive modules (*Erforderliche Unterlagen*, *Voraussetzungen*, *Kosten*, *Verfahrensablauf*, *Frist*, …) each under an `<h3>` heading, ordered by `positionDarstellung` |
//! | `body_text` | `body_html` through [`crate::html::html_to_text`] |
//! | `category` | `<xzufi:kategorie>/<xzufi:bezeichnung>` (several joined with `, `) |
//! | `keywords` | `<xzufi:modulBegriffImKontext>/…/<xzufi:begriff>` (joined with `, `) |
//! | `fees` | `<xzufi:modulKosten>`: each `kosten/beschreibung` as text (or its fixed amount), else the *Kosten* text module as text |
//! | `office_ids` | ids of the `<xzufi:organisationseinheit>` elements of the same message whose `zustaendigkeit/leistungID` names the service |
//! | `url` | `<xzufi:modulUrsprungsportal>/<xzufi:uri>`, else the link of the *Ursprungsportal* text module |
//! | `leika` | the 14-digit LeiKa keys of `<xzufi:referenzLeiKa>` (also inside `<xzufi:struktur>`) |
//! | `updated` | date part of `versionsinformation/geaendertDatumZeit`, else `erstellungDatumZeit` |
//!
//! Text modules are recognised by the `<name>` of their `<xzufi:leikaTextmodul>` code when the
//! message carries it, else by the code (LeiKa text module list: `02` Leistungsbezeichnung,
//! `03` Leistungsbezeichnung II, `04` Volltext, `05` Erforderliche Unterlagen, `06`
//! Voraussetzungen, `07` Kosten, `08` Verfahrensablauf, `09` Bearbeitungsdauer, `10` Frist, `11`
//! Weiterführende Informationen, `12` Hinweise, `13` Rechtsgrundlage(n), `14` Rechtsbehelf, `15`
//! Kurztext, `16` Ansprechpunkt, `17` Zuständige Stelle, `18` Formulare, `19` Ursprungsportal).
//! Of several `<xzufi:inhalt>` elements the German one (`languageCode="de…"`) wins. HTML in
//! `inhalt` may be escaped text, CDATA or inline elements; it is kept as markup.
//!
//! Elements are matched by namespace and local name, so any prefix (or a default namespace)
//! works; the `code`/`name` children of code lists are unqualified, as in XÖV.
//!
//! Bad services never vanish: a `leistung` without id or title, one whose `gueltigkeit` ended
//! before the message was written, and an older version of a service delivered twice (same id;
//! the newer `updated` wins) go to the quarantine with their 1-based service number and a short
//! excerpt of their XML. XML that is not well-formed fails the whole message with the byte
//! position ([`Error::Malformed`]). Deletions (`<xzufi:loesche>`) are not applied: a snapshot is
//! always a full table; they are counted in the notes.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use chrono::NaiveDate;
use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, Event};
use quick_xml::name::ResolveResult;

use crate::html::html_to_text;
use crate::provenance::QuarantinedRow;
use crate::service_json::SERVICE_COLUMNS;
use crate::table::TextTable;
use crate::{Error, Parsed, Result};

/// The XZuFi 2.2 namespace.
pub const NAMESPACE: &str = "http://xoev.de/schemata/xzufi/2_2_0";

/// Every XZuFi version's namespace starts with this.
const NAMESPACE_BASE: &str = "http://xoev.de/schemata/xzufi/";

/// Longest XML excerpt kept in a quarantine entry.
const EXCERPT_CHARS: usize = 300;

// ---------------------------------------------------------------------------------------------
// A small streaming element reader, shared with `crate::xmeld`.
// ---------------------------------------------------------------------------------------------

/// A qualified element name: its namespace URI (if bound) and its local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct XmlName {
    /// Namespace URI, `None` for unqualified elements.
    pub(crate) namespace: Option<String>,
    /// Local name (without prefix).
    pub(crate) local: String,
}

impl XmlName {
    /// True when the element is in a namespace starting with `base`.
    pub(crate) fn in_namespace(&self, base: &str) -> bool {
        self.namespace
            .as_deref()
            .is_some_and(|n| n.starts_with(base))
    }
}

/// One element with its subtree, built from the event stream.
#[derive(Debug, Clone)]
pub(crate) struct XmlElement {
    /// The element's name.
    pub(crate) name: XmlName,
    /// Attributes by local name (namespace declarations left out), values unescaped.
    pub(crate) attributes: Vec<(String, String)>,
    /// Child elements in document order.
    pub(crate) children: Vec<XmlElement>,
    /// The element's own character data (text, CDATA, references), unescaped and concatenated.
    pub(crate) text: String,
    /// Byte range of the whole element in the document text.
    pub(crate) span: Range<usize>,
    /// Byte range of its content (between the start and the end tag).
    pub(crate) inner: Range<usize>,
}

impl XmlElement {
    fn new(name: XmlName, attributes: Vec<(String, String)>, start: usize, end: usize) -> Self {
        Self {
            name,
            attributes,
            children: Vec::new(),
            text: String::new(),
            span: start..end,
            inner: end..end,
        }
    }

    /// The first child with this local name.
    pub(crate) fn child(&self, local: &str) -> Option<&XmlElement> {
        self.children.iter().find(|c| c.name.local == local)
    }

    /// All children with this local name.
    pub(crate) fn children_named<'a>(
        &'a self,
        local: &'a str,
    ) -> impl Iterator<Item = &'a XmlElement> + 'a {
        self.children.iter().filter(move |c| c.name.local == local)
    }

    /// All descendants (not the element itself) with this local name, in document order.
    pub(crate) fn descendants(&self, local: &str) -> Vec<&XmlElement> {
        let mut out = Vec::new();
        self.collect_descendants(local, &mut out);
        out
    }

    fn collect_descendants<'a>(&'a self, local: &str, out: &mut Vec<&'a XmlElement>) {
        for c in &self.children {
            if c.name.local == local {
                out.push(c);
            }
            c.collect_descendants(local, out);
        }
    }

    /// The first descendant with this local name.
    pub(crate) fn first_descendant(&self, local: &str) -> Option<&XmlElement> {
        self.children.iter().find_map(|c| {
            if c.name.local == local {
                Some(c)
            } else {
                c.first_descendant(local)
            }
        })
    }

    /// An attribute by local name.
    pub(crate) fn attribute(&self, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == local)
            .map(|(_, v)| v.as_str())
    }

    /// The trimmed text, `None` when empty.
    pub(crate) fn value(&self) -> Option<String> {
        let t = self.text.trim();
        (!t.is_empty()).then(|| t.to_string())
    }

    /// The value of a code-list element: its `<code>` child, else its own text.
    pub(crate) fn code(&self) -> Option<String> {
        self.child("code")
            .and_then(XmlElement::value)
            .or_else(|| self.value())
    }

    /// The content as markup: the text when the element has no child elements, else the
    /// raw markup between its tags.
    fn markup(&self, document: &str) -> String {
        if self.children.is_empty() {
            self.text.trim().to_string()
        } else {
            document
                .get(self.inner.clone())
                .unwrap_or_default()
                .trim()
                .to_string()
        }
    }
}

/// The document text of `bytes` (UTF-8, an optional BOM removed) and the BOM's length, which
/// positions in the text must be shifted by to be byte positions in the file.
pub(crate) fn document_text<'a>(bytes: &'a [u8], origin: &str) -> Result<(&'a str, usize)> {
    let (body, offset) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    let text = std::str::from_utf8(body).map_err(|e| Error::Malformed {
        origin: origin.into(),
        reason: format!(
            "malformed XML at byte {}: not valid UTF-8 (other encodings are not supported)",
            e.valid_up_to() + offset
        ),
    })?;
    Ok((text, offset))
}

fn malformed_at(origin: &str, position: usize, what: impl std::fmt::Display) -> Error {
    Error::Malformed {
        origin: origin.into(),
        reason: format!("malformed XML at byte {position}: {what}"),
    }
}

/// The text a general reference stands for (`&lt;` → `<`, `&#228;` → `ä`); undeclared
/// entities are kept literally (HTML entities such as `&nbsp;` are decoded later).
fn reference_text(r: &BytesRef<'_>) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    let name: &str = r;
    match quick_xml::escape::resolve_predefined_entity(name) {
        Some(s) => s.to_string(),
        None => format!("&{name};"),
    }
}

/// Streams the document `text`. Every element for which `capture(ancestors, name)` returns
/// true is built with its whole subtree and passed to `found(ancestors, element)`; elements
/// inside a captured one belong to its tree and are not offered again. `offset` shifts
/// reported positions (a removed BOM). Returns the root element's name.
pub(crate) fn scan(
    text: &str,
    offset: usize,
    origin: &str,
    mut capture: impl FnMut(&[XmlName], &XmlName) -> bool,
    mut found: impl FnMut(&[XmlName], XmlElement) -> Result<()>,
) -> Result<XmlName> {
    let mut reader = NsReader::from_str(text);
    let mut ancestors: Vec<XmlName> = Vec::new();
    let mut building: Vec<XmlElement> = Vec::new();
    let mut root: Option<XmlName> = None;
    let mut root_closed = false;
    loop {
        let before = reader.buffer_position() as usize;
        let (namespace, event) = match reader.read_resolved_event() {
            Ok((resolve, event)) => (resolve_owned(resolve), event),
            Err(e) => {
                return Err(malformed_at(
                    origin,
                    reader.error_position() as usize + offset,
                    e,
                ));
            }
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let namespace = namespace.map_err(|prefix| {
                    malformed_at(
                        origin,
                        before + offset,
                        format!("namespace prefix '{prefix}' is not declared"),
                    )
                })?;
                let name = XmlName {
                    namespace,
                    local: e.local_name().into_inner().to_string(),
                };
                if root_closed {
                    return Err(malformed_at(
                        origin,
                        before + offset,
                        format!("second root element <{}>", name.local),
                    ));
                }
                if root.is_none() {
                    root = Some(name.clone());
                }
                let mut attributes = Vec::new();
                for attribute in e.attributes() {
                    let attribute =
                        attribute.map_err(|err| malformed_at(origin, before + offset, err))?;
                    let key = attribute.key.into_inner();
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        continue;
                    }
                    let value = attribute
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|err| malformed_at(origin, before + offset, err))?;
                    let local = key.rsplit(':').next().unwrap_or(key);
                    attributes.push((local.to_string(), value.into_owned()));
                }
                let element = XmlElement::new(name, attributes, before, after);
                if !building.is_empty() || capture(&ancestors, &element.name) {
                    if empty {
                        attach(&mut building, element, &ancestors, &mut found)?;
                    } else {
                        building.push(element);
                    }
                } else if !empty {
                    ancestors.push(element.name);
                }
                if empty && building.is_empty() && ancestors.is_empty() {
                    root_closed = true;
                }
            }
            Event::End(_) => {
                if let Some(mut element) = building.pop() {
                    element.inner = element.span.end..before;
                    element.span.end = after;
                    attach(&mut building, element, &ancestors, &mut found)?;
                } else {
                    ancestors.pop();
                }
                if building.is_empty() && ancestors.is_empty() {
                    root_closed = true;
                }
            }
            Event::Text(t) => {
                if let Some(top) = building.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(c) => {
                if let Some(top) = building.last_mut() {
                    top.text.push_str(&c.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = building.last_mut() {
                    top.text.push_str(&reference_text(&r));
                }
            }
            Event::Eof => {
                let open = building
                    .last()
                    .map(|e| &e.name)
                    .or_else(|| ancestors.last());
                if let Some(open) = open {
                    return Err(malformed_at(
                        origin,
                        text.len() + offset,
                        format!("the document ends inside <{}>", open.local),
                    ));
                }
                return root.ok_or_else(|| malformed_at(origin, offset, "no root element"));
            }
            _ => {}
        }
    }
}

/// The namespace of a resolved name, or the undeclared prefix.
fn resolve_owned(resolve: ResolveResult<'_>) -> std::result::Result<Option<String>, String> {
    match resolve {
        ResolveResult::Bound(ns) => Ok(Some(ns.into_inner().to_string())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(prefix),
    }
}

/// Adds a finished element to its parent under construction, or hands it out when it was the
/// captured element itself.
fn attach(
    building: &mut [XmlElement],
    element: XmlElement,
    ancestors: &[XmlName],
    found: &mut impl FnMut(&[XmlName], XmlElement) -> Result<()>,
) -> Result<()> {
    match building.last_mut() {
        Some(parent) => {
            parent.children.push(element);
            Ok(())
        }
        None => found(ancestors, element),
    }
}

/// A short excerpt of an element's XML for the quarantine.
pub(crate) fn excerpt(document: &str, span: &Range<usize>) -> String {
    let raw = document.get(span.clone()).unwrap_or_default();
    let flat: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > EXCERPT_CHARS {
        let mut cut: String = flat.chars().take(EXCERPT_CHARS).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

// ---------------------------------------------------------------------------------------------
// XZuFi
// ---------------------------------------------------------------------------------------------

/// The LeiKa text modules the connector distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Module {
    Schluessel,
    Bezeichnung,
    BezeichnungII,
    Volltext,
    Unterlagen,
    Voraussetzungen,
    Kosten,
    Verfahrensablauf,
    Bearbeitungsdauer,
    Frist,
    WeitereInformationen,
    Hinweise,
    Rechtsgrundlagen,
    Rechtsbehelf,
    Kurztext,
    Ansprechpunkt,
    ZustaendigeStelle,
    Formulare,
    Ursprungsportal,
    Teaser,
    Freigabe,
    /// A module this connector does not know: kept in the body under its name.
    Other,
}

impl Module {
    fn from_code(code: &str) -> Self {
        match code.trim() {
            "01" => Self::Schluessel,
            "02" => Self::Bezeichnung,
            "03" => Self::BezeichnungII,
            "04" => Self::Volltext,
            "05" => Self::Unterlagen,
            "06" => Self::Voraussetzungen,
            "07" => Self::Kosten,
            "08" => Self::Verfahrensablauf,
            "09" => Self::Bearbeitungsdauer,
            "10" => Self::Frist,
            "11" => Self::WeitereInformationen,
            "12" => Self::Hinweise,
            "13" => Self::Rechtsgrundlagen,
            "14" => Self::Rechtsbehelf,
            "15" => Self::Kurztext,
            "16" => Self::Ansprechpunkt,
            "17" => Self::ZustaendigeStelle,
            "18" => Self::Formulare,
            "19" => Self::Ursprungsportal,
            "20" | "21" => Self::Freigabe,
            _ => Self::Other,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, Module); 21] = [
            ("leistungsschlüssel", Module::Schluessel),
            ("leistungsbezeichnung ii", Module::BezeichnungII),
            ("leistungsbezeichnung 2", Module::BezeichnungII),
            ("leistungsbezeichnung", Module::Bezeichnung),
            ("volltext", Module::Volltext),
            ("erforderliche unterlagen", Module::Unterlagen),
            ("voraussetzung", Module::Voraussetzungen),
            ("kosten", Module::Kosten),
            ("verfahrensablauf", Module::Verfahrensablauf),
            ("bearbeitungsdauer", Module::Bearbeitungsdauer),
            ("frist", Module::Frist),
            ("weiterführende informationen", Module::WeitereInformationen),
            ("hinweis", Module::Hinweise),
            ("rechtsgrundlage", Module::Rechtsgrundlagen),
            ("rechtsbehelf", Module::Rechtsbehelf),
            ("kurztext", Module::Kurztext),
            ("ansprechpunkt", Module::Ansprechpunkt),
            ("zuständige stelle", Module::ZustaendigeStelle),
            ("formular", Module::Formulare),
            ("ursprungsportal", Module::Ursprungsportal),
            ("teaser", Module::Teaser),
        ];
        let name = name.trim().to_lowercase();
        if name.starts_with("fachlich freigegeben") {
            return Some(Module::Freigabe);
        }
        NAMES
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map(|(_, m)| *m)
    }

    /// The heading a module gets in `body_html`; `None` for modules that are not body text.
    fn heading(self) -> Option<&'static str> {
        Some(match self {
            Self::Unterlagen => "Erforderliche Unterlagen",
            Self::Voraussetzungen => "Voraussetzungen",
            Self::Kosten => "Kosten",
            Self::Verfahrensablauf => "Verfahrensablauf",
            Self::Bearbeitungsdauer => "Bearbeitungsdauer",
            Self::Frist => "Frist",
            Self::WeitereInformationen => "Weiterführende Informationen",
            Self::Hinweise => "Hinweise",
            Self::Rechtsgrundlagen => "Rechtsgrundlagen",
            Self::Rechtsbehelf => "Rechtsbehelf",
            Self::Ansprechpunkt => "Ansprechpunkt",
            Self::ZustaendigeStelle => "Zuständige Stelle",
            Self::Formulare => "Formulare",
            _ => return None,
        })
    }
}

/// One `<xzufi:modulText>`.
#[derive(Debug)]
struct TextModule<'a> {
    kind: Module,
    /// The code list name, used as heading of unknown modules.
    name: Option<String>,
    position: Option<u32>,
    html: Option<String>,
    element: &'a XmlElement,
}

/// The German variant among multilingual elements (`languageCode="de"` or `de-DE`), else one
/// without a language, else the first.
fn german<'a>(items: impl Iterator<Item = &'a XmlElement>) -> Option<&'a XmlElement> {
    let items: Vec<&XmlElement> = items.collect();
    let lang = |e: &XmlElement| e.attribute("languageCode").map(str::to_lowercase);
    items
        .iter()
        .find(|e| lang(e).is_some_and(|l| l == "de" || l.starts_with("de-")))
        .or_else(|| items.iter().find(|e| lang(e).is_none()))
        .or_else(|| items.first())
        .copied()
}

fn text_modules<'a>(leistung: &'a XmlElement, document: &str) -> Vec<TextModule<'a>> {
    leistung
        .children_named("modulText")
        .map(|m| {
            let code_element = m.child("leikaTextmodul");
            let name = code_element
                .and_then(|c| c.child("name"))
                .and_then(XmlElement::value);
            let kind = name
                .as_deref()
                .and_then(Module::from_name)
                .or_else(|| {
                    code_element
                        .and_then(XmlElement::code)
                        .map(|c| Module::from_code(&c))
                })
                .unwrap_or(Module::Other);
            let html = german(m.children_named("inhalt"))
                .map(|i| i.markup(document))
                .filter(|h| !h.is_empty());
            let position = m
                .child("positionDarstellung")
                .and_then(XmlElement::value)
                .and_then(|p| p.parse().ok());
            TextModule {
                kind,
                name,
                position,
                html,
                element: m,
            }
        })
        .collect()
}

fn module_html(modules: &[TextModule<'_>], kind: Module) -> Option<String> {
    modules
        .iter()
        .filter(|m| m.kind == kind)
        .find_map(|m| m.html.clone())
}

fn module_text(modules: &[TextModule<'_>], kind: Module) -> Option<String> {
    module_html(modules, kind)
        .map(|h| html_to_text(&h))
        .filter(|t| !t.is_empty())
}

/// Volltext first, then the descriptive modules with headings, by `positionDarstellung`.
fn body_html(modules: &[TextModule<'_>]) -> String {
    let mut parts: Vec<String> = modules
        .iter()
        .filter(|m| m.kind == Module::Volltext)
        .filter_map(|m| m.html.clone())
        .collect();
    let mut sections: Vec<(usize, &TextModule<'_>)> = modules
        .iter()
        .enumerate()
        .filter(|(_, m)| m.html.is_some())
        .filter(|(_, m)| m.kind.heading().is_some() || m.kind == Module::Other)
        .collect();
    sections.sort_by_key(|(i, m)| (m.position.unwrap_or(u32::MAX), *i));
    for (_, m) in sections {
        let heading = m
            .kind
            .heading()
            .map(str::to_string)
            .or_else(|| m.name.clone());
        if let Some(heading) = heading {
            parts.push(format!("<h3>{}</h3>", escape_html(&heading)));
        }
        if let Some(html) = &m.html {
            parts.push(html.clone());
        }
    }
    parts.join("\n")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Joins distinct non-empty values with `, `.
fn join_distinct(values: impl Iterator<Item = String>) -> Option<String> {
    let mut seen: Vec<String> = Vec::new();
    for v in values {
        let v = v.trim().to_string();
        if !v.is_empty() && !seen.contains(&v) {
            seen.push(v);
        }
    }
    (!seen.is_empty()).then(|| seen.join(", "))
}

fn fees(leistung: &XmlElement, modules: &[TextModule<'_>]) -> Option<String> {
    let mut parts = Vec::new();
    for kosten in leistung.descendants("kosten") {
        let described = german(kosten.children_named("beschreibung"))
            .map(|b| html_to_text(&b.text))
            .filter(|t| !t.is_empty());
        let amount = kosten
            .first_descendant("betrag")
            .and_then(XmlElement::value)
            .map(|b| {
                let currency = kosten
                    .first_descendant("waehrungID")
                    .and_then(XmlElement::code)
                    .unwrap_or_else(|| "EUR".into());
                format!("{} {currency}", b.replace('.', ","))
            });
        if let Some(part) = described.or(amount) {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        // A description directly under modulKosten.
        if let Some(m) = leistung.child("modulKosten") {
            parts.extend(
                german(m.children_named("beschreibung"))
                    .map(|b| html_to_text(&b.text))
                    .filter(|t| !t.is_empty()),
            );
        }
    }
    if parts.is_empty() {
        return module_text(modules, Module::Kosten);
    }
    Some(parts.join("\n"))
}

fn url(leistung: &XmlElement, modules: &[TextModule<'_>]) -> Option<String> {
    leistung
        .children
        .iter()
        .filter(|c| c.name.local.starts_with("modulUrsprungsportal"))
        .find_map(|m| m.first_descendant("uri").and_then(XmlElement::value))
        .or_else(|| {
            modules
                .iter()
                .filter(|m| m.kind == Module::Ursprungsportal)
                .find_map(|m| {
                    m.element
                        .first_descendant("uri")
                        .and_then(XmlElement::value)
                })
        })
}

/// `2024-05-02T10:00:00+02:00` → `2024-05-02`; anything else is kept as written.
fn date_part(value: &str) -> String {
    let head = value.get(..10).unwrap_or(value);
    if NaiveDate::parse_from_str(head, "%Y-%m-%d").is_ok() {
        head.to_string()
    } else {
        value.to_string()
    }
}

fn parse_date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.get(..10)?, "%Y-%m-%d").ok()
}

/// A service read from one `<xzufi:leistung>`.
#[derive(Debug)]
struct Service {
    /// 1-based number of the service in the message.
    number: u64,
    id: Option<String>,
    title: Option<String>,
    /// Every column but `office_ids` (filled once all organisation units are known).
    values: Vec<Option<String>>,
    updated: Option<String>,
    valid_until: Option<NaiveDate>,
    excerpt: String,
}

fn read_service(
    number: u64,
    leistung: &XmlElement,
    document: &str,
    bad_keys: &mut Vec<String>,
) -> Service {
    let modules = text_modules(leistung, document);
    let id = leistung.child("id").and_then(XmlElement::value);
    let title = module_text(&modules, Module::BezeichnungII)
        .or_else(|| module_text(&modules, Module::Bezeichnung));
    let body_html = body_html(&modules);
    let body_text = html_to_text(&body_html);
    let teaser = module_text(&modules, Module::Teaser)
        .or_else(|| module_text(&modules, Module::Kurztext))
        .or_else(|| {
            body_text
                .split_inclusive(['.', '!', '?'])
                .next()
                .map(|s| s.trim().to_string())
        });
    let category = join_distinct(
        leistung
            .descendants("kategorie")
            .into_iter()
            .filter_map(|k| {
                german(k.children_named("bezeichnung"))
                    .or_else(|| k.first_descendant("bezeichnung"))
                    .and_then(XmlElement::value)
            }),
    );
    let keywords = join_distinct(
        leistung
            .descendants("begriffImKontext")
            .into_iter()
            .flat_map(|b| b.children_named("begriff"))
            .filter_map(XmlElement::value),
    );
    let mut keys = Vec::new();
    for r in leistung.descendants("referenzLeiKa") {
        if let Some(key) = r.code() {
            if key.len() == 14 && key.bytes().all(|b| b.is_ascii_digit()) {
                keys.push(key);
            } else {
                bad_keys.push(format!("service {number}: '{key}'"));
            }
        }
    }
    let version = leistung.child("versionsinformation");
    let updated = version
        .and_then(|v| {
            v.child("geaendertDatumZeit")
                .or_else(|| v.child("erstellungDatumZeit"))
        })
        .and_then(XmlElement::value)
        .map(|v| date_part(&v));
    let valid_until = leistung
        .children_named("gueltigkeit")
        .filter_map(|g| g.child("ende").and_then(XmlElement::value))
        .filter_map(|e| parse_date(&e))
        .max();
    let values = vec![
        id.clone(),
        title.clone(),
        teaser,
        Some(body_html),
        Some(body_text),
        category,
        keywords,
        fees(leistung, &modules),
        None,
        url(leistung, &modules),
        join_distinct(keys.into_iter()),
        updated.clone(),
    ];
    Service {
        number,
        id,
        title,
        values,
        updated,
        valid_until,
        excerpt: excerpt(document, &leistung.span),
    }
}

/// Parses an XZuFi 2.x transfer message into a service table with the columns of
/// [`SERVICE_COLUMNS`]. `origin` names the message in errors.
///
/// Not well-formed XML, or a document without any XZuFi element, is an
/// [`Error::Malformed`] (with the byte position where the XML breaks); services without id or
/// title, expired ones and superseded versions go to the quarantine (see the module docs).
pub fn parse(bytes: &[u8], origin: &str) -> Result<Parsed> {
    let (document, offset) = document_text(bytes, origin)?;
    let mut leistungen: Vec<XmlElement> = Vec::new();
    let mut units: Vec<XmlElement> = Vec::new();
    let mut heads: Vec<XmlElement> = Vec::new();
    let mut deletions = 0usize;
    let root = scan(
        document,
        offset,
        origin,
        |ancestors, name| {
            if !name.in_namespace(NAMESPACE_BASE) {
                return false;
            }
            match name.local.as_str() {
                "leistung" | "organisationseinheit" | "loesche" => true,
                "nachrichtenkopf" => ancestors.len() == 1,
                _ => false,
            }
        },
        |_, element| {
            match element.name.local.as_str() {
                "leistung" => leistungen.push(element),
                "organisationseinheit" => units.push(element),
                "loesche" => deletions += element.children.len().max(1),
                _ => heads.push(element),
            }
            Ok(())
        },
    )?;
    let namespace = root
        .namespace
        .clone()
        .filter(|n| n.starts_with(NAMESPACE_BASE))
        .or_else(|| {
            leistungen
                .first()
                .and_then(|l| l.name.namespace.clone())
        })
        .ok_or_else(|| Error::Malformed {
            origin: origin.into(),
            reason: format!(
                "not an XZuFi message: the root element <{}> is in namespace {}, expected {NAMESPACE}",
                root.local,
                root.namespace.as_deref().unwrap_or("(none)")
            ),
        })?;

    let mut notes = vec![format!("XZuFi message <{}> ({namespace})", root.local)];
    if namespace != NAMESPACE {
        notes.push(format!(
            "namespace {namespace} is not XZuFi 2.2 ({NAMESPACE}); read with the 2.2 rules"
        ));
    }
    let created = heads
        .iter()
        .find_map(|h| h.first_descendant("erstellungszeitpunkt"))
        .and_then(XmlElement::value);
    if let Some(created) = &created {
        notes.push(format!("message created {created}"));
    }
    let message_date = created.as_deref().and_then(parse_date);

    // Which organisation units are responsible for which service.
    let mut offices: HashMap<String, Vec<String>> = HashMap::new();
    for unit in &units {
        let Some(unit_id) = unit.child("id").and_then(XmlElement::value) else {
            continue;
        };
        for z in unit.descendants("zustaendigkeit") {
            for l in z.children_named("leistungID") {
                if let Some(service) = l.value() {
                    let list = offices.entry(service).or_default();
                    if !list.contains(&unit_id) {
                        list.push(unit_id.clone());
                    }
                }
            }
        }
    }

    let mut bad_keys = Vec::new();
    let services: Vec<Service> = leistungen
        .iter()
        .enumerate()
        .map(|(i, l)| read_service(i as u64 + 1, l, document, &mut bad_keys))
        .collect();

    // Rejections: missing id/title, expired, then older versions of the same id.
    let mut rejected: BTreeMap<u64, String> = BTreeMap::new();
    for s in &services {
        if s.id.is_none() {
            rejected.insert(
                s.number,
                "service has no <xzufi:id> (every service needs one)".into(),
            );
        } else if s.title.is_none() {
            rejected.insert(
                s.number,
                "service has no title (text module Leistungsbezeichnung II or Leistungsbezeichnung)"
                    .into(),
            );
        } else if let (Some(end), Some(created)) = (s.valid_until, message_date)
            && end < created
        {
            rejected.insert(
                s.number,
                format!("gueltigkeit ended {end}, before the message was created ({created})"),
            );
        }
    }
    let mut newest: HashMap<&str, &Service> = HashMap::new();
    for s in &services {
        let Some(id) = s.id.as_deref() else { continue };
        if rejected.contains_key(&s.number) {
            continue;
        }
        match newest.get(id) {
            Some(kept) if kept.updated > s.updated => {
                rejected.insert(
                    s.number,
                    format!(
                        "older version of service '{id}' (service {} is newer)",
                        kept.number
                    ),
                );
            }
            Some(kept) => {
                rejected.insert(
                    kept.number,
                    format!(
                        "older version of service '{id}' (service {} is newer)",
                        s.number
                    ),
                );
                newest.insert(id, s);
            }
            None => {
                newest.insert(id, s);
            }
        }
    }

    let mut table = TextTable::new(&SERVICE_COLUMNS);
    let mut quarantine = Vec::new();
    for s in services {
        if let Some(reason) = rejected.remove(&s.number) {
            quarantine.push(QuarantinedRow {
                line: s.number,
                reason,
                raw: s.excerpt,
            });
            continue;
        }
        let mut values = s.values;
        if let Some(id) = &s.id {
            values[8] = offices.get(id).map(|o| o.join(", "));
        }
        table.push(values)?;
    }

    notes.push(format!(
        "{} services, {} organisation units",
        leistungen.len(),
        units.len()
    ));
    if deletions > 0 {
        notes.push(format!(
            "{deletions} deletions (<loesche>) not applied: a snapshot always holds the full table"
        ));
    }
    if !bad_keys.is_empty() {
        notes.push(format!(
            "LeiKa keys that are not 14 digits were left out: {}",
            bad_keys.join(", ")
        ));
    }
    Ok(Parsed {
        batch: table.finish()?,
        quarantine,
        rows_read: leistungen.len(),
        notes,
    })
}
