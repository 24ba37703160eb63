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
/// chat webhook's URL is its secret; a webhook body is not for the network to read).
pub fn check_url(url: &str, env: &str) -> Result<(), String> {
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => host.rsplit_once(':').map_or(host, |(h, _)| h),
        };
        if !crate::notify::config::is_loopback(host) {
            return Err(format!(
                "${env} is a plain http:// URL to {host}: only https is sent over the network"
            ));
        }
        rest
    } else {
        return Err(format!("${env} is not an http(s) URL"));
    };
    if rest.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("${env} is not an http(s) URL"));
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
}
