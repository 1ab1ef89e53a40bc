//! Who is calling a Flight SQL method: the `authorization` metadata of every call, resolved by
//! [`crate::auth`] exactly as for `POST /api/sql` (no metadata → `query.default_role`).
//!
//! Flight SQL clients authenticate either by sending `authorization: Bearer <token>` on every
//! call (ADBC: `adbc.flight.sql.authorization_header`), or by a handshake with HTTP Basic
//! credentials whose answer is a bearer value they then send on every call (ADBC, JDBC and
//! BI tools with a user name and password). Allmende takes the token as the Basic password (the
//! user name is ignored) and hands `Bearer <token>` back, so both paths end in the same check.

use allmende_query::Role;
use allmende_query::federation::ON_BEHALF_OF;
use tonic::Request;

use super::errors::FlightSqlError;
use crate::auth::{Caller, caller_for_bearer, caller_for_token};
use crate::state::AppState;

/// The metadata key that carries credentials (gRPC metadata keys are lower case).
pub const AUTHORIZATION: &str = "authorization";

/// The caller of one request, from its `authorization` metadata.
pub fn caller_of<T>(state: &AppState, request: &Request<T>) -> Result<Caller, FlightSqlError> {
    let header = authorization_header(request)?;
    caller_for_header(state, header)
}

/// The role the caller's SQL runs under: its token's role, lowered to the role named in
/// `x-allmende-on-behalf-of` when a member node queries for one of its own callers
/// ([`allmende_query::federation::ON_BEHALF_OF`]; it never raises a role).
pub fn role_of<T>(state: &AppState, request: &Request<T>) -> Result<Role, FlightSqlError> {
    let role = caller_of(state, request)?.role;
    Ok(match on_behalf_of(request)? {
        Some(caller) => role.min(caller),
        None => role,
    })
}

/// The role named in the `x-allmende-on-behalf-of` metadata, if sent.
fn on_behalf_of<T>(request: &Request<T>) -> Result<Option<Role>, FlightSqlError> {
    let Some(value) = request.metadata().get(ON_BEHALF_OF) else {
        return Ok(None);
    };
    let bad = || {
        FlightSqlError::BadAuthorization(format!(
            "`{ON_BEHALF_OF}` must be public, analyst or admin"
        ))
    };
    let text = value.to_str().map_err(|_| bad())?;
    text.parse::<Role>().map(Some).map_err(|_| bad())
}

/// Resolves an `authorization` value (`None`: anonymous) with the configured tokens.
fn caller_for_header(state: &AppState, header: Option<&str>) -> Result<Caller, FlightSqlError> {
    Ok(caller_for_bearer(
        &state.config.auth,
        state.config.query.default_role,
        header,
    )?)
}

/// The `authorization` metadata as text, if sent.
fn authorization_header<T>(request: &Request<T>) -> Result<Option<&str>, FlightSqlError> {
    request
        .metadata()
        .get(AUTHORIZATION)
        .map(|value| {
            value.to_str().map_err(|_| {
                FlightSqlError::BadAuthorization("the value is not visible ASCII".into())
            })
        })
        .transpose()
}

/// The outcome of a handshake: who called, and the bearer value the client should send on
/// every following call (`None` for an anonymous handshake).
pub struct Handshake {
    /// The authenticated (or anonymous) caller.
    pub caller: Caller,
    /// `Bearer <token>`, to be returned in the response's `authorization` metadata.
    pub bearer: Option<String>,
}

/// Authenticates a handshake: `Bearer <token>` is checked and handed back; `Basic
/// base64(user:token)` is checked with the password as the token and answered with `Bearer
/// <token>`; no credentials means an anonymous session.
pub fn handshake<T>(state: &AppState, request: &Request<T>) -> Result<Handshake, FlightSqlError> {
    let Some(header) = authorization_header(request)? else {
        return Ok(Handshake {
            caller: caller_for_header(state, None)?,
            bearer: None,
        });
    };
    let (scheme, credentials) = header.trim().split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let token = basic_password(credentials.trim())?;
        let caller = caller_for_token(&state.config.auth, &token)?;
        return Ok(Handshake {
            caller,
            bearer: Some(format!("Bearer {token}")),
        });
    }
    let caller = caller_for_header(state, Some(header))?;
    Ok(Handshake {
        caller,
        bearer: Some(header.trim().to_string()),
    })
}

/// The password of HTTP Basic credentials (`base64(user:password)`).
fn basic_password(encoded: &str) -> Result<String, FlightSqlError> {
    let bad = |why: &str| FlightSqlError::BadAuthorization(format!("Basic credentials {why}"));
    let decoded = super::base64::decode(encoded).ok_or_else(|| bad("are not valid base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| bad("are not UTF-8"))?;
    let (_user, password) = text
        .split_once(':')
        .ok_or_else(|| bad("lack the `user:password` colon"))?;
    if password.is_empty() {
        return Err(bad("have an empty password (put the Allmende token there)"));
    }
    Ok(password.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_on_behalf_of_a_caller_is_read_strictly() {
        let with = |value: &str| {
            let mut request = Request::new(());
            request
                .metadata_mut()
                .insert(ON_BEHALF_OF, value.parse().unwrap());
            on_behalf_of(&request)
        };
        assert_eq!(on_behalf_of(&Request::new(())).unwrap(), None);
        assert_eq!(with("public").unwrap(), Some(Role::Public));
        assert_eq!(with("Analyst").unwrap(), Some(Role::Analyst));
        for bad in ["root", "", "public,admin"] {
            assert!(
                matches!(with(bad), Err(FlightSqlError::BadAuthorization(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn basic_credentials_yield_the_password() {
        // base64("alice:alm_secret")
        assert_eq!(
            basic_password("YWxpY2U6YWxtX3NlY3JldA==").unwrap(),
            "alm_secret"
        );
        // base64(":tok") — no user name is fine.
        assert_eq!(basic_password("OnRvaw==").unwrap(), "tok");
        for bad in ["not base64!", "YWxpY2U=", "YWxpY2U6"] {
            let error = basic_password(bad).unwrap_err();
            assert!(
                matches!(error, FlightSqlError::BadAuthorization(_)),
                "{bad}: {error}"
            );
        }
    }
}
