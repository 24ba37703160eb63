//! E-mail over SMTP with lettre: STARTTLS (the default) or TLS from the first byte through
//! rustls, plain text only to loopback (or where the config says the network is trusted),
//! credentials from the environment. Each message is multipart/alternative: plain text and
//! HTML, with the page's review link.
//!
//! Names and addresses come from the keyring, which any contributor can edit: a name holding
//! CR or LF would write header lines of its own (`Bcc:`), so a recipient that can't be put in
//! a header as it is written is refused ([`recipient`]) before a message is built for them.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};

use crate::notify::config::{EmailConfig, SmtpTls};
use crate::notify::message::Text;
use crate::notify::SendError;

pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    /// The transport for `config`, with credentials read from the environment now.
    pub fn new(config: &EmailConfig, timeout: Duration) -> Result<Mailer, String> {
        let credentials = match (&config.user_env, &config.password_env) {
            (Some(u), Some(p)) => Some(Credentials::new(env(u)?, env(p)?)),
            _ => None,
        };
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(config)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(config)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(config.host.as_str())
            .port(config.port)
            .timeout(Some(timeout))
            .tls(tls);
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        Ok(Mailer {
            transport: builder.build(),
            from: config.from.clone(),
        })
    }

    pub fn send(&self, to: Mailbox, text: &Text) -> Result<(), SendError> {
        // A title is written by whoever edits the page: one line, whatever it holds.
        let subject: String = text
            .subject
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .date_now()
            .multipart(MultiPart::alternative_plain_html(
                text.plain.clone(),
                text.html.clone(),
            ))
            .map_err(|e| SendError::Message(format!("the message can't be built: {e}")))?;
        match self.transport.send(&message) {
            Ok(_) => Ok(()),
            // A 5xx for this recipient (unknown mailbox...) will not get better by retrying
            // now, but the server may accept it after someone fixes the address: next run.
            Err(e) if e.is_permanent() => Err(SendError::Message(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::Route(format!("SMTP: {e}"))),
        }
    }
}

/// The mailbox `name <address>` of a recipient, or why it can't go in a header: a name or
/// address holding a control character (CR, LF, TAB, …), or an address that is not one. The
/// caller names the reviewer; the text here quotes the value with its controls escaped.
pub(crate) fn recipient(name: &str, address: &str) -> Result<Mailbox, String> {
    if name.chars().any(char::is_control) {
        return Err(format!(
            "the name \"{}\" holds a control character (a line break could add header lines)",
            crate::fs::printable(name)
        ));
    }
    if address.is_empty() {
        return Err("no e-mail address".into());
    }
    if address.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!(
            "the address \"{}\" holds a space or a control character",
            crate::fs::printable(address)
        ));
    }
    let address = address.parse().map_err(|e| {
        format!(
            "'{}' is not an e-mail address: {e}",
            crate::fs::printable(address)
        )
    })?;
    Ok(Mailbox::new(Some(name.to_string()), address))
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("${name} is not set"))
}

fn tls_parameters(config: &EmailConfig) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(file) = &config.ca_file {
        let pem = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| format!("{}: not a PEM certificate: {e}", file.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("TLS for {}: {e}", config.host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recipient_that_could_write_header_lines_is_refused_and_a_plain_one_is_kept() {
        let ok = recipient("Rae Example, Bcc", "rae@example.com").unwrap();
        assert_eq!(ok.email.to_string(), "rae@example.com");
        for (name, address, why) in [
            (
                "Rae\r\nBcc: m@evil.example",
                "rae@example.com",
                "the name \"Rae\\r\\nBcc",
            ),
            ("Rae\u{7}", "rae@example.com", "control character"),
            (
                "Rae",
                "rae@example.com\r\nBcc: m@evil.example",
                "the address",
            ),
            ("Rae", "rae@", "not an e-mail address"),
            ("Rae", "", "no e-mail address"),
        ] {
            let err = recipient(name, address).unwrap_err();
            assert!(err.contains(why), "{name:?} {address:?}: {err}");
            assert!(!err.contains('\n') && !err.contains('\r'), "{err}");
        }
    }
}
