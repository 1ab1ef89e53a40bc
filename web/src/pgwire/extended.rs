//! The extended-query protocol (Parse / Bind / Describe / Execute), which PostgreSQL drivers
//! use for parameters: psycopg, JDBC, Npgsql, `psql`'s `\bind`. A statement is planned at
//! Parse to announce its parameter types and result columns; at Execute its `$n` values are
//! decoded (text or binary) and the engine runs it under the session's role, with the privacy
//! policy checking the plan with the values in place. Results come in text or, per column when
//! the client asks, in binary (booleans, integers, floats, text, dates, timestamps).
//!
//! Session commands (`BEGIN`, `COMMIT`, `SET …`) are accepted as in the simple protocol.

use std::fmt::Debug;
use std::sync::Arc;

use allmende_query::{ScalarValue, StatementShape};
use arrow::datatypes::{DataType, Date32Type};
use async_trait::async_trait;
use futures::Sink;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{FieldInfo, Response};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;

use super::handler::{Command, run_statement, session_role};
use super::{encode, errors};
use crate::state::SharedState;

/// A statement after Parse.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// An empty statement (answered with `EmptyQueryResponse`).
    Empty,
    /// A session command, answered without the engine.
    Session(Command),
    /// SQL for the engine.
    Query {
        /// The text, with `$n` placeholders.
        sql: String,
        /// What the engine expects for each parameter (`None`: whatever is sent).
        parameters: Vec<Option<DataType>>,
        /// The result columns, in text format.
        fields: Vec<FieldInfo>,
    },
}

/// Plans statements at Parse.
pub struct StatementParser {
    state: SharedState,
}

fn user_error(info: ErrorInfo) -> PgWireError {
    PgWireError::UserError(Box::new(info))
}

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Prepared>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let statements = allmende_query::split_statements(sql);
        match statements.as_slice() {
            [] => Ok(Prepared::Empty),
            [statement] => match Command::of(statement) {
                Command::Sql => {
                    let shape = self
                        .state
                        .engine
                        .prepare(statement)
                        .await
                        .map_err(|e| user_error(errors::query_error(&e)))?;
                    Ok(query(statement, shape))
                }
                command => Ok(Prepared::Session(command)),
            },
            _ => Err(user_error(errors::error_info(
                "42601",
                "cannot insert multiple commands into a prepared statement".to_owned(),
            ))),
        }
    }

    fn get_parameter_types(&self, statement: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(match statement {
            Prepared::Query { parameters, .. } => parameters
                .iter()
                .map(|p| p.as_ref().map_or(Type::TEXT, encode::pg_type))
                .collect(),
            _ => Vec::new(),
        })
    }

    fn get_result_schema(
        &self,
        statement: &Prepared,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(match statement {
            Prepared::Query { fields, .. } => encode::with_formats(fields, column_format),
            _ => Vec::new(),
        })
    }
}

fn query(sql: &str, shape: StatementShape) -> Prepared {
    Prepared::Query {
        sql: sql.to_owned(),
        parameters: shape.parameters,
        fields: encode::fields(&shape.schema).as_ref().clone(),
    }
}

/// The extended protocol over the same engine as the simple one.
pub struct ExtendedHandler {
    parser: Arc<StatementParser>,
    state: SharedState,
}

impl ExtendedHandler {
    /// A handler over `state`'s engine.
    pub fn new(state: SharedState) -> Self {
        Self {
            parser: Arc::new(StatementParser {
                state: state.clone(),
            }),
            state,
        }
    }
}

#[async_trait]
impl ExtendedQueryHandler for ExtendedHandler {
    type Statement = Prepared;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let role = match session_role(client) {
            Ok(role) => role,
            Err(info) => return Ok(Response::Error(info)),
        };
        let (sql, declared) = match &portal.statement.statement {
            Prepared::Empty => return Ok(Response::EmptyQuery),
            Prepared::Session(command) => return Ok(command.response()),
            Prepared::Query {
                sql, parameters, ..
            } => (sql, parameters),
        };
        let params = match parameter_values(portal, declared) {
            Ok(params) => params,
            Err(info) => return Ok(Response::Error(info)),
        };
        run_statement(
            &self.state,
            client,
            sql,
            params,
            role,
            Some(&portal.result_column_format),
        )
        .await
    }
}

/// The values of a portal's parameters, as the engine expects them: text values are cast from
/// their text to the type the statement needs (or the type the client declared), binary values
/// are decoded by their declared type.
fn parameter_values(
    portal: &Portal<Prepared>,
    declared: &[Option<DataType>],
) -> Result<Vec<ScalarValue>, Box<ErrorInfo>> {
    let statement: &StoredStatement<Prepared> = &portal.statement;
    (0..portal.parameters.len())
        .map(|i| {
            let client_type = statement.parameter_types.get(i).cloned().flatten();
            let target = declared
                .get(i)
                .cloned()
                .flatten()
                .or_else(|| client_type.as_ref().and_then(encode::arrow_type));
            let invalid = |why: String| {
                Box::new(errors::error_info(
                    "22P02",
                    format!("parameter ${}: {why}", i + 1),
                ))
            };
            let value = match &portal.parameters[i] {
                None => ScalarValue::Null,
                Some(bytes) if !portal.parameter_format.is_binary(i) => {
                    let text = std::str::from_utf8(bytes)
                        .map_err(|_| invalid("the text is not UTF-8".into()))?;
                    ScalarValue::from(text)
                }
                Some(_) => {
                    let pg = client_type
                        .clone()
                        .unwrap_or_else(|| target.as_ref().map_or(Type::TEXT, encode::pg_type));
                    binary_parameter(portal, i, &pg).map_err(|e| invalid(e.to_string()))?
                }
            };
            match target {
                Some(data_type) if value.data_type() != data_type => {
                    value.cast_to(&data_type).map_err(|_| {
                        invalid(format!(
                            "the value is not a valid {}",
                            encode::pg_type(&data_type).name()
                        ))
                    })
                }
                _ => Ok(value),
            }
        })
        .collect()
}

/// A binary parameter value of type `pg`.
fn binary_parameter(portal: &Portal<Prepared>, i: usize, pg: &Type) -> PgWireResult<ScalarValue> {
    Ok(if *pg == Type::BOOL {
        ScalarValue::Boolean(portal.parameter::<bool>(i, pg)?)
    } else if *pg == Type::INT2 {
        ScalarValue::Int16(portal.parameter::<i16>(i, pg)?)
    } else if *pg == Type::INT4 {
        ScalarValue::Int32(portal.parameter::<i32>(i, pg)?)
    } else if *pg == Type::INT8 {
        ScalarValue::Int64(portal.parameter::<i64>(i, pg)?)
    } else if *pg == Type::FLOAT4 {
        ScalarValue::Float32(portal.parameter::<f32>(i, pg)?)
    } else if *pg == Type::FLOAT8 {
        ScalarValue::Float64(portal.parameter::<f64>(i, pg)?)
    } else if *pg == Type::DATE {
        ScalarValue::Date32(
            portal
                .parameter::<chrono::NaiveDate>(i, pg)?
                .map(Date32Type::from_naive_date),
        )
    } else if *pg == Type::TIMESTAMP {
        ScalarValue::TimestampMicrosecond(
            portal
                .parameter::<chrono::NaiveDateTime>(i, pg)?
                .map(|t| t.and_utc().timestamp_micros()),
            None,
        )
    } else if [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(pg)
    {
        ScalarValue::Utf8(portal.parameter::<String>(i, pg)?)
    } else {
        return Err(PgWireError::UserError(Box::new(errors::error_info(
            "0A000",
            format!(
                "binary {} parameters are not supported; send this one in text format",
                pg.name()
            ),
        ))));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_map_to_arrow_and_the_rest_is_left_to_the_statement() {
        assert_eq!(encode::arrow_type(&Type::INT8), Some(DataType::Int64));
        assert_eq!(encode::arrow_type(&Type::DATE), Some(DataType::Date32));
        assert_eq!(encode::arrow_type(&Type::NUMERIC), None);
    }

    #[test]
    fn responses_for_session_commands_carry_their_tags() {
        assert!(matches!(
            Command::Begin.response(),
            Response::TransactionStart(_)
        ));
        assert!(matches!(
            Command::Setting("SET").response(),
            Response::Execution(_)
        ));
    }
}
