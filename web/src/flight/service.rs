//! [`AllmendeFlightSql`]: the Flight SQL methods, each a thin adapter onto
//! [`allmende_query::QueryEngine`] — read-only SQL, the privacy policy for the caller's role,
//! the time limit and the row cap, exactly as `POST /api/sql`.
//!
//! A statement is planned (and checked by the privacy policy) when the client asks for its
//! `FlightInfo` or prepares it, so refusals and SQL errors arrive before any data is requested;
//! it runs when the client fetches the ticket. Results are cut at `[query] max_rows` as over
//! HTTP. Everything that changes data (updates, ingest, transactions, Substrait) is refused.

use std::pin::Pin;
use std::sync::Arc;

use allmende_query::Role;
use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::encode::{DictionaryHandling, FlightDataEncoderBuilder};
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandPreparedStatementUpdate, CommandStatementQuery, CommandStatementUpdate, SqlInfo,
    TicketStatementQuery,
};
use arrow_flight::{
    FlightDescriptor, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage, SchemaAsIpc,
};
use futures::{Stream, TryStreamExt};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::caller::{self, AUTHORIZATION};
use super::errors::FlightSqlError;
use super::{catalog, sql_info, ticket};
use crate::routes::sql::{ROW_COUNT_HEADER, TRUNCATED_HEADER};
use crate::state::SharedState;

/// The `do_get` answer type.
type DoGetStream = <AllmendeFlightSql as FlightService>::DoGetStream;

/// The Flight SQL service over the server's shared state.
#[derive(Clone)]
pub struct AllmendeFlightSql {
    state: SharedState,
}

impl AllmendeFlightSql {
    /// A service answering from `state`'s query engine, with `state`'s tokens and roles.
    pub fn new(state: SharedState) -> Self {
        Self { state }
    }

    /// Plans `sql` for `role` (privacy check included) and returns its result schema.
    async fn plan(&self, sql: &str, role: Role) -> Result<SchemaRef, FlightSqlError> {
        let guarded = self.state.engine.plan_as(sql, role).await?;
        Ok(Arc::new(guarded.plan.schema().as_arrow().clone()))
    }

    /// The `FlightInfo` of a statement: its planned schema and one endpoint whose ticket runs it.
    async fn statement_info(
        &self,
        sql: &str,
        role: Role,
        descriptor: FlightDescriptor,
    ) -> Result<FlightInfo, FlightSqlError> {
        let schema = self.plan(sql, role).await?;
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| FlightSqlError::Encode(e.to_string()))?
            .with_endpoint(ticket::statement_endpoint(sql))
            .with_descriptor(descriptor)
            .with_ordered(true);
        Ok(info)
    }

    /// Runs `sql` for `role` and streams the result with exactly the schema announced by
    /// [`Self::statement_info`] (clients such as ADBC reject any difference, even in
    /// nullability). The response headers say how many rows came and whether the result was
    /// cut at `query.max_rows` (`x-allmende-row-count`, `x-allmende-truncated`, as over HTTP).
    async fn run(&self, sql: &str, role: Role) -> Result<Response<DoGetStream>, FlightSqlError> {
        let schema = self.plan(sql, role).await?;
        let result = self.state.engine.sql_as(sql, role).await?;
        let rows = result.num_rows();
        tracing::info!(
            %role,
            rows,
            truncated = result.truncated,
            "flight sql query answered"
        );
        let batches = result
            .batches
            .into_iter()
            .map(|batch| RecordBatch::try_new(schema.clone(), batch.columns().to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FlightSqlError::Encode(e.to_string()))?;
        let mut response = Response::new(encode(schema, batches));
        let headers = response.metadata_mut();
        headers.insert(ROW_COUNT_HEADER, MetadataValue::from(rows as u64));
        let truncated = if result.truncated { "true" } else { "false" };
        headers.insert(TRUNCATED_HEADER, MetadataValue::from_static(truncated));
        Ok(response)
    }
}

/// Flight data for `batches`, schema first (also for an empty result). Dictionaries are sent as
/// such, so the schema on the wire is the announced one.
pub(super) fn encode(schema: SchemaRef, batches: Vec<RecordBatch>) -> DoGetStream {
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .with_dictionary_handling(DictionaryHandling::Resend)
        .build(futures::stream::iter(
            batches.into_iter().map(Ok::<_, FlightError>),
        ))
        .map_err(Status::from);
    Box::pin(stream)
}

/// The IPC encoding of a schema, as `ActionCreatePreparedStatementResult` carries it.
fn ipc_schema(schema: &Schema) -> Result<IpcMessage, FlightSqlError> {
    SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: arrow::error::ArrowError| FlightSqlError::Encode(e.to_string()))
}

/// Refuses a statement that names a transaction (this server has none).
fn no_transaction(transaction_id: Option<&[u8]>) -> Result<(), FlightSqlError> {
    match transaction_id {
        Some(id) if !id.is_empty() => Err(FlightSqlError::Unsupported("transactions")),
        _ => Ok(()),
    }
}

#[tonic::async_trait]
impl FlightSqlService for AllmendeFlightSql {
    type FlightService = AllmendeFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let handshake = caller::handshake(&self.state, &request)?;
        tracing::info!(
            caller = handshake.caller.display_name(),
            role = %handshake.caller.role,
            "flight sql handshake"
        );
        let payload = handshake
            .bearer
            .as_deref()
            .and_then(|b| b.split_once(' '))
            .map(|(_, token)| token.as_bytes().to_vec())
            .unwrap_or_default();
        let answer = HandshakeResponse {
            protocol_version: 0,
            payload: payload.into(),
        };
        let mut response: Response<Pin<Box<dyn Stream<Item = _> + Send>>> =
            Response::new(Box::pin(futures::stream::iter([Ok(answer)])));
        if let Some(bearer) = handshake.bearer {
            let value = MetadataValue::try_from(bearer.as_str()).map_err(|_| {
                FlightSqlError::BadAuthorization("the token is not visible ASCII".into())
            })?;
            response.metadata_mut().insert(AUTHORIZATION, value);
        }
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let role = caller::role_of(&self.state, &request)?;
        no_transaction(query.transaction_id.as_deref())?;
        let sql = ticket::sql_of_handle(query.query.as_bytes())?;
        let info = self.statement_info(sql, role, request.into_inner()).await?;
        Ok(Response::new(info))
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let role = caller::role_of(&self.state, &request)?;
        let sql = ticket::sql_of_handle(&query.prepared_statement_handle)?;
        let info = self.statement_info(sql, role, request.into_inner()).await?;
        Ok(Response::new(info))
    }

    async fn do_get_statement(
        &self,
        query: TicketStatementQuery,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let role = caller::role_of(&self.state, &request)?;
        let sql = ticket::sql_of_handle(&query.statement_handle)?;
        Ok(self.run(sql, role).await?)
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let role = caller::role_of(&self.state, &request)?;
        let sql = ticket::sql_of_handle(&query.prepared_statement_handle)?;
        Ok(self.run(sql, role).await?)
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let role = caller::role_of(&self.state, &request)?;
        no_transaction(query.transaction_id.as_deref())?;
        let sql = ticket::sql_of_handle(query.query.as_bytes())?;
        let schema = self.plan(sql, role).await?;
        let IpcMessage(dataset_schema) = ipc_schema(&schema)?;
        let IpcMessage(parameter_schema) = ipc_schema(&Schema::empty())?;
        Ok(ActionCreatePreparedStatementResult {
            // The handle is the SQL itself: nothing to keep or to leak between clients.
            prepared_statement_handle: sql.as_bytes().to_vec().into(),
            dataset_schema,
            parameter_schema,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        caller::role_of(&self.state, &request)?;
        Ok(())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        caller::role_of(&self.state, &request)?;
        let schema = query.clone().into_builder(sql_info::data()).schema();
        catalog::command_info(&query, &schema, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        caller::role_of(&self.state, &request)?;
        let builder = query.into_builder(sql_info::data());
        let schema = builder.schema();
        let batch = builder
            .build()
            .map_err(|e| FlightSqlError::Encode(e.to_string()))?;
        Ok(Response::new(encode(schema, vec![batch])))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        caller::role_of(&self.state, &request)?;
        let schema = query.into_builder().schema();
        catalog::command_info(&query, &schema, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        caller::role_of(&self.state, &request)?;
        Ok(Response::new(catalog::catalogs(query)?))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        caller::role_of(&self.state, &request)?;
        let schema = query.clone().into_builder().schema();
        catalog::command_info(&query, &schema, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        caller::role_of(&self.state, &request)?;
        Ok(Response::new(catalog::schemas(&self.state, query)?))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        caller::role_of(&self.state, &request)?;
        let schema = query.clone().into_builder().schema();
        catalog::command_info(&query, &schema, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        let role = caller::role_of(&self.state, &request)?;
        Ok(Response::new(
            catalog::tables(&self.state, query, role).await?,
        ))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        caller::role_of(&self.state, &request)?;
        let schema = query.into_builder().schema();
        catalog::command_info(&query, &schema, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<arrow_flight::Ticket>,
    ) -> Result<Response<DoGetStream>, Status> {
        caller::role_of(&self.state, &request)?;
        Ok(Response::new(catalog::table_types(query)?))
    }

    async fn do_put_statement_update(
        &self,
        _ticket: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(FlightSqlError::Unsupported("updates").into())
    }

    async fn do_put_prepared_statement_update(
        &self,
        _query: CommandPreparedStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(FlightSqlError::Unsupported("updates").into())
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn transactions_are_refused_but_an_absent_id_is_fine() {
        assert!(no_transaction(None).is_ok());
        assert!(no_transaction(Some(b"")).is_ok());
        assert!(matches!(
            no_transaction(Some(b"tx1")),
            Err(FlightSqlError::Unsupported("transactions"))
        ));
    }

    #[tokio::test]
    async fn an_empty_result_still_sends_its_schema() {
        use arrow::datatypes::{DataType, Field};
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let messages: Vec<_> = encode(schema, Vec::new()).collect().await;
        assert_eq!(messages.len(), 1, "one schema message");
        assert!(messages[0].is_ok());
    }
}
