//! The hand-written texts of Musterstadt's citizen services.
//!
//! Every text was written for this crate; none is copied from a real
//! municipality. Section fields hold HTML fragments: plain text is wrapped in
//! `<p>`, a blank line (`\n\n`) starts a new paragraph, and a fragment that
//! starts with a block element (`<ul>`, `<ol>`, `<p>`) is inserted as it is.
//! Entities such as `&nbsp;` and `&amp;` are intentional: they exercise the
//! HTML strippers downstream.

mod ausweise;
mod bauen_ordnung;
mod familie_bildung;
mod meldewesen;
mod migration_wahlen;
mod standesamt;
mod steuern_wirtschaft;
mod umwelt;
mod verkehr;

/// Static description of one service; see [`super::services`].
pub(crate) struct Spec {
    /// Last URL segment, e.g. `personalausweis-beantragen`.
    pub(crate) slug: &'static str,
    pub(crate) title: &'static str,
    pub(crate) teaser: &'static str,
    /// One of [`CATEGORIES`].
    pub(crate) category: &'static str,
    /// Id of the responsible office.
    pub(crate) office: &'static str,
    pub(crate) keywords: &'static [&'static str],
    /// Plain text.
    pub(crate) fees: &'static str,
    /// Plain text items.
    pub(crate) documents: &'static [&'static str],
    /// Opening paragraph(s) without heading.
    pub(crate) intro: &'static str,
    /// „Voraussetzungen“; empty to omit.
    pub(crate) requirements: &'static str,
    /// „Fristen“; empty to omit.
    pub(crate) deadlines: &'static str,
    /// „Ablauf“; empty to omit.
    pub(crate) process: &'static str,
}

/// Service categories; the index feeds into the LeiKa-style key.
pub(crate) const CATEGORIES: &[&str] = &[
    "Ausweise und Dokumente",
    "Meldewesen",
    "Standesamt",
    "Verkehr und Kfz",
    "Parken",
    "Abfall und Umwelt",
    "Steuern und Abgaben",
    "Wirtschaft und Gewerbe",
    "Bauen und Wohnen",
    "Straßen und öffentlicher Raum",
    "Sicherheit und Ordnung",
    "Soziales und Familie",
    "Bildung und Kultur",
    "Wahlen",
    "Migration und Einbürgerung",
];

/// All service texts in their fixed order (the order defines the ids).
pub(crate) fn all() -> impl Iterator<Item = &'static Spec> {
    [
        ausweise::SERVICES,
        meldewesen::SERVICES,
        standesamt::SERVICES,
        verkehr::SERVICES,
        umwelt::SERVICES,
        steuern_wirtschaft::SERVICES,
        bauen_ordnung::SERVICES,
        familie_bildung::SERVICES,
        migration_wahlen::SERVICES,
    ]
    .into_iter()
    .flatten()
}
