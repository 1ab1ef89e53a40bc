//! Who is asking: the client address (from the socket; from `X-Forwarded-For` only when the
//! socket peer is a trusted proxy) and the widget (the `X-Allmende-Widget` header naming a
//! configured widget, else the `Origin` of a configured widget).

use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use axum::http::{HeaderMap, header};

use super::config::WidgetConfig;

/// The header an embedded widget sends its id in.
pub const WIDGET_HEADER: &str = "x-allmende-widget";

/// An IP address or CIDR range (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("not an IP address: {s}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix length in {s}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl IpNet {
    /// Whether `ip` lies in this range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_bits(u128::from(u32::from(net)) << 96, self.prefix)
                    == prefix_bits(u128::from(u32::from(ip)) << 96, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_bits(u128::from(net), self.prefix)
                    == prefix_bits(u128::from(ip), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_bits(bits: u128, prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        bits & (u128::MAX << (128 - u32::from(prefix)))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the socket peer, or — when the peer is a trusted proxy — the last
/// address in `X-Forwarded-For` that is not itself a trusted proxy. `None` when the socket
/// address is unknown (the router served without connection info, as in tests).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = canonical(peer?);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect();
    Some(
        forwarded
            .iter()
            .rev()
            .copied()
            .find(|ip| !is_trusted(*ip))
            .or_else(|| forwarded.first().copied())
            .unwrap_or(peer),
    )
}

/// The key a client is limited under: IPv4 addresses as they are, IPv6 addresses by their /64
/// network (one household or device usually holds a whole /64).
pub fn bucket_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(prefix_bits(u128::from(v6), 64))),
        v4 => v4,
    }
}

/// The configured widget a request comes from: the id in `X-Allmende-Widget` when it names a
/// configured widget, else the widget whose origins include the request's `Origin`. Ids that are
/// not configured are ignored (they must not create limiter state).
pub fn widget_of<'w>(headers: &HeaderMap, widgets: &'w [WidgetConfig]) -> Option<&'w str> {
    if let Some(id) = headers.get(WIDGET_HEADER).and_then(|v| v.to_str().ok())
        && let Some(widget) = widgets.iter().find(|w| w.id == id.trim())
    {
        return Some(&widget.id);
    }
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    widgets
        .iter()
        .find(|w| {
            w.origins
                .iter()
                .any(|o| o.trim_end_matches('/') == origin.trim_end_matches('/'))
        })
        .map(|w| w.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_ranges_match() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.1")));
        assert!(net.contains(ip("::ffff:10.0.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")));
        assert!(!v6.contains(ip("fe80::1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        for bad in ["10.0.0.0/33", "fd00::/129", "host", "1.2.3.4/x", ""] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.7, 10.0.0.2"),
        );
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        // From the proxy: the last untrusted hop is the client (1.1.1.1 could be forged).
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &headers, &trusted),
            Some(ip("203.0.113.7"))
        );
        // From anybody else the header is ignored.
        assert_eq!(
            client_ip(Some(ip("198.51.100.9")), &headers, &trusted),
            Some(ip("198.51.100.9"))
        );
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &headers, &[]),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(client_ip(None, &headers, &trusted), None);
        // A trusted proxy without the header is the client itself.
        assert_eq!(
            client_ip(Some(ip("10.0.0.1")), &HeaderMap::new(), &trusted),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64_network() {
        assert_eq!(bucket_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_key(ip("2001:db8:1:2:bbbb::9")), ip("2001:db8:1:2::"));
        assert_eq!(bucket_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn widgets_come_from_the_allow_list() {
        let widgets = vec![WidgetConfig {
            id: "start".into(),
            origins: vec!["https://www.musterstadt.de".into()],
            daily_tokens: 0,
        }];
        let mut headers = HeaderMap::new();
        headers.insert(WIDGET_HEADER, HeaderValue::from_static("start"));
        assert_eq!(widget_of(&headers, &widgets), Some("start"));
        headers.insert(WIDGET_HEADER, HeaderValue::from_static("made-up"));
        assert_eq!(widget_of(&headers, &widgets), None);
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://www.musterstadt.de"),
        );
        assert_eq!(widget_of(&headers, &widgets), Some("start"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(widget_of(&headers, &widgets), None);
    }
}
