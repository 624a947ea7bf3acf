//! The mailer: the outbox's email channel, sent like webhooks are and by the
//! same round (`workers::sender::round`). It polls `outbox` for due email
//! rows, claims each under a lease (two processes never send one row at once),
//! sends it through the configured backend and records the outcome; failures
//! are retried with the sender's backoff, then `failed`.
//!
//! Delivery is at least once: a process killed after the backend accepted an
//! email but before its row was settled sends it again on restart. Each email
//! carries its delivery id (SMTP `Message-ID`, Notify `reference`), the same
//! on every attempt, so a repeat can be recognised.
//!
//! Backends:
//! * SMTP through lettre: STARTTLS, implicit TLS, or plain (a relay on
//!   localhost only), with optional credentials.
//! * GOV.UK Notify's REST API: `POST {base}/v2/notifications/email` with a
//!   bearer JWT (HS256, `iss` = the service id, `iat` = now) made from the API
//!   key `{name}-{service_id}-{secret}`; the template per event from the
//!   configuration, with personalisation `event`, `link`, `dispute_id`, `seq`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use crate::service::email::{self, Mail};
use crate::store::db::Pool;
use crate::store::error::StoreError;
use crate::store::outbox::{Channel, Claimed, Destination};
use crate::workers::sender::{self, SenderConfig};

/// GOV.UK Notify's API, where the configuration does not name another.
pub const NOTIFY_BASE_URL: &str = "https://api.notifications.service.gov.uk";

/// How SMTP is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain, then upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No TLS: only for a relay on the same host.
    None,
}

impl FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "starttls" => Ok(SmtpTls::Starttls),
            "tls" => Ok(SmtpTls::Tls),
            "none" => Ok(SmtpTls::None),
            other => Err(format!("SMTP_TLS is '{other}': use starttls, tls or none")),
        }
    }
}

/// A GOV.UK Notify API key, split: `{name}-{service_id}-{secret}`, the last
/// two UUIDs (36 characters each).
#[derive(Clone)]
pub struct NotifyKey {
    pub service_id: String,
    secret: String,
}

impl std::fmt::Debug for NotifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifyKey")
            .field("service_id", &self.service_id)
            .finish_non_exhaustive()
    }
}

impl NotifyKey {
    pub fn parse(key: &str) -> Result<NotifyKey, String> {
        let bad = || {
            "NOTIFY_API_KEY is not a Notify API key: expected {name}-{service id}-{secret key}, \
             the last two UUIDs"
                .to_string()
        };
        let key = key.trim();
        let n = key.len();
        if n < 74 || !key.is_char_boundary(n - 73) || key.as_bytes()[n - 37] != b'-' {
            return Err(bad());
        }
        let service_id = &key[n - 73..n - 37];
        let secret = &key[n - 36..];
        if uuid::Uuid::parse_str(service_id).is_err() || uuid::Uuid::parse_str(secret).is_err() {
            return Err(bad());
        }
        Ok(NotifyKey {
            service_id: service_id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// The bearer token of one request: HS256 over `{"iss", "iat"}`.
    pub fn token(&self, iat: i64) -> Result<String, String> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            iss: &'a str,
            iat: i64,
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &Claims {
                iss: &self.service_id,
                iat,
            },
            &jsonwebtoken::EncodingKey::from_secret(self.secret.as_bytes()),
        )
        .map_err(|e| format!("notify token: {e}"))
    }
}

/// GOV.UK Notify, as configured.
#[derive(Debug, Clone)]
pub struct NotifyApi {
    /// `https://api.notifications.service.gov.uk`, or a stand-in.
    pub base_url: String,
    pub key: NotifyKey,
    /// The template of any event without its own.
    pub template: String,
    /// Templates by event name (`escalated`, `resolved`, ...).
    pub templates: BTreeMap<String, String>,
}

/// Where email goes out.
#[derive(Clone)]
pub enum Backend {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Notify(NotifyApi),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Smtp { from, .. } => write!(f, "Smtp(from {from})"),
            Backend::Notify(n) => write!(f, "Notify({})", n.base_url),
        }
    }
}

/// What SMTP needs, from `SMTP_URL` or the separate settings.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// `smtp://`, `smtps://` (lettre's URL form: `?tls=required` for STARTTLS).
    pub url: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
    pub timeout: Duration,
}

impl Backend {
    /// An SMTP backend, every setting checked (no connection made yet).
    pub fn smtp(s: &SmtpSettings) -> Result<Backend, String> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| format!("EMAIL_FROM '{}' is not an address: {e}", s.from))?;
        let builder = match (&s.url, &s.host) {
            (Some(_), Some(_)) => {
                return Err("give SMTP_URL or SMTP_HOST, not both".into());
            }
            (Some(url), None) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| format!("SMTP_URL: {e}"))?,
            (None, Some(host)) => {
                let b = match s.tls {
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                        .map_err(|e| format!("SMTP_HOST {host}: {e}"))?,
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .map_err(|e| format!("SMTP_HOST {host}: {e}"))?,
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                };
                let b = match s.port {
                    Some(p) => b.port(p),
                    None => b,
                };
                match (&s.user, &s.password) {
                    (Some(u), Some(p)) => b.credentials(Credentials::new(u.clone(), p.clone())),
                    (None, None) => b,
                    _ => return Err("give both SMTP_USER and SMTP_PASSWORD, or neither".into()),
                }
            }
            (None, None) => return Err("EMAIL_BACKEND=smtp needs SMTP_URL or SMTP_HOST".into()),
        };
        Ok(Backend::Smtp {
            transport: builder.timeout(Some(s.timeout)).build(),
            from,
        })
    }
}

/// The mailer's whole configuration.
#[derive(Debug, Clone)]
pub struct MailerConfig {
    pub backend: Backend,
    /// Links are `{public_base_url}/console/disputes/{id}`.
    pub public_base_url: String,
    /// Poll, backoff, attempts, lease and batch, as for webhooks.
    pub sender: SenderConfig,
}

/// A claimed email: the row, its address and its dispute.
struct ClaimedMail<'a> {
    row: &'a Claimed,
    recipient: &'a str,
    dispute_id: &'a str,
}

async fn send_smtp(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    c: &ClaimedMail<'_>,
    m: &Mail,
) -> Result<(), String> {
    let to: Mailbox = c.recipient.parse().map_err(|e| format!("recipient: {e}"))?;
    let c = c.row;
    let msg = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}@escalation-ledger>", c.id)))
        .header(ContentType::TEXT_PLAIN)
        .body(m.text.clone())
        .map_err(|e| format!("message: {e}"))?;
    transport
        .send(msg)
        .await
        .map(|_| ())
        .map_err(|e| format!("smtp: {e}"))
}

async fn send_notify(
    client: &awc::Client,
    api: &NotifyApi,
    mail: &ClaimedMail<'_>,
    m: &Mail,
) -> Result<(), String> {
    let c = mail.row;
    let template = api.templates.get(&c.event).unwrap_or(&api.template);
    let body = json!({
        "email_address": mail.recipient,
        "template_id": template,
        "personalisation": {
            "event": m.title,
            "link": m.link,
            "dispute_id": mail.dispute_id,
            "seq": c.seq.to_string(),
        },
        "reference": c.id,
    });
    let token = api.key.token(Utc::now().timestamp())?;
    let url = format!(
        "{}/v2/notifications/email",
        api.base_url.trim_end_matches('/')
    );
    let mut res = client
        .post(url.as_str())
        .bearer_auth(token)
        .insert_header((
            "user-agent",
            concat!("escalation-ledger/", env!("CARGO_PKG_VERSION")),
        ))
        .send_json(&body)
        .await
        .map_err(|e| format!("notify: {e}"))?;
    if res.status().is_success() {
        return Ok(());
    }
    // Notify's error body names the problem (never the email's content).
    let detail = res.body().limit(4096).await.ok().map(|b| {
        String::from_utf8_lossy(&b)
            .chars()
            .take(300)
            .collect::<String>()
    });
    Err(format!(
        "notify: HTTP {} {}",
        res.status().as_u16(),
        detail.unwrap_or_default()
    ))
}

async fn send(cfg: &MailerConfig, client: &awc::Client, c: Claimed) -> Result<(), String> {
    let Destination::Email {
        recipient,
        dispute_id,
    } = &c.to
    else {
        return Err("not an email".into());
    };
    let m = email::render(&cfg.public_base_url, &c.event, dispute_id, c.seq);
    let mail = ClaimedMail {
        row: &c,
        recipient,
        dispute_id,
    };
    match &cfg.backend {
        Backend::Smtp { transport, from } => send_smtp(transport, from, &mail, &m).await,
        Backend::Notify(api) => send_notify(client, api, &mail, &m).await,
    }
}

/// One round of the email channel (`workers::sender::round`): claim due
/// emails, send them concurrently, record each outcome. Returns how many were
/// attempted.
pub async fn send_due(
    pool: &Pool,
    client: &awc::Client,
    cfg: &MailerConfig,
) -> Result<usize, StoreError> {
    sender::round(pool, Channel::Email, &cfg.sender, |c| send(cfg, client, c)).await
}

/// Send the outbox's email channel in the background (call inside the actix system).
pub fn spawn_mailer(pool: Pool, cfg: MailerConfig) {
    actix_web::rt::spawn(async move {
        let client = awc::Client::builder().timeout(cfg.sender.timeout).finish();
        loop {
            let Some(busy) = crate::workers::shutdown::busy() else {
                return;
            };
            match send_due(&pool, &client, &cfg).await {
                Ok(n) if n as i64 >= cfg.sender.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "email round failed"),
            }
            drop(busy);
            actix_web::rt::time::sleep(cfg.sender.poll).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";

    #[test]
    fn a_notify_key_splits_into_service_id_and_secret() {
        let k = NotifyKey::parse(KEY).unwrap();
        assert_eq!(k.service_id, "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(k.secret, "3d844edf-8d35-48ac-975b-e847b4f122b0");
        let t = k.token(1_700_000_000).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let got = jsonwebtoken::decode::<serde_json::Value>(
            &t,
            &jsonwebtoken::DecodingKey::from_secret(k.secret.as_bytes()),
            &v,
        )
        .unwrap();
        assert_eq!(
            got.claims,
            json!({"iss": "26785a09-ab16-4eb0-8407-a37497a57506", "iat": 1_700_000_000})
        );
        for bad in [
            "",
            "live-x-y",
            &KEY[..KEY.len() - 1],
            &KEY.replace("-3d84", "_3d84"),
        ] {
            assert!(NotifyKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn smtp_settings_are_checked() {
        let s = SmtpSettings {
            url: None,
            host: Some("127.0.0.1".into()),
            port: Some(2525),
            tls: SmtpTls::None,
            user: None,
            password: None,
            from: "Ladder <ladder@example.org>".into(),
            timeout: Duration::from_secs(5),
        };
        assert!(Backend::smtp(&s).is_ok());
        let no_from = SmtpSettings {
            from: "not an address".into(),
            ..s.clone()
        };
        assert!(Backend::smtp(&no_from).unwrap_err().contains("EMAIL_FROM"));
        let half = SmtpSettings {
            user: Some("u".into()),
            ..s.clone()
        };
        assert!(Backend::smtp(&half).unwrap_err().contains("SMTP_PASSWORD"));
        let both = SmtpSettings {
            url: Some("smtp://127.0.0.1:25".into()),
            ..s.clone()
        };
        assert!(Backend::smtp(&both).is_err());
        let neither = SmtpSettings { host: None, ..s };
        assert!(Backend::smtp(&neither).is_err());
        assert!("ssl".parse::<SmtpTls>().is_err());
    }
}
