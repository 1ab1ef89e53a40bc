//! Direct identifiers: columns of a personal table that name, locate or pin down one person.
//!
//! Declared by column name, not by a marker in the data: snapshots come from many connectors
//! and formats, and a name list works for all of them. Every personal table gets
//! [`DEFAULT_IDENTIFIERS`] (German register terms and their English equivalents); operators add
//! table-specific ones with `query.identifier_columns` (`column` or `source.table.column`).
//! Defaults cannot be switched off. A personal table with an identifying column that has an
//! unusual name must be listed in the config — the module docs of the policy say so.

use std::collections::HashSet;

/// Column names treated as direct identifiers in every personal table (lower case).
pub const DEFAULT_IDENTIFIERS: &[&str] = &[
    // ids
    "id",
    "personen_id",
    "person_id",
    "personenkennzeichen",
    "ordnungsmerkmal",
    "steuer_id",
    "steueridentifikationsnummer",
    "ausweisnummer",
    "passnummer",
    // names
    "name",
    "familienname",
    "nachname",
    "geburtsname",
    "vorname",
    "vornamen",
    "rufname",
    "surname",
    "first_name",
    "last_name",
    "given_name",
    "full_name",
    // exact dates of life events
    "geburtsdatum",
    "geburtstag",
    "sterbedatum",
    "todesdatum",
    "date_of_birth",
    "birth_date",
    "birthday",
    // places and addresses
    "geburtsort",
    "strasse",
    "straße",
    "hausnummer",
    "hausnummerzusatz",
    "adresse",
    "anschrift",
    "street",
    "house_number",
    "address",
    // contact and accounts
    "telefon",
    "telefonnummer",
    "mobil",
    "email",
    "e_mail",
    "iban",
    "phone",
];

/// The default identifier set.
pub(crate) fn defaults() -> HashSet<String> {
    DEFAULT_IDENTIFIERS.iter().map(|s| s.to_string()).collect()
}
