//! E-mail over SMTP with lettre: STARTTLS (the default) or TLS from the first byte through
//! rustls, plain text only to loopback (or where the config says the network is trusted),
//! credentials from the environment. Each message is multipart/alternative: plain text and
//! HTML, with the page's review link.

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

    pub fn send(&self, name: &str, address: &str, text: &Text) -> Result<(), SendError> {
        let to = address
            .parse()
            .map(|a| Mailbox::new(Some(name.to_string()), a))
            .map_err(|e| {
                SendError::Message(format!("'{address}' is not an e-mail address: {e}"))
            })?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(text.subject.as_str())
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
