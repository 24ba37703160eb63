//! The generic JSON webhook: one POST per event, its body signed with HMAC-SHA256 so the
//! receiver can check it came from us and was not replayed. The MAC covers
//! `<timestamp>.<body>`; headers `X-Imprimatur-Timestamp` (Unix seconds) and
//! `X-Imprimatur-Signature: sha256=<hex>` carry it (docs/notifications.md shows how to verify).
//! Also the one HTTP POST that the chat channel uses.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", crate::trust::version::hex(&bytes))
}

/// An HTTP(S) URL read from the environment: https, or http to a loopback host only (a
/// chat webhook's URL is its secret; a webhook body is not for the network to read). Parsed
/// by the `url` crate (WHATWG), so the host checked is the host the request goes to: not a
/// user name before `@`, with IPv6 brackets and ports taken off and IPv4 written out.
pub fn check_url(url: &str, env: &str) -> Result<(), String> {
    let not_http = || format!("${env} is not an http(s) URL");
    let parsed = url::Url::parse(url).map_err(|_| not_http())?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let host = match parsed.host() {
                Some(url::Host::Domain(name)) => name.to_string(),
                Some(url::Host::Ipv4(ip)) => ip.to_string(),
                Some(url::Host::Ipv6(ip)) => ip.to_string(),
                None => return Err(not_http()),
            };
            if !crate::notify::config::is_loopback(&host) {
                return Err(format!(
                    "${env} is a plain http:// URL to {host}: only https is sent over the network"
                ));
            }
        }
        _ => return Err(not_http()),
    }
    // The parser drops surrounding blanks and tabs or line breaks inside; such a value is a
    // mistake, not a URL to fix up.
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(not_http());
    }
    Ok(())
}

/// POSTs `body` as JSON with `headers`; any 2xx answer is delivered. Errors never show the
/// URL (a chat webhook's URL is a secret), only `env`, the variable it came from.
pub fn post(
    url: &str,
    env: &str,
    headers: &[(&str, String)],
    body: &[u8],
    timeout: Duration,
) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut req = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header(
            "User-Agent",
            concat!("imprimatur/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    match req.send(body) {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("${env} answered HTTP {}", resp.status().as_u16())),
        Err(ureq::Error::BadUri(_)) => Err(format!("${env} is not a valid URL")),
        Err(ureq::Error::Timeout(_)) => Err(format!(
            "${env} did not answer within {} ms",
            timeout.as_millis()
        )),
        Err(e) => Err(format!("${env}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex() {
        let sig = signature(b"key", 1_700_000_000, b"{\"id\":\"x\"}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64, "{sig}");
        assert_eq!(sig, signature(b"key", 1_700_000_000, b"{\"id\":\"x\"}"));
        assert_ne!(
            sig,
            signature(b"key", 1_700_000_001, b"{\"id\":\"x\"}"),
            "the timestamp is signed"
        );
        assert_ne!(sig, signature(b"other", 1_700_000_000, b"{\"id\":\"x\"}"));
        assert_ne!(sig, signature(b"key", 1_700_000_000, b"{\"id\":\"y\"}"));
        // A known answer, computed with `printf '1700000000.{"id":"x"}' | openssl dgst -sha256 -hmac key`.
        assert_eq!(
            sig,
            "sha256=c275209bfed50f54f9b0d8dafaf250f3f08155fdaadece7fc4d3f5c7e3c8b6ba"
        );
    }

    #[test]
    fn urls_must_be_https_unless_they_stay_on_this_machine() {
        check_url("https://hooks.slack.com/services/T/B/X", "S").unwrap();
        check_url("http://127.0.0.1:8080/hook", "S").unwrap();
        check_url("http://localhost/hook", "S").unwrap();
        check_url("http://[::1]:9/hook", "S").unwrap();
        let err = check_url("http://hooks.example.com/x", "HOOK").unwrap_err();
        assert!(err.contains("$HOOK") && err.contains("https"), "{err}");
        assert!(check_url("ftp://x", "HOOK").is_err());
        assert!(check_url("https://", "HOOK").is_err());
        assert!(check_url("http://user@evil.example.com/", "HOOK").is_err());
    }

    #[test]
    fn the_host_checked_is_the_host_the_request_goes_to() {
        let refused = |url: &str| check_url(url, "HOOK").unwrap_err();
        // A user name (or one that looks like a loopback host) is not the host.
        assert!(refused("http://localhost@evil.example/").contains("to evil.example:"));
        assert!(refused("http://127.0.0.1:80@evil.example/x").contains("to evil.example:"));
        assert!(refused("http://[::1]@evil.example/").contains("to evil.example:"));
        assert!(refused("http://good.example@evil.example/").contains("to evil.example:"));
        // A loopback name as a prefix of another host.
        assert!(refused("http://127.0.0.1.evil.example/").contains("127.0.0.1.evil.example"));
        assert!(refused("http://localhost.evil.example/").contains("localhost.evil.example"));
        // Odd ports and IPv6: the port never makes a host loopback.
        check_url("http://localhost:65535/hook", "S").unwrap();
        check_url("http://[0:0:0:0:0:0:0:1]:8080/hook", "S").unwrap();
        assert!(refused("http://[::2]:9/hook").contains("to ::2:"));
        assert!(refused("http://[::ffff:8.8.8.8]/").contains("only https"));
        assert!(refused("http://evil.example:99999/").contains("not an http(s) URL"));
        // The scheme is case-insensitive (RFC 3986): HTTP is http, HTTPS is https.
        assert!(refused("HTTP://evil.example/").contains("plain http:// URL"));
        check_url("HTTP://LOCALHOST/hook", "S").unwrap();
        check_url("HTTPS://hooks.example/x", "S").unwrap();
        // Not http(s), or not a URL the sender would use as written.
        assert!(refused("file:///etc/passwd").contains("not an http(s) URL"));
        assert!(refused("javascript:alert(1)").contains("not an http(s) URL"));
        assert!(refused("//evil.example/").contains("not an http(s) URL"));
        assert!(refused(" https://hooks.example/x").contains("not an http(s) URL"));
        assert!(refused("https://hooks.exa\tmple/x").contains("not an http(s) URL"));
        assert!(refused("https://hooks.example/x\n").contains("not an http(s) URL"));
    }
}
