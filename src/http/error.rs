//! The one error type at the HTTP edge, rendered as RFC 9457 problem+json.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::core::ladder::LadderError;
use crate::service::error::{ServiceError, NO_SUCH_DISPUTE};
use crate::store::error::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Unauthorized(String),
    /// Refused by the rules of the domain (a rung's, a redaction's): 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// Refused by the access table ([`crate::http::authz`]): 403 `access-denied`.
    #[error("{0}")]
    Denied(String),
    #[error("{0}")]
    NotFound(String),
    /// A dispute the caller may not see ([`crate::http::authz`]): answered exactly as
    /// [`AppError::not_found`]; the reason (the `Display`) goes to the log only.
    #[error("not visible: {0}")]
    Hidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A storage fault that is not the client's doing: 503 with `Retry-After`.
    #[error("{0}")]
    Unavailable(String),
    /// The request body did not arrive in time (`http::guard`): 408.
    #[error("{0}")]
    RequestTimeout(String),
    /// A rate limit is spent; answered 429 with `Retry-After`.
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// Anything else: logged with its cause, answered with a bare 500.
    #[error("{0}")]
    Internal(String),
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
}

impl AppError {
    fn slug(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Unprocessable(_) => "unprocessable",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::Denied(_) => "access-denied",
            AppError::NotFound(_) | AppError::Hidden(_) => "not-found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::Unavailable(_) => "unavailable",
            AppError::RequestTimeout(_) => "request-timeout",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn not_found() -> Self {
        AppError::NotFound(NO_SUCH_DISPUTE.into())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Denied(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) | AppError::Hidden(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "internal error; the cause is in the service log".to_string()
            }
            // The same answer as for a dispute that does not exist.
            AppError::Hidden(_) => NO_SUCH_DISPUTE.to_string(),
            other => other.to_string(),
        };
        let problem = Problem {
            kind: format!("https://escalation-ledger.invalid/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("error").to_string(),
            status: status.as_u16(),
            detail,
        };
        let mut res = HttpResponse::build(status);
        res.content_type("application/problem+json");
        if status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\""));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, "1"));
        }
        if let AppError::TooManyRequests { retry_after_secs } = self {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        res.json(problem)
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::BadRequest(m) => AppError::BadRequest(m),
            ServiceError::Unprocessable(m) => AppError::Unprocessable(m),
            ServiceError::Forbidden(m) => AppError::Forbidden(m),
            ServiceError::Denied(m) => AppError::Denied(m),
            ServiceError::NotFound(m) => AppError::NotFound(m),
            ServiceError::Conflict(m) => AppError::Conflict(m),
            ServiceError::Unavailable(m) => AppError::Unavailable(m),
            ServiceError::Internal(m) => AppError::Internal(m),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<LadderError> for AppError {
    fn from(e: LadderError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(e.to_string())
    }
}

/// Route actix's extractor errors (bad JSON, size, content type, bad query or
/// path) through the same problem+json renderer.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> AppError {
    use actix_web::error::JsonPayloadError as J;
    match err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => {
            AppError::PayloadTooLarge("the request body is too large".into())
        }
        J::ContentType => {
            AppError::UnsupportedMediaType("send the body as application/json".into())
        }
        J::Deserialize(e) => AppError::BadRequest(format!("invalid JSON body: {e}")),
        other => AppError::BadRequest(format!("unreadable body: {other}")),
    }
}

pub fn query_error(err: actix_web::error::QueryPayloadError) -> AppError {
    AppError::BadRequest(format!("invalid query: {err}"))
}

pub fn path_error(err: actix_web::error::PathError) -> AppError {
    AppError::NotFound(format!("invalid path: {err}"))
}
