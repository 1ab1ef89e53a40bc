//! `GetSqlInfo`: what the server tells Flight SQL clients about itself (name, version,
//! read-only, no transactions, no Substrait). ADBC and JDBC read this when they connect.

use std::sync::OnceLock;

use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::{SqlInfo, SqlSupportedTransaction};

/// The server's `SqlInfo` values, built once.
pub fn data() -> &'static SqlInfoData {
    static DATA: OnceLock<SqlInfoData> = OnceLock::new();
    // Constants of supported types: building cannot fail (checked by the test below).
    DATA.get_or_init(|| build().expect("the constant SqlInfo table builds"))
}

fn build() -> Result<SqlInfoData, arrow_flight::error::FlightError> {
    let mut info = SqlInfoDataBuilder::new();
    info.append(SqlInfo::FlightSqlServerName, "Allmende");
    info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    // The Arrow format version (Schema.fbs MetadataVersion V5 = "1.3").
    info.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    info.append(SqlInfo::FlightSqlServerReadOnly, true);
    info.append(SqlInfo::FlightSqlServerSql, true);
    info.append(SqlInfo::FlightSqlServerSubstrait, false);
    info.append(
        SqlInfo::FlightSqlServerTransaction,
        SqlSupportedTransaction::None as i32,
    );
    info.append(SqlInfo::FlightSqlServerCancel, false);
    info.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    info.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_flight::sql::CommandGetSqlInfo;

    #[test]
    fn the_info_table_builds_and_answers_a_subset() {
        build().expect("SqlInfo table");
        let batch = CommandGetSqlInfo {
            info: vec![
                SqlInfo::FlightSqlServerName as u32,
                SqlInfo::FlightSqlServerReadOnly as u32,
            ],
        }
        .into_builder(data())
        .build()
        .expect("batch");
        assert_eq!(batch.num_rows(), 2);
    }
}
