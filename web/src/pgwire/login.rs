//! The startup phase: who is connecting, checked exactly like a bearer token on `/api/sql`.
//!
//! * User `anonymous`: no password is asked; the session runs as `query.default_role`
//!   (`psql "host=… port=… user=anonymous"`).
//! * Any other user name: the server asks for a cleartext password, which must be an Allmende
//!   token (`allmende token new`); the user name is only a label, the token decides the role
//!   (`PGPASSWORD=alm_… psql -h … -U statistik`).
//!
//! A refused login is a `FATAL 28P01` whose message never contains the presented token.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, METADATA_USER, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::auth::{Caller, caller_for_token};
use crate::state::SharedState;

/// The user name that connects without a token.
pub const ANONYMOUS_USER: &str = "anonymous";

/// The session's caller, kept in the connection's session extensions after login.
#[derive(Debug, Clone)]
pub struct SessionCaller(pub Caller);

/// Startup handler: anonymous sessions, or a token as the cleartext password.
pub struct TokenLogin {
    state: SharedState,
    parameters: DefaultServerParameterProvider,
}

impl TokenLogin {
    /// Logins checked against `state`'s `[auth]` tokens and `query.default_role`.
    pub fn new(state: SharedState) -> Self {
        let mut parameters = DefaultServerParameterProvider::default();
        // Every session is read-only and none is a superuser; clients that look at these
        // (e.g. to hide write actions) see the truth.
        parameters.is_superuser = false;
        parameters.default_transaction_read_only = true;
        Self { state, parameters }
    }

    fn anonymous(&self) -> Caller {
        Caller {
            name: None,
            role: self.state.config.query.default_role,
        }
    }
}

/// The `FATAL` a refused login gets (SQLSTATE `28P01`, invalid_password).
fn refused(reason: impl std::fmt::Display) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".to_owned(),
        "28P01".to_owned(),
        format!("login refused: {reason}"),
    )))
}

#[async_trait]
impl StartupHandler for TokenLogin {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let user = client.metadata().get(METADATA_USER).cloned();
                if user.as_deref().is_none_or(|u| u == ANONYMOUS_USER) {
                    let caller = self.anonymous();
                    tracing::info!(peer = %client.socket_addr(), role = %caller.role, "pgwire: anonymous session");
                    client.session_extensions().insert(SessionCaller(caller));
                    finish_authentication(client, &self.parameters).await?;
                } else {
                    client.set_state(PgWireConnectionState::AuthenticationInProgress);
                    client
                        .send(PgWireBackendMessage::Authentication(
                            Authentication::CleartextPassword,
                        ))
                        .await?;
                }
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let password = password.into_password()?;
                let token = password.password.trim();
                if token.is_empty() {
                    return Err(refused(format!(
                        "give an Allmende token as the password, or connect as user `{ANONYMOUS_USER}`"
                    )));
                }
                let caller = caller_for_token(&self.state.config.auth, token).map_err(refused)?;
                tracing::info!(peer = %client.socket_addr(), caller = caller.display_name(), role = %caller.role, "pgwire: session authenticated");
                client.session_extensions().insert(SessionCaller(caller));
                finish_authentication(client, &self.parameters).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The caller a session logged in as; `None` before login (cannot happen for queries, which
/// pgwire only accepts after `finish_authentication`).
pub fn session_caller<C: ClientInfo>(client: &C) -> Option<Arc<SessionCaller>> {
    client.session_extensions().get::<SessionCaller>()
}
