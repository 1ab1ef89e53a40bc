//! Tickets and prepared-statement handles.
//!
//! Both carry the SQL text itself, so the server keeps no per-client state: the statement is
//! planned again, for the role of whoever presents the ticket, when it is fetched. A ticket
//! therefore grants nothing by itself — handing one to a caller with a weaker role gets that
//! role's answer (or refusal).
//!
//! Flight SQL tickets are protobuf `google.protobuf.Any` messages. `arrow_flight` packs a message
//! into an [`Any`] (`as_any`) but encoding the `Any` itself needs `prost::Message`, which this
//! crate does not depend on; [`encode_any`] writes its two fields directly.

use arrow_flight::sql::{Any, ProstMessageExt, TicketStatementQuery};
use arrow_flight::{FlightEndpoint, Ticket};

use super::errors::FlightSqlError;

/// A ticket for `do_get` that runs `sql` (as a `TicketStatementQuery`).
pub fn statement_ticket(sql: &str) -> Ticket {
    let query = TicketStatementQuery {
        statement_handle: sql.as_bytes().to_vec().into(),
    };
    Ticket::new(encode_any(&query.as_any()))
}

/// The single endpoint of a statement's `FlightInfo`: fetch from this server with the ticket.
pub fn statement_endpoint(sql: &str) -> FlightEndpoint {
    FlightEndpoint::new().with_ticket(statement_ticket(sql))
}

/// A ticket for `do_get` that answers a catalog command (`CommandGetTables`, `CommandGetSqlInfo`,
/// …) by packing the command itself.
pub fn command_ticket(command: &impl ProstMessageExt) -> Ticket {
    Ticket::new(encode_any(&command.as_any()))
}

/// The SQL text of a statement handle or a prepared-statement handle.
pub fn sql_of_handle(handle: &[u8]) -> Result<&str, FlightSqlError> {
    let sql = std::str::from_utf8(handle).map_err(|_| {
        FlightSqlError::BadHandle("the statement handle is not UTF-8 SQL text".into())
    })?;
    if sql.trim().is_empty() {
        return Err(FlightSqlError::BadHandle(
            "the SQL statement is empty".into(),
        ));
    }
    Ok(sql)
}

/// Protobuf encoding of `Any { string type_url = 1; bytes value = 2; }`.
pub fn encode_any(any: &Any) -> Vec<u8> {
    let mut out = Vec::with_capacity(any.type_url.len() + any.value.len() + 12);
    length_delimited(&mut out, 1, any.type_url.as_bytes());
    length_delimited(&mut out, 2, &any.value);
    out
}

/// One length-delimited field (wire type 2); empty fields are left out, as proto3 does.
fn length_delimited(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_flight::sql::{Command, CommandGetSqlInfo};

    #[test]
    fn varints_follow_the_protobuf_encoding() {
        let mut out = Vec::new();
        varint(&mut out, 1);
        varint(&mut out, 300);
        varint(&mut out, 127);
        varint(&mut out, 128);
        assert_eq!(out, [0x01, 0xac, 0x02, 0x7f, 0x80, 0x01]);
    }

    #[test]
    fn any_encoding_matches_the_hand_encoded_bytes() {
        let any = Any {
            type_url: "t".into(),
            value: vec![7u8; 200].into(),
        };
        let bytes = encode_any(&any);
        assert_eq!(&bytes[..5], [0x0a, 0x01, b't', 0x12, 0xc8]);
        assert_eq!(bytes[5], 0x01, "200 as a varint is c8 01");
        assert_eq!(bytes.len(), 6 + 200);
    }

    #[test]
    fn a_statement_ticket_packs_the_sql_as_a_ticket_statement_query() {
        let ticket = statement_ticket("SELECT 1");
        let any = ticket_any(&ticket.ticket);
        match Command::try_from(any).unwrap() {
            Command::TicketStatementQuery(t) => {
                assert_eq!(sql_of_handle(&t.statement_handle).unwrap(), "SELECT 1");
            }
            other => panic!("unexpected command {}", other.type_url()),
        }
        let info = command_ticket(&CommandGetSqlInfo { info: vec![0, 1] });
        assert!(matches!(
            Command::try_from(ticket_any(&info.ticket)).unwrap(),
            Command::CommandGetSqlInfo(c) if c.info == [0, 1]
        ));
    }

    #[test]
    fn handles_must_be_sql_text() {
        assert!(sql_of_handle(&[0xff, 0xfe]).is_err());
        assert!(sql_of_handle(b"  ").is_err());
    }

    /// A minimal decoder for the two fields of `Any`, to check the encoder independently.
    fn ticket_any(bytes: &[u8]) -> Any {
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (_tag, after) = read_varint(rest);
            let (len, after) = read_varint(after);
            let len = len as usize;
            fields.push(after[..len].to_vec());
            rest = &after[len..];
        }
        Any {
            type_url: String::from_utf8(fields[0].clone()).unwrap(),
            value: fields[1].clone().into(),
        }
    }

    fn read_varint(bytes: &[u8]) -> (u64, &[u8]) {
        let mut value = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return (value, &bytes[i + 1..]);
            }
        }
        panic!("truncated varint")
    }
}
