//! A member node as a DataFusion catalog. Its schemas and tables are not listed up front: a
//! table is looked up on the node when a query names it (`koeln.musterstadt.bevoelkerung`),
//! so the node's current tables are always the ones used and a node that is down fails only
//! the queries that read from it, with an error naming it.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::DataFusionError;

use super::client::NodeClient;
use super::table::RemoteTable;

/// The catalog of one member node.
#[derive(Debug)]
pub struct NodeCatalog {
    client: NodeClient,
}

impl NodeCatalog {
    /// The catalog reached through `client`.
    pub fn new(client: NodeClient) -> Self {
        Self { client }
    }
}

impl CatalogProvider for NodeCatalog {
    /// Unknown until asked: remote tables are resolved by name when a query uses them.
    fn schema_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Some(Arc::new(NodeSchema {
            client: self.client.clone(),
            schema: name.to_string(),
        }))
    }
}

/// One schema (an Allmende source) of a member node.
#[derive(Debug)]
struct NodeSchema {
    client: NodeClient,
    schema: String,
}

/// `"name"` with inner quotes doubled: identifiers reach the node exactly as named.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[async_trait]
impl SchemaProvider for NodeSchema {
    fn table_names(&self) -> Vec<String> {
        Vec::new()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        let remote_name = format!(
            "{}.{}",
            quote_identifier(&self.schema),
            quote_identifier(name)
        );
        // The node's catalogue says whether the table exists and what its columns are; what
        // may be read from it is decided by the node when a query runs.
        match self.client.table_schema(&self.schema, name).await {
            Ok(Some(schema)) => Ok(Some(Arc::new(RemoteTable::new(
                self.client.clone(),
                remote_name,
                schema,
            )))),
            // The node does not have that table: DataFusion reports it as not found.
            Ok(None) => Ok(None),
            Err(error) => Err(DataFusionError::External(Box::new(error))),
        }
    }

    fn table_exist(&self, _name: &str) -> bool {
        // Not known without asking the node; `table` asks.
        true
    }
}
