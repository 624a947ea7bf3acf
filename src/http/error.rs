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
    /// A known path asked with a method it does not answer: 405 with `Allow`
    /// (the methods [`crate::http::authz::ROUTES`] lists for the path).
    #[error("{method} is not allowed on {path}; allowed: {}", allow.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: Vec<&'static str>,
    },
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
    /// A URI reference naming the kind of problem: `/problems/{name}` on this
    /// service, which serves a page saying what it means and what to do.
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind's short title (the same for every problem of the kind).
    pub title: String,
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
}

/// Where the problem pages are served; a problem's `type` is this and its slug.
pub const PROBLEM_PATH: &str = "/problems/";

/// Every kind of problem the service answers: the catalogue behind each
/// problem's `type`, `title` and status, and behind the pages at
/// `/problems/{slug}` (`http::handlers::problems`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemType {
    BadRequest,
    Unprocessable,
    Unauthorized,
    Forbidden,
    AccessDenied,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    TooManyRequests,
    Unavailable,
    RequestTimeout,
    Internal,
}

/// A problem kind's page: what it means and what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemPage {
    pub title: &'static str,
    pub status: StatusCode,
    /// What the problem means, in a sentence or two.
    pub meaning: &'static str,
    /// What the client (or the person behind it) should do.
    pub what_to_do: &'static str,
}

impl ProblemType {
    /// Every kind, in the order the catalogue lists them.
    pub const ALL: [ProblemType; 14] = [
        ProblemType::BadRequest,
        ProblemType::Unprocessable,
        ProblemType::Unauthorized,
        ProblemType::Forbidden,
        ProblemType::AccessDenied,
        ProblemType::NotFound,
        ProblemType::MethodNotAllowed,
        ProblemType::Conflict,
        ProblemType::PayloadTooLarge,
        ProblemType::UnsupportedMediaType,
        ProblemType::TooManyRequests,
        ProblemType::Unavailable,
        ProblemType::RequestTimeout,
        ProblemType::Internal,
    ];

    /// The last segment of the kind's `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            ProblemType::BadRequest => "bad-request",
            ProblemType::Unprocessable => "unprocessable",
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::Forbidden => "forbidden",
            ProblemType::AccessDenied => "access-denied",
            ProblemType::NotFound => "not-found",
            ProblemType::MethodNotAllowed => "method-not-allowed",
            ProblemType::Conflict => "conflict",
            ProblemType::PayloadTooLarge => "payload-too-large",
            ProblemType::UnsupportedMediaType => "unsupported-media-type",
            ProblemType::TooManyRequests => "too-many-requests",
            ProblemType::Unavailable => "unavailable",
            ProblemType::RequestTimeout => "request-timeout",
            ProblemType::Internal => "internal",
        }
    }

    /// The kind named by `slug`, if there is one.
    pub fn from_slug(slug: &str) -> Option<ProblemType> {
        ProblemType::ALL.into_iter().find(|t| t.slug() == slug)
    }

    /// The `type` of a problem of this kind: a reference to its page on this
    /// service (RFC 9457 section 3.1.1: resolved against the request's URI).
    pub fn uri(self) -> String {
        format!("{PROBLEM_PATH}{}", self.slug())
    }

    /// The catalogue entry: title, status, meaning, what to do.
    pub fn page(self) -> ProblemPage {
        let (title, status, meaning, what_to_do) = match self {
            ProblemType::BadRequest => (
                "Bad request",
                StatusCode::BAD_REQUEST,
                "The request could not be read: its JSON body, a query parameter or a field \
                 is malformed, missing, of the wrong type, or outside the limits the API \
                 document gives. Nothing was recorded.",
                "Correct the request as the detail says (it names the field) and send it \
                 again. The OpenAPI document at /openapi.json gives every field's type \
                 and limits.",
            ),
            ProblemType::Unprocessable => (
                "Unprocessable request",
                StatusCode::UNPROCESSABLE_ENTITY,
                "The request was well formed, but what it asks for cannot be done as \
                 stated: for example an agency not in the registry, text that is empty \
                 or too long, a date that is not a real date, or a child reference that \
                 could be a name. Nothing was recorded.",
                "Correct the value the detail names and send the request again.",
            ),
            ProblemType::Unauthorized => (
                "Not authenticated",
                StatusCode::UNAUTHORIZED,
                "The request carried no bearer token, or one that is invalid, expired or \
                 signed by a key this service does not trust.",
                "Send a valid token in the Authorization header (Authorization: Bearer \
                 <token>). If your token has expired, get a new one from your identity \
                 provider or your partnership administrator.",
            ),
            ProblemType::Forbidden => (
                "Not allowed by the rules",
                StatusCode::FORBIDDEN,
                "Your role may use this route, but the rules forbid this step: for \
                 example the dispute's current rung does not let your role propose, \
                 accept or escalate, or you may not approve your own redaction request. \
                 Nothing was recorded.",
                "Check the dispute's rung and the ladder policy it follows \
                 (GET /v1/policies). Someone else may need to take this step.",
            ),
            ProblemType::AccessDenied => (
                "Access denied",
                StatusCode::FORBIDDEN,
                "Your role may not use this route at all. Access is decided by one \
                 table: each route lists the roles allowed to call it.",
                "Ask someone who holds the right role, or ask your partnership \
                 administrator whether your token carries the role you need.",
            ),
            ProblemType::NotFound => (
                "Not found",
                StatusCode::NOT_FOUND,
                "Nothing is found at this address, or it exists but you may not see it: \
                 a dispute you may not see is answered exactly as one that does not \
                 exist.",
                "Check the identifier and the path. If you believe you should see this \
                 dispute, ask its parties or your partnership administrator.",
            ),
            ProblemType::MethodNotAllowed => (
                "Method not allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                "The path exists, but it does not answer this HTTP method.",
                "Use one of the methods the Allow header of the response lists.",
            ),
            ProblemType::Conflict => (
                "Conflict with the current state",
                StatusCode::CONFLICT,
                "The request conflicts with what is already recorded: for example the \
                 dispute is closed, the proposal is no longer open, or the thing already \
                 exists. Nothing was recorded.",
                "Read the current state (the dispute, its history or the resource the \
                 detail names) and decide again from it.",
            ),
            ProblemType::PayloadTooLarge => (
                "Request body too large",
                StatusCode::PAYLOAD_TOO_LARGE,
                "The request body is larger than the service accepts (64 KiB).",
                "Send a shorter body. Free-text fields hold at most 20,000 characters.",
            ),
            ProblemType::UnsupportedMediaType => (
                "Unsupported media type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "The request body is not in a format this route accepts.",
                "Send the body as JSON with the header Content-Type: application/json.",
            ),
            ProblemType::TooManyRequests => (
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
                "You have sent more requests than the rate limit allows, for your token \
                 or your address.",
                "Wait for the number of seconds the Retry-After header gives, then try \
                 again.",
            ),
            ProblemType::Unavailable => (
                "Service unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "The service cannot reach or use its storage just now. Nothing was \
                 recorded by this request.",
                "Try again after the number of seconds the Retry-After header gives. If \
                 it goes on, tell the service's operators.",
            ),
            ProblemType::RequestTimeout => (
                "Request body too slow",
                StatusCode::REQUEST_TIMEOUT,
                "The request body did not arrive in full within the time the service \
                 allows (BODY_READ_TIMEOUT, 10 seconds by default). The connection was \
                 closed and nothing was recorded.",
                "Send the request again with its whole body at once.",
            ),
            ProblemType::Internal => (
                "Internal error",
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong inside the service. The cause is in the service's \
                 log, not in the response.",
                "Tell the service's operators the time of the request. Before trying a \
                 write again, read the resource to see whether it was recorded.",
            ),
        };
        ProblemPage {
            title,
            status,
            meaning,
            what_to_do,
        }
    }
}

impl AppError {
    /// The kind of problem this is (the catalogue entry it is rendered with).
    pub fn problem_type(&self) -> ProblemType {
        match self {
            AppError::BadRequest(_) => ProblemType::BadRequest,
            AppError::Unprocessable(_) => ProblemType::Unprocessable,
            AppError::Unauthorized(_) => ProblemType::Unauthorized,
            AppError::Forbidden(_) => ProblemType::Forbidden,
            AppError::Denied(_) => ProblemType::AccessDenied,
            AppError::NotFound(_) | AppError::Hidden(_) => ProblemType::NotFound,
            AppError::Conflict(_) => ProblemType::Conflict,
            AppError::PayloadTooLarge(_) => ProblemType::PayloadTooLarge,
            AppError::UnsupportedMediaType(_) => ProblemType::UnsupportedMediaType,
            AppError::Unavailable(_) => ProblemType::Unavailable,
            AppError::RequestTimeout(_) => ProblemType::RequestTimeout,
            AppError::MethodNotAllowed { .. } => ProblemType::MethodNotAllowed,
            AppError::TooManyRequests { .. } => ProblemType::TooManyRequests,
            AppError::Internal(_) => ProblemType::Internal,
        }
    }

    pub fn not_found() -> Self {
        AppError::NotFound(NO_SUCH_DISPUTE.into())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.problem_type().page().status
    }

    fn error_response(&self) -> HttpResponse {
        let kind = self.problem_type();
        let page = kind.page();
        let status = page.status;
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
            kind: kind.uri(),
            title: page.title.to_string(),
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
        match self {
            AppError::TooManyRequests { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::MethodNotAllowed { allow, .. } => {
                res.insert_header((header::ALLOW, allow.join(", ")));
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every variant. The `match` has no wildcard: a new variant does
    /// not compile until it is listed here, and so tested below.
    fn one_of_each() -> Vec<AppError> {
        let all = vec![
            AppError::BadRequest("b".into()),
            AppError::Unprocessable("u".into()),
            AppError::Unauthorized("u".into()),
            AppError::Forbidden("f".into()),
            AppError::Denied("d".into()),
            AppError::NotFound("n".into()),
            AppError::Hidden("h".into()),
            AppError::Conflict("c".into()),
            AppError::PayloadTooLarge("p".into()),
            AppError::UnsupportedMediaType("m".into()),
            AppError::Unavailable("u".into()),
            AppError::RequestTimeout("t".into()),
            AppError::MethodNotAllowed {
                method: "PUT".into(),
                path: "/v1/disputes".into(),
                allow: vec!["GET", "POST"],
            },
            AppError::TooManyRequests {
                retry_after_secs: 3,
            },
            AppError::Internal("i".into()),
        ];
        for e in &all {
            match e {
                AppError::BadRequest(_)
                | AppError::Unprocessable(_)
                | AppError::Unauthorized(_)
                | AppError::Forbidden(_)
                | AppError::Denied(_)
                | AppError::NotFound(_)
                | AppError::Hidden(_)
                | AppError::Conflict(_)
                | AppError::PayloadTooLarge(_)
                | AppError::UnsupportedMediaType(_)
                | AppError::Unavailable(_)
                | AppError::RequestTimeout(_)
                | AppError::MethodNotAllowed { .. }
                | AppError::TooManyRequests { .. }
                | AppError::Internal(_) => {}
            }
        }
        all
    }

    /// Where `t` stands in [`ProblemType::ALL`]; no wildcard, so a new kind
    /// must be placed in the catalogue.
    fn index(t: ProblemType) -> usize {
        match t {
            ProblemType::BadRequest => 0,
            ProblemType::Unprocessable => 1,
            ProblemType::Unauthorized => 2,
            ProblemType::Forbidden => 3,
            ProblemType::AccessDenied => 4,
            ProblemType::NotFound => 5,
            ProblemType::MethodNotAllowed => 6,
            ProblemType::Conflict => 7,
            ProblemType::PayloadTooLarge => 8,
            ProblemType::UnsupportedMediaType => 9,
            ProblemType::TooManyRequests => 10,
            ProblemType::Unavailable => 11,
            ProblemType::RequestTimeout => 12,
            ProblemType::Internal => 13,
        }
    }

    #[test]
    fn the_catalogue_lists_every_kind_once_with_a_page() {
        let mut slugs = std::collections::BTreeSet::new();
        for (i, t) in ProblemType::ALL.into_iter().enumerate() {
            assert_eq!(index(t), i, "{t:?} out of place in ALL");
            assert!(slugs.insert(t.slug()), "slug {} twice", t.slug());
            assert_eq!(ProblemType::from_slug(t.slug()), Some(t));
            assert_eq!(t.uri(), format!("/problems/{}", t.slug()));
            let page = t.page();
            assert!(page.status.is_client_error() || page.status.is_server_error());
            assert!(page.title.len() > 3, "{t:?}");
            for text in [page.title, page.meaning, page.what_to_do] {
                assert!(
                    !text.contains("  ") && !text.contains('\n'),
                    "{t:?}: {text:?}"
                );
            }
            assert!(
                page.meaning.len() > 30 && page.what_to_do.len() > 30,
                "{t:?}"
            );
        }
        assert_eq!(ProblemType::from_slug("no-such-problem"), None);
    }

    #[test]
    fn every_error_is_rendered_with_its_catalogue_entry() {
        for e in one_of_each() {
            let t = e.problem_type();
            assert_eq!(ProblemType::from_slug(t.slug()), Some(t), "{e:?}");
            let res = e.error_response();
            assert_eq!(res.status(), t.page().status, "{e:?}");
            assert_eq!(
                res.headers().get(header::CONTENT_TYPE).unwrap(),
                "application/problem+json"
            );
        }
        let res = one_of_each()
            .into_iter()
            .find(|e| matches!(e, AppError::MethodNotAllowed { .. }))
            .unwrap()
            .error_response();
        assert_eq!(res.headers().get(header::ALLOW).unwrap(), "GET, POST");
    }
}
