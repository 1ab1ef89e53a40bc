//! DCAT-AP.de catalogues in Turtle, RDF/XML or JSON-LD: one or more documents
//! ([`parse_dcat`]) or a catalogue endpoint paged with Hydra ([`harvest_dcat`]), as written by
//! ckanext-dcatde (`hydra:PagedCollection` with `hydra:nextPage`) or by newer Hydra views
//! (`hydra:next`).

use std::collections::{HashMap, HashSet};

use super::rdf::{Graph, Node, RDF_TYPE};
use super::{
    CatalogueTable, DatasetRecord, DistributionRecord, RdfSyntax, build, byte_size, join_sorted,
    normalise_format, normalise_media_type,
};
use crate::fetch::Fetch;
use crate::{Error, Parsed, Result};

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const DCATDE: &str = "http://dcat-ap.de/def/dcatde/";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const HYDRA: &str = "http://www.w3.org/ns/hydra/core#";
const LOCN: &str = "http://www.w3.org/ns/locn#";
const RDFS_LABEL: &str = "http://www.w3.org/2000/01/rdf-schema#label";
const RDF_VALUE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#value";
const SKOS_PREF_LABEL: &str = "http://www.w3.org/2004/02/skos/core#prefLabel";
const VCARD_FN: &str = "http://www.w3.org/2006/vcard/ns#fn";

/// Shorthand for a term of a vocabulary.
fn term(vocabulary: &str, local: &str) -> String {
    format!("{vocabulary}{local}")
}

/// Parses DCAT documents (`(origin, bytes)` pairs, e.g. the pages of one catalogue) into the
/// requested table. `syntax` applies to every page; `None` detects each page's syntax from its
/// origin's extension, else from its content ([`RdfSyntax::detect`]). Paging links in the pages
/// are not followed (see [`harvest_dcat`]); a page that has one gets a note.
///
/// Errors: a syntax error is [`Error::Malformed`] with the position (1-based line and column);
/// so is a page whose syntax cannot be told.
pub fn parse_dcat(
    table: CatalogueTable,
    pages: &[(String, Vec<u8>)],
    syntax: Option<RdfSyntax>,
) -> Result<Parsed> {
    let mut records = Vec::new();
    let mut notes = Vec::new();
    for (origin, bytes) in pages {
        let page = read_page(origin, bytes, syntax)?;
        if let Some(next) = &page.next {
            notes.push(format!(
                "{origin} links a next page ({next}) that was not read: harvest_dcat follows paging"
            ));
        }
        notes.extend(page.notes);
        records.extend(page.datasets);
    }
    build(table, records, notes)
}

/// Harvests a DCAT catalogue endpoint: reads `first_page_url` through `fetch`, then follows
/// `hydra:nextPage` (ckanext-dcatde, an IRI or a literal) or `hydra:next` from page to page
/// until a page has none, and builds the requested table from all pages. Each page's syntax
/// comes from its URL's extension, else from its content.
///
/// Errors: a next link that leads back to a page already read, or more than `max_pages` pages,
/// is [`Error::Malformed`] (nothing is returned: a partial catalogue would look complete);
/// `max_pages == 0` is [`Error::Spec`]; fetch errors ([`Error::Http`]) and syntax errors are
/// passed on.
pub fn harvest_dcat(
    fetch: &dyn Fetch,
    first_page_url: &str,
    table: CatalogueTable,
    max_pages: usize,
) -> Result<Parsed> {
    if max_pages == 0 {
        return Err(Error::Spec(
            "max_pages must be at least 1 to harvest a DCAT catalogue".into(),
        ));
    }
    let mut url = first_page_url.to_string();
    let mut visited = HashSet::new();
    let mut records = Vec::new();
    let mut notes = Vec::new();
    let mut total_items = None;
    loop {
        if !visited.insert(url.clone()) {
            return Err(Error::Malformed {
                origin: first_page_url.to_string(),
                reason: format!(
                    "Hydra paging loops: the next page after page {} is {url}, which was already read",
                    visited.len()
                ),
            });
        }
        if visited.len() > max_pages {
            return Err(Error::Malformed {
                origin: first_page_url.to_string(),
                reason: format!(
                    "the catalogue has more than max_pages = {max_pages} pages (next: {url}); raise max_pages to read it all"
                ),
            });
        }
        let bytes = fetch.get(&url)?;
        let page = read_page(&url, &bytes, None)?;
        tracing::debug!(url = %url, datasets = page.datasets.len(), "read DCAT page");
        records.extend(page.datasets);
        notes.extend(page.notes);
        total_items = page.total_items.or(total_items);
        match page.next {
            Some(next) => url = resolve(&url, &next),
            None => break,
        }
    }
    notes.push(format!(
        "read {} Hydra page(s) starting at {first_page_url}",
        visited.len()
    ));
    if let Some(total) = total_items {
        let unique: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
        if total != unique.len() as u64 {
            notes.push(format!(
                "hydra:totalItems says {total} datasets, {} were read",
                unique.len()
            ));
        }
    }
    build(table, records, notes)
}

/// What one page holds.
struct Page {
    datasets: Vec<DatasetRecord>,
    next: Option<String>,
    total_items: Option<u64>,
    notes: Vec<String>,
}

/// Parses one page and reads its datasets and paging links.
fn read_page(origin: &str, bytes: &[u8], syntax: Option<RdfSyntax>) -> Result<Page> {
    let syntax = syntax
        .or_else(|| RdfSyntax::detect(origin, bytes))
        .ok_or_else(|| Error::Malformed {
            origin: origin.to_string(),
            reason: "empty document: cannot tell its RDF syntax".into(),
        })?;
    let graph = Graph::parse(bytes, origin, syntax)?;
    let mut notes = Vec::new();

    let catalogues = graph.instances_of(&term(DCAT, "Catalog"));
    for catalogue in &catalogues {
        if let Node::Iri(iri) = catalogue {
            let title = best_text(&graph, catalogue, &term(DCT, "title"));
            notes.push(match title {
                Some(title) => format!("catalogue {iri}: {title}"),
                None => format!("catalogue {iri}"),
            });
        }
    }
    let only_catalogue = match catalogues.as_slice() {
        [Node::Iri(iri)] => Some(iri.clone()),
        _ => None,
    };
    let mut catalogue_of: HashMap<&Node, &str> = HashMap::new();
    for (catalogue, dataset) in graph.pairs(&term(DCAT, "dataset")) {
        if let Node::Iri(iri) = catalogue {
            let entry = catalogue_of.entry(dataset).or_insert(iri);
            if iri.as_str() < *entry {
                *entry = iri;
            }
        }
    }

    let services = graph.instances_of(&term(DCAT, "DataService")).len();
    if services > 0 {
        notes.push(format!(
            "{origin}: {services} dcat:DataService resource(s) skipped (services are not datasets; a distribution served by one has its endpoint as access_url)"
        ));
    }

    let mut datasets = Vec::new();
    for (n, subject) in graph
        .instances_of(&term(DCAT, "Dataset"))
        .into_iter()
        .enumerate()
    {
        let id = match subject {
            Node::Iri(iri) => iri.clone(),
            _ => format!("{origin}#dataset-{}", n + 1),
        };
        let catalogue = catalogue_of
            .get(subject)
            .map(|c| c.to_string())
            .or_else(|| only_catalogue.clone())
            .unwrap_or_else(|| origin.to_string());
        datasets.push(dataset(&graph, subject, id, catalogue));
    }

    let mut next = None;
    let mut total_items = None;
    for predicate in [term(HYDRA, "nextPage"), term(HYDRA, "next")] {
        for (_, object) in graph.pairs(&predicate) {
            if next.is_none() {
                next = object.text().map(|t| t.trim().to_string());
            }
        }
    }
    for (_, object) in graph.pairs(&term(HYDRA, "totalItems")) {
        total_items = total_items.or_else(|| object.text().and_then(|t| t.trim().parse().ok()));
    }
    Ok(Page {
        datasets,
        next: next.filter(|n| !n.is_empty()),
        total_items,
        notes,
    })
}

/// A next-page reference made absolute against the page it was found on (ckanext-dcatde writes
/// absolute URLs; a relative `?page=2` or `/catalog.rdf?page=2` is resolved here).
fn resolve(current: &str, next: &str) -> String {
    if next.contains("://") {
        return next.to_string();
    }
    if next.starts_with('?') {
        let base = current.split(['?', '#']).next().unwrap_or(current);
        return format!("{base}{next}");
    }
    if next.starts_with('/')
        && let Some((scheme, rest)) = current.split_once("://")
    {
        let host = rest.split('/').next().unwrap_or(rest);
        return format!("{scheme}://{host}{next}");
    }
    let base = current.split(['?', '#']).next().unwrap_or(current);
    match base.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{next}"),
        None => next.to_string(),
    }
}

/// Reads one `dcat:Dataset` and its distributions.
fn dataset(graph: &Graph, subject: &Node, id: String, catalogue: String) -> DatasetRecord {
    let title = best_text(graph, subject, &term(DCT, "title"));
    let licence = licences(graph, subject);
    let mut distributions = Vec::new();
    let mut seen = HashSet::new();
    for node in graph.objects(subject, &term(DCAT, "distribution")) {
        if !seen.insert(node) {
            continue;
        }
        let distribution_id = match node {
            Node::Iri(iri) => iri.clone(),
            Node::Blank(_) => format!("{id}#distribution-{}", distributions.len() + 1),
            Node::Literal { .. } => continue,
        };
        distributions.push(distribution(graph, node, distribution_id));
    }
    let problem = title
        .is_none()
        .then(|| "dataset has no dct:title".to_string());
    DatasetRecord {
        raw: summary(graph, subject, &id),
        id,
        title,
        description: best_text(graph, subject, &term(DCT, "description")),
        publisher: join_sorted(
            graph
                .objects(subject, &term(DCT, "publisher"))
                .filter_map(|agent| agent_name(graph, agent)),
        ),
        contributor_id: join_sorted(
            graph
                .objects(subject, &term(DCATDE, "contributorID"))
                .filter_map(Node::text),
        ),
        licence,
        keywords: keywords(graph, subject),
        themes: join_sorted(
            graph
                .objects(subject, &term(DCAT, "theme"))
                .filter_map(Node::text),
        ),
        issued: best_text(graph, subject, &term(DCT, "issued")),
        modified: best_text(graph, subject, &term(DCT, "modified")),
        landing_page: first_text(graph, subject, &term(DCAT, "landingPage")),
        spatial: spatial(graph, subject),
        catalogue: Some(catalogue),
        distributions,
        problem,
    }
}

/// Reads one `dcat:Distribution`.
fn distribution(graph: &Graph, subject: &Node, id: String) -> DistributionRecord {
    let format = graph
        .objects(subject, &term(DCT, "format"))
        .filter_map(|f| described_value(graph, f))
        .filter_map(|f| normalise_format(&f))
        .min();
    let media_type = graph
        .objects(subject, &term(DCAT, "mediaType"))
        .filter_map(|m| described_value(graph, m))
        .map(|m| normalise_media_type(&m))
        .min();
    DistributionRecord {
        title: best_text(graph, subject, &term(DCT, "title")),
        format,
        media_type,
        access_url: first_text(graph, subject, &term(DCAT, "accessURL")),
        download_url: first_text(graph, subject, &term(DCAT, "downloadURL")),
        licence: licences(graph, subject),
        modified: best_text(graph, subject, &term(DCT, "modified")),
        byte_size: graph
            .objects(subject, &term(DCAT, "byteSize"))
            .filter_map(Node::text)
            .find_map(byte_size),
        id,
    }
}

/// `dct:license` values of a resource, `|`-joined.
fn licences(graph: &Graph, subject: &Node) -> Option<String> {
    join_sorted(
        graph
            .objects(subject, &term(DCT, "license"))
            .filter_map(|l| described_value(graph, l)),
    )
}

/// The text of a value: an IRI or literal as it is; a blank node by its `rdfs:label`,
/// `rdf:value`, `skos:prefLabel` or `dct:identifier` (DCAT-AP 1.x wrote formats as
/// `[ a dct:IMT; rdf:value "text/csv" ]`).
fn described_value(graph: &Graph, node: &Node) -> Option<String> {
    match node {
        Node::Blank(_) => [
            RDFS_LABEL.to_string(),
            RDF_VALUE.to_string(),
            SKOS_PREF_LABEL.to_string(),
            term(DCT, "identifier"),
        ]
        .iter()
        .find_map(|p| best_text(graph, node, p)),
        other => other.text().map(str::to_string),
    }
}

/// The name of an agent: `foaf:name`, `vcard:fn`, `rdfs:label` or `skos:prefLabel` (language
/// preference applies), else its IRI; a literal publisher is its own name.
fn agent_name(graph: &Graph, agent: &Node) -> Option<String> {
    if let Node::Literal { value, .. } = agent {
        return Some(value.clone());
    }
    [
        term(FOAF, "name"),
        VCARD_FN.to_string(),
        RDFS_LABEL.to_string(),
        SKOS_PREF_LABEL.to_string(),
    ]
    .iter()
    .find_map(|p| best_text(graph, agent, p))
    .or_else(|| match agent {
        Node::Iri(iri) => Some(iri.clone()),
        _ => None,
    })
}

/// `dcat:keyword` literals in the preferred language (see [`best_text`]), `|`-joined.
fn keywords(graph: &Graph, subject: &Node) -> Option<String> {
    let all: Vec<&Node> = graph.objects(subject, &term(DCAT, "keyword")).collect();
    let best = all.iter().map(|n| language_rank(n)).min()?;
    join_sorted(
        all.into_iter()
            .filter(|n| language_rank(n) == best)
            .filter_map(Node::text),
    )
}

/// `dct:spatial`: geometries of `dct:Location`s (`locn:geometry`, `dcat:bbox`,
/// `dcat:centroid`; WKT before other encodings), else IRIs (the spatial value itself or the
/// location's administrative units) and names.
fn spatial(graph: &Graph, subject: &Node) -> Option<String> {
    let mut wkt = Vec::new();
    let mut other_geometry = Vec::new();
    let mut references = Vec::new();
    for place in graph.objects(subject, &term(DCT, "spatial")) {
        match place {
            Node::Iri(iri) => references.push(iri.clone()),
            Node::Literal { value, .. } => references.push(value.clone()),
            Node::Blank(_) => {
                for (predicate, value) in graph.properties(place) {
                    let geometry = [
                        term(LOCN, "geometry"),
                        term(DCAT, "bbox"),
                        term(DCAT, "centroid"),
                    ]
                    .contains(predicate);
                    match value {
                        Node::Literal {
                            value, datatype, ..
                        } if geometry => {
                            if datatype
                                .as_deref()
                                .is_some_and(|d| d.ends_with("wktLiteral"))
                            {
                                wkt.push(value.clone());
                            } else {
                                other_geometry.push(value.clone());
                            }
                        }
                        Node::Iri(iri) if predicate != RDF_TYPE => references.push(iri.clone()),
                        Node::Literal { value, .. }
                            if predicate == &term(LOCN, "geographicName")
                                || predicate == RDFS_LABEL
                                || predicate == SKOS_PREF_LABEL =>
                        {
                            references.push(value.clone())
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    join_sorted(wkt)
        .or_else(|| join_sorted(other_geometry))
        .or_else(|| join_sorted(references))
}

/// How well a literal's language suits: German 0, untagged 1, any other 2 (IRIs count as
/// untagged, blank nodes are last).
fn language_rank(node: &Node) -> u8 {
    match node {
        Node::Literal {
            lang: Some(lang), ..
        } => {
            let lang = lang.to_ascii_lowercase();
            if lang == "de" || lang.starts_with("de-") {
                0
            } else {
                2
            }
        }
        Node::Literal { lang: None, .. } | Node::Iri(_) => 1,
        Node::Blank(_) => 3,
    }
}

/// The value of a single-valued text property: German before untagged before any other
/// language; among values of the same rank the smallest, so that the choice does not depend on
/// the serialisation's order.
fn best_text(graph: &Graph, subject: &Node, predicate: &str) -> Option<String> {
    graph
        .objects(subject, predicate)
        .filter_map(|n| Some((language_rank(n), n.text()?.trim())))
        .filter(|(_, t)| !t.is_empty())
        .min()
        .map(|(_, t)| t.to_string())
}

/// The smallest IRI or literal value of a property (for URLs, which have no language).
fn first_text(graph: &Graph, subject: &Node, predicate: &str) -> Option<String> {
    graph
        .objects(subject, predicate)
        .filter_map(Node::text)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .min()
        .map(str::to_string)
}

/// The quarantine's view of a dataset: its id and its triples, shortened to 500 characters.
fn summary(graph: &Graph, subject: &Node, id: &str) -> String {
    let properties = graph.properties(subject);
    let triples: Vec<String> = properties
        .iter()
        .map(|(p, o)| {
            let local = p.rsplit(['#', '/']).next().unwrap_or(p);
            format!("{local}={}", o.short())
        })
        .collect();
    format!(
        "{id} ({} triples: {})",
        properties.len(),
        triples.join("; ")
    )
    .chars()
    .take(500)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_page_references_resolve_against_the_current_page() {
        let current = "https://data.example.de/catalog.rdf?page=1";
        assert_eq!(
            resolve(current, "https://data.example.de/catalog.rdf?page=2"),
            "https://data.example.de/catalog.rdf?page=2"
        );
        assert_eq!(
            resolve(current, "?page=2"),
            "https://data.example.de/catalog.rdf?page=2"
        );
        assert_eq!(
            resolve(current, "/dcat/catalog.ttl?page=2"),
            "https://data.example.de/dcat/catalog.ttl?page=2"
        );
        assert_eq!(
            resolve(current, "catalog2.rdf"),
            "https://data.example.de/catalog2.rdf"
        );
    }
}
