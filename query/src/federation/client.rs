//! The Flight SQL connection to one member node: the same protocol and the same server code
//! as any ADBC client uses (`web/src/flight`), with this node's token as bearer.

use std::time::Duration;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow_flight::error::FlightError;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::{Stream, StreamExt, TryStreamExt};
use tonic::Code;
use tonic::transport::{Channel, Endpoint};

use super::NodeConfig;

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

    /// The result schema of `sql` on the node, planned (and checked by its policy) there but
    /// not run.
    pub async fn schema(&self, sql: &str) -> Result<SchemaRef, RemoteError> {
        let mut client = self.connect().await?;
        let info = client
            .execute(sql.to_string(), None)
            .await
            .map_err(|e| self.remote_error(e))?;
        let schema = info.try_decode_schema().map_err(|e| RemoteError::Failed {
            node: self.config.name.clone(),
            message: format!("its schema could not be read: {e}"),
        })?;
        Ok(std::sync::Arc::new(schema))
    }

    /// Runs `sql` on the node and streams the batches of every endpoint, in order.
    pub async fn query(
        &self,
        sql: &str,
    ) -> Result<impl Stream<Item = Result<RecordBatch, RemoteError>> + Send + use<>, RemoteError>
    {
        let mut client = self.connect().await?;
        let info = client
            .execute(sql.to_string(), None)
            .await
            .map_err(|e| self.remote_error(e))?;
        let mut streams = Vec::new();
        for endpoint in info.endpoint {
            let ticket = endpoint.ticket.ok_or_else(|| RemoteError::Failed {
                node: self.config.name.clone(),
                message: "an endpoint without a ticket".into(),
            })?;
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
