//! The Flight SQL catalog commands (`GetCatalogs`, `GetDbSchemas`, `GetTables`,
//! `GetTableTypes`), which ADBC's `adbc_get_objects` and the table browsers of BI tools use.
//!
//! The tables and their columns are read from the engine's own `information_schema.columns`,
//! through the same [`QueryEngine::sql_as`](allmende_query::QueryEngine::sql_as) as any query:
//! what is listed is exactly what a query can name, with the types a query returns. Every
//! table lives in DataFusion's default catalog `datafusion`, in one schema per source (plus
//! `allmende` for `allmende.catalog`); queries name them `source.table`.

use std::collections::BTreeMap;

use allmende_query::Role;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow_flight::sql::{
    CommandGetCatalogs, CommandGetDbSchemas, CommandGetTableTypes, CommandGetTables,
    ProstMessageExt,
};
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo};
use tonic::{Response, Status};

use super::errors::FlightSqlError;
use super::service::encode;
use super::ticket;
use crate::state::AppState;

/// The catalog every table is registered in (DataFusion's default).
pub const CATALOG: &str = "datafusion";

/// The only table type served.
pub const TABLE_TYPE: &str = "TABLE";

/// The `do_get` stream type.
type DoGetStream = <super::service::AllmendeFlightSql as arrow_flight::flight_service_server::FlightService>::DoGetStream;

/// `FlightInfo` for a catalog command: the command's result schema and a ticket that is the
/// command itself.
pub fn command_info(
    command: &impl ProstMessageExt,
    schema: &Schema,
    descriptor: FlightDescriptor,
) -> Result<Response<FlightInfo>, Status> {
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| FlightSqlError::Encode(e.to_string()))?
        .with_endpoint(FlightEndpoint::new().with_ticket(ticket::command_ticket(command)))
        .with_descriptor(descriptor);
    Ok(Response::new(info))
}

/// `GetCatalogs`: the one catalog.
pub fn catalogs(query: CommandGetCatalogs) -> Result<DoGetStream, FlightSqlError> {
    let mut builder = query.into_builder();
    builder.append(CATALOG);
    let schema = builder.schema();
    let batch = builder
        .build()
        .map_err(|e| FlightSqlError::Encode(e.to_string()))?;
    Ok(encode(schema, vec![batch]))
}

/// `GetTableTypes`: `TABLE`.
pub fn table_types(query: CommandGetTableTypes) -> Result<DoGetStream, FlightSqlError> {
    let mut builder = query.into_builder();
    builder.append(TABLE_TYPE);
    let schema = builder.schema();
    let batch = builder
        .build()
        .map_err(|e| FlightSqlError::Encode(e.to_string()))?;
    Ok(encode(schema, vec![batch]))
}

/// `GetDbSchemas`: one schema per source.
pub fn schemas(
    state: &AppState,
    query: CommandGetDbSchemas,
) -> Result<DoGetStream, FlightSqlError> {
    let mut names: Vec<&str> = state
        .engine
        .snapshots()
        .iter()
        .map(|s| s.provenance.table.source.as_str())
        .chain(["allmende"])
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut builder = query.into_builder();
    for name in names {
        builder.append(CATALOG, name);
    }
    let schema = builder.schema();
    let batch = builder
        .build()
        .map_err(|e| FlightSqlError::Encode(e.to_string()))?;
    Ok(encode(schema, vec![batch]))
}

/// `GetTables`: every queryable table, with its Arrow schema when asked.
pub async fn tables(
    state: &AppState,
    query: CommandGetTables,
    role: Role,
) -> Result<DoGetStream, FlightSqlError> {
    let tables = table_schemas(state, role).await?;
    let mut builder = query.into_builder();
    for ((schema_name, table_name), fields) in tables {
        builder
            .append(
                CATALOG,
                schema_name,
                table_name,
                TABLE_TYPE,
                &Schema::new(fields),
            )
            .map_err(|e| FlightSqlError::Encode(e.to_string()))?;
    }
    let schema = builder.schema();
    let batch = builder
        .build()
        .map_err(|e| FlightSqlError::Encode(e.to_string()))?;
    Ok(encode(schema, vec![batch]))
}

/// `(schema, table)` → columns, from `information_schema.columns`.
type TableSchemas = BTreeMap<(String, String), Vec<Field>>;

async fn table_schemas(state: &AppState, role: Role) -> Result<TableSchemas, FlightSqlError> {
    let sql = format!(
        "SELECT table_schema, table_name, column_name, data_type, is_nullable \
         FROM information_schema.columns \
         WHERE table_catalog = '{CATALOG}' AND table_schema <> 'information_schema' \
         ORDER BY table_schema, table_name, ordinal_position"
    );
    let result = state.engine.sql_as(&sql, role).await?;
    let mut tables = TableSchemas::new();
    for batch in &result.batches {
        let text = |i: usize| {
            batch
                .column(i)
                .as_string_opt::<i32>()
                .ok_or_else(|| FlightSqlError::Encode("information_schema column types".into()))
        };
        let (schemas, names, columns, types, nullable) =
            (text(0)?, text(1)?, text(2)?, text(3)?, text(4)?);
        for row in 0..batch.num_rows() {
            let data_type = parse_type(types.value(row));
            let field = Field::new(
                columns.value(row),
                data_type,
                nullable.is_null(row) || nullable.value(row) == "YES",
            );
            tables
                .entry((schemas.value(row).to_string(), names.value(row).to_string()))
                .or_default()
                .push(field);
        }
    }
    Ok(tables)
}

/// The Arrow type of an `information_schema` type name; `Null` (unknown) if it does not parse.
fn parse_type(name: &str) -> DataType {
    name.parse().unwrap_or_else(|_| {
        tracing::warn!(
            data_type = name,
            "flight sql: unparsable column type in the catalog"
        );
        DataType::Null
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_type_names_parse_back() {
        for t in [
            DataType::Utf8,
            DataType::Utf8View,
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::UInt64,
            DataType::Date32,
        ] {
            assert_eq!(parse_type(&t.to_string()), t);
        }
        assert_eq!(parse_type("NoSuchType"), DataType::Null);
    }
}
