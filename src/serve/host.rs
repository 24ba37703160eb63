//! The names `serve` answers to. A page on any web site can point a name it controls at
//! 127.0.0.1 (DNS rebinding) and then read, as same-origin, whatever the preview server shows:
//! every draft and review page. The browser still sends the attacker's name in `Host`, so the
//! server answers only the names it was started for — loopback, its bind address, the host of
//! `review_url` — and refuses any other (421 Misdirected Request) before routing.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use axum::http::uri::Authority;
use axum::http::Uri;

/// The `Host` values one server accepts: each name, with no port or one of `ports`.
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts {
    names: BTreeSet<String>,
    ports: BTreeSet<u16>,
}

impl AllowedHosts {
    /// Loopback names, `local` (the address listened on) unless it is a wildcard, and the
    /// host of `review_url` (the name a team server is reached by) when it parses.
    pub(crate) fn new(local: SocketAddr, review_url: Option<&str>) -> AllowedHosts {
        let mut names: BTreeSet<String> = ["localhost", "127.0.0.1", "[::1]"]
            .into_iter()
            .map(String::from)
            .collect();
        let mut ports = BTreeSet::from([local.port()]);
        if !local.ip().is_unspecified() {
            names.insert(match local.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            });
        }
        if let Some(uri) = review_url.and_then(|u| u.parse::<Uri>().ok()) {
            if let Some(host) = uri.host() {
                names.insert(normalize(host));
                // A proxy in front of a team server forwards the public port.
                ports.insert(uri.port_u16().unwrap_or(match uri.scheme_str() {
                    Some("https") => 443,
                    _ => 80,
                }));
            }
        }
        AllowedHosts { names, ports }
    }

    /// Whether a request naming `host` (a `Host` header's value, or the authority of an
    /// absolute request target) is for this server. A missing or malformed one is not.
    pub(crate) fn allows(&self, host: Option<&str>) -> bool {
        let Some(authority) = host
            .filter(|h| !h.contains('@'))
            .and_then(|h| h.parse::<Authority>().ok())
        else {
            return false;
        };
        self.names.contains(&normalize(authority.host()))
            && authority.port_u16().is_none_or(|p| self.ports.contains(&p))
    }

    /// The names, for the refusal's text.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }
}

/// DNS names compare without case and without a final dot.
fn normalize(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_the_bind_address_and_the_review_host_are_answered_and_nothing_else() {
        let local: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let hosts = AllowedHosts::new(local, Some("https://Docs.Example.com/_review/"));
        for ok in [
            "localhost",
            "localhost:4000",
            "127.0.0.1:4000",
            "[::1]:4000",
            "LOCALHOST.",
            "docs.example.com",
            "docs.example.com:443",
            "docs.example.com:4000",
        ] {
            assert!(hosts.allows(Some(ok)), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:4000",
            "localhost:4001",
            "localhost.evil.example",
            "user@localhost:4000",
            "",
            "127.0.0.2",
        ] {
            assert!(!hosts.allows(Some(refused)), "{refused}");
        }
        assert!(!hosts.allows(None));

        let team: SocketAddr = "10.0.0.5:1111".parse().unwrap();
        assert!(AllowedHosts::new(team, None).allows(Some("10.0.0.5:1111")));
        let wildcard: SocketAddr = "0.0.0.0:1111".parse().unwrap();
        let any = AllowedHosts::new(wildcard, None);
        assert!(!any.allows(Some("0.0.0.0:1111")));
        assert!(any.allows(Some("127.0.0.1:1111")));
    }
}
