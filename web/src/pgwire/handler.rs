//! The simple-query protocol: every statement of a `Query` message is planned, checked by the
//! privacy policy for the session's role and run by the shared engine, then answered as text
//! rows. A truncated result (over `query.max_rows`) is preceded by a `WARNING` notice, so
//! `psql` users see that rows are missing.
//!
//! Session commands that clients send out of habit are accepted without effect: `BEGIN` /
//! `COMMIT` / `ROLLBACK` (every statement is a read-only snapshot read anyway) and `SET` /
//! `RESET` (answered with a notice that settings are fixed). Anything else that is not a
//! read-only query gets the engine's refusal.

use std::fmt::Debug;
use std::sync::Arc;

use allmende_query::{Role, ScalarValue, split_statements};
use async_trait::async_trait;
use futures::{Sink, SinkExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::{QueryResponse, Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::response::NoticeResponse;

use super::{encode, errors, login};
use crate::state::SharedState;

/// Answers simple queries from the shared engine.
pub struct SqlHandler {
    state: SharedState,
}

/// What a statement of a `Query` (or `Parse`) message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT` / `END` / `ROLLBACK` / `ABORT`, with the tag PostgreSQL answers.
    End(&'static str),
    /// `SET` / `RESET` / `DISCARD`, with its tag.
    Setting(&'static str),
    /// Anything else: SQL for the engine.
    Sql,
}

impl Command {
    /// The kind of `statement`.
    pub fn of(statement: &str) -> Self {
        let first = statement
            .split(|c: char| c.is_whitespace() || c == ';')
            .find(|word| !word.is_empty())
            .unwrap_or("")
            .to_ascii_uppercase();
        match first.as_str() {
            "BEGIN" | "START" => Command::Begin,
            "COMMIT" | "END" => Command::End("COMMIT"),
            "ROLLBACK" | "ABORT" => Command::End("ROLLBACK"),
            "SET" => Command::Setting("SET"),
            "RESET" => Command::Setting("RESET"),
            "DISCARD" => Command::Setting("DISCARD"),
            _ => Command::Sql,
        }
    }

    /// The answer to a session command (`Sql` is the engine's to answer, never this).
    pub fn response(&self) -> Response {
        match self {
            Command::Begin => Response::TransactionStart(Tag::new("BEGIN")),
            Command::End(tag) => Response::TransactionEnd(Tag::new(tag)),
            Command::Setting(tag) => Response::Execution(Tag::new(tag)),
            Command::Sql => Response::EmptyQuery,
        }
    }
}

/// The `WARNING` sent before a result cut at `query.max_rows` (after `rows` rows).
fn truncation_notice(rows: usize) -> PgWireBackendMessage {
    notice(
        "WARNING",
        "01000",
        format!(
            "the result was cut off after {rows} rows (the server's query.max_rows); add a LIMIT, filters or an aggregate"
        ),
    )
}

fn notice(severity: &str, code: &str, message: String) -> PgWireBackendMessage {
    PgWireBackendMessage::NoticeResponse(NoticeResponse::from(ErrorInfo::new(
        severity.to_owned(),
        code.to_owned(),
        message,
    )))
}

impl SqlHandler {
    /// A handler over `state`'s engine.
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }
}

/// The role of the logged-in session behind `client`, or the error response for a session
/// that has not logged in.
pub fn session_role<C: ClientInfo>(client: &C) -> Result<Role, Box<ErrorInfo>> {
    login::session_caller(client)
        .map(|session| session.0.role)
        .ok_or_else(|| {
            Box::new(errors::error_info(
                "28000",
                "the session has not logged in".to_owned(),
            ))
        })
}

/// Runs one statement (with the values of its `$n` parameters, if any) for `role` and answers
/// it in `formats` (`None`: text), for both protocols. A refusal, or a column the client wants
/// in a format not offered, becomes an error response, not a broken session.
pub async fn run_statement<C>(
    state: &SharedState,
    client: &mut C,
    sql: &str,
    params: Vec<ScalarValue>,
    role: Role,
    formats: Option<&Format>,
) -> PgWireResult<Response>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let result = match state.engine.sql_with_params_as(sql, params, role).await {
        Ok(result) => result,
        Err(error) => {
            tracing::info!(%role, reason = %error, "pgwire: statement refused");
            return Ok(Response::Error(Box::new(errors::query_error(&error))));
        }
    };
    let rows = result.num_rows();
    tracing::info!(%role, rows, truncated = result.truncated, "pgwire query answered");
    if result.truncated {
        client.feed(truncation_notice(rows)).await?;
    }
    let fields = Arc::new(encode::with_formats(
        &encode::fields(&result.schema),
        formats,
    ));
    let data = match encode::data_rows(&fields, &result.batches) {
        Ok(data) => data,
        Err(PgWireError::UserError(info)) => return Ok(Response::Error(info)),
        Err(other) => return Err(other),
    };
    Ok(Response::Query(QueryResponse::new(
        fields,
        stream::iter(data.into_iter().map(Ok)),
    )))
}

#[async_trait]
impl SimpleQueryHandler for SqlHandler {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let role = match session_role(client) {
            Ok(role) => role,
            Err(info) => return Ok(vec![Response::Error(info)]),
        };
        let mut responses = Vec::new();
        for statement in split_statements(query) {
            let response = match Command::of(&statement) {
                Command::Sql => {
                    run_statement(&self.state, client, &statement, Vec::new(), role, None).await?
                }
                Command::Setting(tag) => {
                    client
                        .feed(notice(
                            "NOTICE",
                            "00000",
                            format!("{tag} has no effect: Allmende sessions have fixed settings"),
                        ))
                        .await?;
                    Command::Setting(tag).response()
                }
                command => command.response(),
            };
            let failed = matches!(response, Response::Error(_));
            responses.push(response);
            // Like PostgreSQL: the rest of a multi-statement message is skipped after an error.
            if failed {
                break;
            }
        }
        Ok(responses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_commands_are_recognised_and_the_rest_is_sql() {
        assert_eq!(Command::of("begin"), Command::Begin);
        assert_eq!(Command::of("  START TRANSACTION READ ONLY"), Command::Begin);
        assert_eq!(Command::of("commit;"), Command::End("COMMIT"));
        assert_eq!(Command::of("ROLLBACK"), Command::End("ROLLBACK"));
        assert_eq!(Command::of("SET search_path = x"), Command::Setting("SET"));
        assert_eq!(Command::of("SELECT 1"), Command::Sql);
        assert_eq!(
            Command::of("WITH t AS (SELECT 1) SELECT * FROM t"),
            Command::Sql
        );
        assert_eq!(Command::of("DROP TABLE x"), Command::Sql);
        assert_eq!(Command::of("settings"), Command::Sql);
    }
}
