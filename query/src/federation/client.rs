//! The Flight SQL connection to one member node: the same protocol and the same server code
//! as any ADBC client uses (`web/src/flight`), with this node's token as bearer.

use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::SchemaRef;
use arrow::ipc::convert::try_schema_from_ipc_buffer;
use arrow::record_batch::RecordBatch;
use arrow_flight::error::FlightError;
use arrow_flight::sql::CommandGetTables;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::{Stream, StreamExt, TryStreamExt};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use super::{NodeConfig, ON_BEHALF_OF};
use crate::Role;

/// How long connecting to a node may take before it counts as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a remote node could not answer; the message always names the node.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    /// The node could not be reached (down, wrong address, network).
    #[error("member node `{node}` ({url}) is unreachable: {reason}")]
    Unreachable {
        node: String,
        url: String,
        reason: String,
    },
    /// The node's privacy policy or its role for our token refused the query.
    #[error("member node `{node}` refused the query: {message}")]
    Refused { node: String, message: String },
    /// The node answered with another error (bad SQL there, its time limit, …).
    #[error("member node `{node}` failed: {message}")]
    Failed { node: String, message: String },
}

/// The URI tonic connects to: `grpc://` is spelled `http://` for a plaintext channel. (Node to
/// node traffic runs over the members' private network or a TLS tunnel, like the listener.)
pub fn endpoint_uri(url: &str) -> Result<String, String> {
    let url = url.trim();
    let uri = match url.split_once("://") {
        Some(("grpc" | "http", rest)) => format!("http://{rest}"),
        _ => {
            return Err(format!(
                "`{url}` is not a plaintext Flight SQL URL (grpc://host:port); nodes talk over a private network or a TLS tunnel"
            ));
        }
    };
    Endpoint::from_shared(uri.clone()).map_err(|e| format!("`{url}`: {e}"))?;
    Ok(uri)
}

/// A member node's Flight SQL endpoint (connections are opened per request).
#[derive(Debug, Clone)]
pub struct NodeClient {
    config: NodeConfig,
}

impl NodeClient {
    /// A client for `config` (validated by [`NodeConfig::validate`]).
    pub fn new(config: NodeConfig) -> Self {
        Self { config }
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The node's URL as configured.
    pub fn url(&self) -> &str {
        &self.config.url
    }

    async fn connect(&self) -> Result<FlightSqlServiceClient<Channel>, RemoteError> {
        let uri = endpoint_uri(&self.config.url).map_err(|reason| self.unreachable(reason))?;
        let channel = Endpoint::from_shared(uri)
            .map_err(|e| self.unreachable(e.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .connect()
            .await
            .map_err(|e| self.unreachable(error_chain(&e)))?;
        let mut client = FlightSqlServiceClient::new(channel);
        if !self.config.token.is_empty() {
            client.set_header("authorization", format!("Bearer {}", self.config.token));
        }
        Ok(client)
    }

    fn unreachable(&self, reason: String) -> RemoteError {
        RemoteError::Unreachable {
            node: self.config.name.clone(),
            url: self.config.url.clone(),
            reason,
        }
    }

    /// Maps a Flight failure to what it means for the caller.
    fn remote_error(&self, error: FlightError) -> RemoteError {
        let node = self.config.name.clone();
        match error {
            FlightError::Tonic(status) => match status.code() {
                Code::Unavailable => self.unreachable(status.message().to_string()),
                Code::PermissionDenied | Code::Unauthenticated => RemoteError::Refused {
                    node,
                    message: status.message().to_string(),
                },
                _ => RemoteError::Failed {
                    node,
                    message: status.message().to_string(),
                },
            },
            other => RemoteError::Failed {
                node,
                message: other.to_string(),
            },
        }
    }

    /// The columns of the node's table `schema.table` (Flight SQL `GetTables` with schemas),
    /// `None` when the node has no such table. The node's catalogue is public metadata: the
    /// schema of a register table is known, its rows are not.
    pub async fn table_schema(
        &self,
        schema: &str,
        table: &str,
    ) -> Result<Option<SchemaRef>, RemoteError> {
        let mut client = self.connect().await?;
        let info = client
            .get_tables(CommandGetTables {
                catalog: None,
                db_schema_filter_pattern: Some(schema.to_string()),
                table_name_filter_pattern: Some(table.to_string()),
                table_types: Vec::new(),
                include_schema: true,
            })
            .await
            .map_err(|e| self.remote_error(e))?;
        for endpoint in info.endpoint {
            let ticket = endpoint
                .ticket
                .ok_or_else(|| self.failed("an endpoint without a ticket"))?;
            let batches: Vec<RecordBatch> = client
                .do_get(ticket)
                .await
                .map_err(|e| self.remote_error(e))?
                .try_collect()
                .await
                .map_err(|e| self.remote_error(e))?;
            for batch in &batches {
                if let Some(found) = self.find_table(batch, schema, table)? {
                    return Ok(Some(found));
                }
            }
        }
        Ok(None)
    }

    /// The schema of `schema.table` in one `GetTables` batch. The filters sent are SQL `LIKE`
    /// patterns (`_` matches any character), so names are compared exactly here.
    fn find_table(
        &self,
        batch: &RecordBatch,
        schema: &str,
        table: &str,
    ) -> Result<Option<SchemaRef>, RemoteError> {
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| self.failed(&format!("its table list lacks `{name}`")))
        };
        let (schemas, tables) = (text("db_schema_name")?, text("table_name")?);
        let schemas_ipc = batch
            .column_by_name("table_schema")
            .and_then(|c| c.as_binary_opt::<i32>())
            .ok_or_else(|| self.failed("its table list lacks the table schemas"))?;
        for row in 0..batch.num_rows() {
            if schemas.is_valid(row) && schemas.value(row) == schema && tables.value(row) == table {
                let decoded = try_schema_from_ipc_buffer(schemas_ipc.value(row))
                    .map_err(|e| self.failed(&format!("the schema of {schema}.{table}: {e}")))?;
                return Ok(Some(std::sync::Arc::new(decoded)));
            }
        }
        Ok(None)
    }

    fn failed(&self, message: &str) -> RemoteError {
        RemoteError::Failed {
            node: self.config.name.clone(),
            message: message.to_string(),
        }
    }

    /// Runs `sql` on the node for a caller with role `caller` here (the node caps its own role
    /// for our token at it) and streams the batches of every endpoint, in order.
    pub async fn query(
        &self,
        sql: &str,
        caller: Role,
    ) -> Result<impl Stream<Item = Result<RecordBatch, RemoteError>> + Send + use<>, RemoteError>
    {
        let mut client = self.connect().await?;
        client.set_header(ON_BEHALF_OF, caller.as_str());
        let info = client
            .execute(sql.to_string(), None)
            .await
            .map_err(|e| self.remote_error(e))?;
        let mut streams = Vec::new();
        for endpoint in info.endpoint {
            let ticket = endpoint
                .ticket
                .ok_or_else(|| self.failed("an endpoint without a ticket"))?;
            let this = self.clone();
            let stream = client
                .do_get(ticket)
                .await
                .map_err(|e| self.remote_error(e))?
                .map_err(move |e| this.remote_error(e));
            streams.push(stream);
        }
        Ok(futures::stream::iter(streams).flatten())
    }
}

/// An error with its sources, for connection failures whose top message is just "transport
/// error".
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flight_urls_become_tonic_uris() {
        assert_eq!(
            endpoint_uri("grpc://10.0.0.1:50051").unwrap(),
            "http://10.0.0.1:50051"
        );
        assert_eq!(endpoint_uri(" http://node:1 ").unwrap(), "http://node:1");
        for bad in ["10.0.0.1:50051", "ftp://x", "grpc+tls://node:443", ""] {
            assert!(endpoint_uri(bad).is_err(), "{bad}");
        }
    }
}
