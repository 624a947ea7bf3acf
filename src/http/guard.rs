//! The input guard: one middleware that decides, before routing, what text
//! the service accepts (the rules are [`crate::core::input`]'s), and bounds
//! how long a request body may take to arrive.
//!
//! - Every path segment and every query key and value (percent-decoded) is
//!   an identifier: no control and no bidirectional character, else 400.
//! - The body is read here, within [`Guard::body_timeout`] (else 408, and the
//!   connection is closed) and at most [`crate::http::routes::BODY_LIMIT`]
//!   bytes (else 413). A JSON body's keys are identifiers, its id-like fields'
//!   strings ([`input::is_identifier_field`]) too, and every other string is
//!   free text ([`input::text_chars`]); any breach is a 400 naming the field,
//!   never echoing the value. Bodies that are not JSON, or not valid JSON,
//!   are passed on for the extractors to refuse as before.

use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::HttpMessage as _;
use futures_util::StreamExt as _;
use serde_json::Value;

use crate::core::input;
use crate::http::error::AppError;

/// The guard's settings, as app data.
#[derive(Debug, Clone)]
pub struct Guard {
    /// How long a request body may take to arrive in full (`BODY_READ_TIMEOUT`).
    pub body_timeout: Duration,
    /// The largest body accepted.
    pub body_limit: usize,
}

/// The default [`Guard::body_timeout`].
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Percent-decode `s` (with `+` as a space when `plus` is set), lossily as UTF-8.
fn decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first rule the path or query breaks, if any.
fn check_target(path: &str, query: &str) -> Result<(), AppError> {
    for seg in path.split('/') {
        input::identifier_chars("a path segment", &decode(seg, false))
            .map_err(|e| AppError::BadRequest(e.0))?;
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        input::identifier_chars("a query parameter's name", &decode(k, true))
            .map_err(|e| AppError::BadRequest(e.0))?;
        let key = input::escape_controls(&decode(k, true));
        input::identifier_chars(&format!("query parameter {key}"), &decode(v, true))
            .map_err(|e| AppError::BadRequest(e.0))?;
    }
    Ok(())
}

/// Walk a JSON body: keys and id-like fields are identifiers, other strings free text.
fn check_json(v: &Value, field: &str, identifier: bool) -> Result<(), AppError> {
    let bad = |e: input::InvalidInput| AppError::BadRequest(e.0);
    match v {
        Value::String(s) if identifier => input::identifier_chars(field, s).map_err(bad),
        Value::String(s) => input::text_chars(field, s).map_err(bad),
        Value::Array(items) => items
            .iter()
            .try_for_each(|i| check_json(i, field, identifier)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            input::identifier_chars("a JSON key", k).map_err(bad)?;
            check_json(v, k, input::is_identifier_field(k))
        }),
        _ => Ok(()),
    }
}

fn is_json(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || m.ends_with("+json")
        })
        .unwrap_or(false)
}

/// Read the whole body within `limit` bytes.
async fn read_body(payload: &mut Payload, limit: usize) -> Result<Bytes, AppError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("unreadable body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge(
                "the request body is too large".into(),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The middleware (see the module's documentation).
pub async fn middleware<B: MessageBody + 'static>(
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let guard = req
        .app_data::<web::Data<Guard>>()
        .map(|g| g.get_ref().clone())
        .unwrap_or(Guard {
            body_timeout: DEFAULT_BODY_TIMEOUT,
            body_limit: crate::http::routes::BODY_LIMIT,
        });
    if let Err(e) = check_target(req.path(), req.query_string()) {
        return Ok(req.error_response(e).map_into_right_body());
    }
    let mut payload = req.take_payload();
    let read = actix_web::rt::time::timeout(
        guard.body_timeout,
        read_body(&mut payload, guard.body_limit),
    )
    .await;
    let body = match read {
        Ok(Ok(body)) => body,
        Ok(Err(e)) => return Ok(req.error_response(e).map_into_right_body()),
        Err(_) => {
            tracing::warn!(
                route = %req.path(),
                timeout = ?guard.body_timeout,
                "request body not received in time"
            );
            let e = AppError::RequestTimeout(format!(
                "the request body did not arrive within {}",
                humantime::format_duration(guard.body_timeout)
            ));
            let mut res = req.error_response(e);
            res.response_mut().headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
            return Ok(res.map_into_right_body());
        }
    };
    if is_json(&req) && !body.is_empty() {
        if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            if let Err(e) = check_json(&v, "the body", false) {
                return Ok(req.error_response(e).map_into_right_body());
            }
        }
    }
    req.set_payload(Payload::from(body));
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decoding_finds_what_the_handler_would_see() {
        assert_eq!(decode("%00", false), "\0");
        assert_eq!(decode("a%0Ab", false), "a\nb");
        assert_eq!(decode("a+b", true), "a b");
        assert_eq!(decode("a+b", false), "a+b");
        assert_eq!(decode("%zz%4", false), "%zz%4");
        assert_eq!(decode("%E2%80%AE", false), "\u{202E}");
    }

    #[test]
    fn targets_with_controls_are_refused() {
        assert!(check_target("/v1/disputes/abc", "agency=kingston-council&limit=5").is_ok());
        assert!(check_target("/v1/disputes/%00", "").is_err());
        assert!(check_target("/v1/disputes", "agency=%00").is_err());
        assert!(check_target("/v1/disputes", "a%0Ab=1").is_err());
        assert!(check_target("/v1/disputes", "agency=x%E2%80%AEy").is_err());
    }

    #[test]
    fn json_keys_ids_and_text_follow_their_rules() {
        let ok = json!({"parties": ["a", "b"], "summary": "two\nlines", "urgent": true});
        assert!(check_json(&ok, "the body", false).is_ok());
        for bad in [
            json!({"parties": ["a\u{0}"]}),
            json!({"parties": ["a\nb"]}),
            json!({"dispute_id": "x\ty"}),
            json!({"summary": "nul\u{0}"}),
            json!({"summary": "rtl\u{202E}"}),
            json!({"a\nFORGED": 1}),
            json!({"attendees": [{"role": "scrutineer", "agency": "a\u{0}"}]}),
        ] {
            assert!(check_json(&bad, "the body", false).is_err(), "{bad}");
        }
    }
}
