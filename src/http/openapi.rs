//! What the OpenAPI document says beyond each handler's `#[utoipa::path]`,
//! applied once to the whole document ([`Contract`], run by
//! [`crate::http::routes::ApiDoc`] after every route is registered), so that
//! it tells the truth about what the server does for every operation:
//!
//! - every error is `application/problem+json` with the `Problem` schema;
//! - 401 and 429 on every operation that takes a token, 403 where the access
//!   table refuses some role, 503 where storage may be unavailable;
//! - 400, 413 and 415 on every operation with a JSON body, 400 on every
//!   operation with query parameters, 404 where a path parameter is parsed;
//! - 405 (with `Allow`) on every operation: the path answers it to any other method;
//! - the limits the server enforces ([`BODY_RULES`], [`PARAM_RULES`]):
//!   free text as `core::input::text`, dates as `core::input::date`, the
//!   child's case reference as `core::input::child_ref`, numeric ranges as the
//!   use cases check them;
//! - the report's CSV rendering, and a `servers` entry.
//!
//! A rule that names a schema, property or parameter the document does not
//! have is a bug (a field was renamed): [`apply_rules`] returns it, and the
//! tests below fail on it.

use utoipa::openapi::path::{Operation, Parameter, ParameterIn, PathItem};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayItems, KnownFormat, Object, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::server::ServerBuilder;
use utoipa::openapi::{Content, HeaderBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

use serde::Deserialize as _;

use crate::core::input::TEXT_LIMIT;
use crate::http::authz::{self, Method, Rule, Scope};
use crate::http::error::ProblemType;

const PROBLEM_JSON: &str = "application/problem+json";

/// A constraint the server enforces on a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Free text (`core::input::text`): not empty or blank, at most
    /// [`TEXT_LIMIT`] characters.
    Text,
    /// A date written exactly `YYYY-MM-DD` (`core::input::date`).
    Date,
    /// A pseudonymous case reference (`core::input::child_ref`).
    ChildRef,
    /// An integer at least this.
    Min(i64),
    /// An integer from the first to the second, inclusive.
    Range(i64, i64),
    /// The parties of a dispute (`core::ladder::raise`): two or more, none twice.
    Parties,
}

/// Request body properties: (schema, property, limit).
pub const BODY_RULES: &[(&str, &str, Limit)] = &[
    ("RaiseDispute", "summary", Limit::Text),
    ("RaiseDispute", "child_ref", Limit::ChildRef),
    ("RaiseDispute", "parties", Limit::Parties),
    ("ProposeBody", "resolution", Limit::Text),
    ("ReasonBody", "reason", Limit::Text),
    ("MigrateBody", "reason", Limit::Text),
    ("RedactBody", "reason", Limit::Text),
    ("OpenMediation", "topic", Limit::Text),
    ("SessionBody", "date", Limit::Date),
    ("SessionBody", "notes", Limit::Text),
    ("CloseMediation", "outcome", Limit::Text),
    ("RequestReview", "concern", Limit::Text),
    ("ReviewDecision", "reason", Limit::Text),
    ("FindingsBody", "findings", Limit::Text),
    ("IssueRecommendation", "text", Limit::Text),
    ("IssueRecommendation", "theme", Limit::Text),
    ("IssueRecommendation", "response_due", Limit::Date),
    ("RecommendationResponse", "actions", Limit::Text),
    ("RecommendationResponse", "reasons", Limit::Text),
];

/// An example for request bodies (schema, JSON), shown to readers and sent by
/// schemathesis's examples phase. Party ids are from the seeded registry.
pub const BODY_EXAMPLES: &[(&str, &str)] = &[
    (
        "RaiseDispute",
        r#"{"parties": ["kingston-council", "metropolitan-police"], "summary": "Threshold for a strategy meeting", "child_ref": "KR-2026-0001"}"#,
    ),
    (
        "ProposeBody",
        r#"{"resolution": "Hold a strategy meeting within two working days"}"#,
    ),
    (
        "ReasonBody",
        r#"{"reason": "No agreement on the threshold"}"#,
    ),
    (
        "RequestReview",
        r#"{"dispute_id": "0b7c4d0e-2f5e-4d7e-9a52-3c1f8e6a9b10", "concern": "The escalation has stalled"}"#,
    ),
    (
        "OpenMediation",
        r#"{"agencies": ["kingston-council", "metropolitan-police"], "topic": "Information sharing at strategy meetings"}"#,
    ),
];

/// Query and path parameters: (method, path, parameter, limit).
pub const PARAM_RULES: &[(Method, &str, &str, Limit)] = &[
    (Method::Get, "/v1/disputes", "limit", Limit::Range(1, 200)),
    (Method::Get, "/v1/ledger/entries", "from", Limit::Min(0)),
    (
        Method::Get,
        "/v1/ledger/entries",
        "limit",
        Limit::Range(1, 200),
    ),
    (
        Method::Get,
        "/v1/ledger/proofs/inclusion",
        "seq",
        Limit::Min(0),
    ),
    (
        Method::Get,
        "/v1/ledger/proofs/inclusion",
        "size",
        Limit::Min(1),
    ),
    (
        Method::Get,
        "/v1/ledger/proofs/consistency",
        "from",
        Limit::Min(1),
    ),
    (
        Method::Get,
        "/v1/ledger/proofs/consistency",
        "to",
        Limit::Min(1),
    ),
    (Method::Get, "/v1/reports/escalations", "from", Limit::Date),
    (Method::Get, "/v1/reports/escalations", "to", Limit::Date),
];

/// Deserialize an optional body member that may be absent but, when present,
/// is never `null` (the document says so: `null` is not of its type). Use
/// with `#[serde(default)]`.
pub fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Deserialize an integer body field as JSON Schema counts integers: `5` and
/// `5.0` alike (a number with no fractional part), so that the server accepts
/// every value its `type: integer` admits. Anything else is refused.
pub fn integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    use serde::de::Error as _;
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        // The bounds are exact powers of two, so the comparison is exact.
        Some(f) if f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63) => Ok(f as i64),
        _ => Err(D::Error::custom(format!("expected an integer, got {n}"))),
    }
}

/// The [`utoipa::Modify`] that makes the document say what the server does.
pub struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, doc: &mut OpenApi) {
        doc.servers = Some(vec![ServerBuilder::new()
            .url("/")
            .description(Some(
                "This service: the host that serves this document at /openapi.json",
            ))
            .build()]);
        add_shared_responses(doc);
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in operations(item) {
                if let Some(op) = op {
                    complete_operation(method, path, op);
                }
            }
        }
        // A rule that applies to nothing is reported by the tests.
        let _ = apply_rules(doc);
        guard_patterns(doc);
        property_counts(doc);
    }
}

/// Bodies whose members are each optional but not all at once: (schema,
/// fewest members, most members). A patch changes something; a policy is
/// activated by `version` or by `document`, exactly one. (utoipa's own
/// `min_properties` attribute is written out as `maxProperties`.)
pub const PROPERTY_COUNTS: &[(&str, usize, Option<usize>)] =
    &[("AgencyPatch", 1, None), ("ActivatePolicy", 1, Some(1))];

fn property_counts(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (name, min, max) in PROPERTY_COUNTS {
        if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut(*name) {
            o.min_properties = Some(*min);
            o.max_properties = *max;
        }
    }
}

/// What `http::guard` refuses in an identifier, a path segment or a query
/// value (`core::input::identifier_chars`): control characters and
/// bidirectional controls. ECMA-262, as JSON Schema reads `pattern`.
pub const IDENTIFIER_PATTERN: &str =
    "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";
/// What it refuses in free text (`core::input::text_chars`): the same, less
/// tab, line feed and carriage return.
pub const TEXT_PATTERN: &str =
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";

/// [`TEXT_PATTERN`], holding at least one character that is not white space.
pub const TEXT_NOT_BLANK_PATTERN: &str =
    "^(?=[\\s\\S]*\\S)[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";
/// An agency id (`core::registry`): 2 to 64 of a-z, 0-9 and '-', starting
/// and ending with a letter or digit.
pub const AGENCY_ID_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$";

fn is_string(o: &Object) -> bool {
    match &o.schema_type {
        SchemaType::Type(t) => *t == Type::String,
        SchemaType::Array(ts) => ts.contains(&Type::String),
        SchemaType::AnyValue => false,
    }
}

fn pattern_on(schema: &mut RefOr<Schema>, pattern: &str) {
    match schema {
        RefOr::T(Schema::Object(o)) if is_string(o) && o.pattern.is_none() => {
            o.pattern = Some(pattern.to_string());
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(item) = &mut a.items {
                pattern_on(item, pattern);
            }
        }
        _ => {}
    }
}

/// The schema names a schema refers to, directly or as array items.
fn refs_in(schema: &RefOr<Schema>, out: &mut Vec<String>) {
    match schema {
        RefOr::Ref(r) => {
            if let Some(name) = r.ref_location.strip_prefix("#/components/schemas/") {
                out.push(name.to_string());
            }
        }
        RefOr::T(Schema::Array(a)) => {
            if let ArrayItems::RefOrSchema(item) = &a.items {
                refs_in(item, out);
            }
        }
        RefOr::T(Schema::Object(o)) => o.properties.values().for_each(|p| refs_in(p, out)),
        _ => {}
    }
}

/// Say the input guard's character rules in the document, so that a client
/// (or schemathesis) knows them: every string parameter is an identifier,
/// and every string in a request body is an identifier or free text, by its
/// field's name (`core::input::is_identifier_field`).
fn guard_patterns(doc: &mut OpenApi) {
    let mut bodies = Vec::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in operations(item).into_iter().filter_map(|(_, op)| op) {
            for p in op.parameters.iter_mut().flatten() {
                if let Some(s) = p.schema.as_mut() {
                    // An optional query value is absent or a value: never `null`.
                    if let RefOr::T(Schema::OneOf(one)) = s {
                        let not_null: Vec<RefOr<Schema>> = one
                            .items
                            .iter()
                            .filter(|i| !matches!(i, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null)))
                            .cloned()
                            .collect();
                        if let [only] = not_null.as_slice() {
                            *s = only.clone();
                        }
                    }
                    if path.starts_with("/v1/agencies/{id}") && p.name == "id" {
                        pattern_on(s, AGENCY_ID_PATTERN);
                    }
                    pattern_on(s, IDENTIFIER_PATTERN);
                }
            }
            for c in op.request_body.iter().flat_map(|b| b.content.values()) {
                if let Some(s) = &c.schema {
                    refs_in(s, &mut bodies);
                }
            }
        }
    }
    let Some(schemas) = doc.components.as_mut().map(|c| &mut c.schemas) else {
        return;
    };
    let mut done = std::collections::BTreeSet::new();
    while let Some(name) = bodies.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        // An externally tagged enum (`{"agency": id}` or `{"role": role}`):
        // each variant is an object of its one key, which serde holds to
        // that key alone.
        if let Some(RefOr::T(Schema::OneOf(one))) = schemas.get_mut(&name) {
            for item in one.items.iter_mut() {
                if let RefOr::T(Schema::Object(o)) = item {
                    if o.properties.len() == 1 && o.required.len() == 1 {
                        o.additional_properties =
                            Some(Box::new(AdditionalProperties::FreeForm(false)));
                    }
                    for (field, prop) in o.properties.iter_mut() {
                        refs_in(prop, &mut bodies);
                        if crate::core::input::is_identifier_field(field) {
                            pattern_on(prop, IDENTIFIER_PATTERN);
                        } else {
                            pattern_on(prop, TEXT_PATTERN);
                        }
                    }
                }
            }
            continue;
        }
        if let Some(RefOr::T(Schema::Object(o))) = schemas.get_mut(&name) {
            for (field, prop) in o.properties.iter_mut() {
                refs_in(prop, &mut bodies);
                if field == "id" && name.contains("Agency") {
                    pattern_on(prop, AGENCY_ID_PATTERN);
                }
                let pattern = if crate::core::input::is_identifier_field(field) {
                    IDENTIFIER_PATTERN
                } else {
                    TEXT_PATTERN
                };
                pattern_on(prop, pattern);
            }
        }
    }
}

/// A path's operations, by the access table's methods (every one it has).
fn operations(item: &mut PathItem) -> [(Method, Option<&mut Operation>); 4] {
    [
        (Method::Get, item.get.as_mut()),
        (Method::Post, item.post.as_mut()),
        (Method::Delete, item.delete.as_mut()),
        (Method::Patch, item.patch.as_mut()),
    ]
}

fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("Problem")))
}

/// The name under `components/responses` of a problem kind's shared response.
fn shared_name(t: ProblemType) -> String {
    let title: String = t
        .slug()
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("Problem{title}")
}

fn shared_ref(t: ProblemType) -> RefOr<Response> {
    RefOr::Ref(Ref::new(format!(
        "#/components/responses/{}",
        shared_name(t)
    )))
}

/// One shared response per problem kind, with the headers the server sends.
fn add_shared_responses(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    for t in ProblemType::ALL {
        let page = t.page();
        let mut r = ResponseBuilder::new()
            .description(format!("{}: {} See {}.", page.title, page.meaning, t.uri()))
            .content(PROBLEM_JSON, problem_content());
        let header = |name: &str, what: &str| {
            (
                name.to_string(),
                HeaderBuilder::new()
                    .schema(Object::with_type(utoipa::openapi::schema::Type::String))
                    .description(Some(what))
                    .build(),
            )
        };
        let (name, h) = match t {
            ProblemType::Unauthorized => header("WWW-Authenticate", "The bearer scheme"),
            ProblemType::TooManyRequests | ProblemType::Unavailable => {
                header("Retry-After", "Seconds to wait before trying again")
            }
            ProblemType::MethodNotAllowed => header("Allow", "The methods the path answers"),
            _ => (String::new(), HeaderBuilder::new().build()),
        };
        if !name.is_empty() {
            r = r.header(name, h);
        }
        components
            .responses
            .insert(shared_name(t), RefOr::T(r.build()));
    }
}

/// What the catalogue says of the problems with this status, for a response
/// its handler left undescribed.
fn described(status: &str) -> String {
    let kinds: Vec<String> = ProblemType::ALL
        .into_iter()
        .filter(|t| t.page().status.as_str() == status)
        .map(|t| format!("{} ({})", t.page().title, t.uri()))
        .collect();
    kinds.join("; or ")
}

fn add(op: &mut Operation, t: ProblemType) {
    op.responses
        .responses
        .entry(t.page().status.as_u16().to_string())
        .or_insert_with(|| shared_ref(t));
}

fn complete_operation(method: Method, path: &str, op: &mut Operation) {
    // Every error the handler documents is a problem.
    for (status, r) in op.responses.responses.iter_mut() {
        if status.starts_with('4') || status.starts_with('5') {
            if let RefOr::T(r) = r {
                r.content.clear();
                r.content
                    .insert(PROBLEM_JSON.to_string(), problem_content());
                if r.description.is_empty() {
                    r.description = described(status);
                }
            }
        }
    }
    let row = authz::route(method, path);
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if authenticated {
        add(op, ProblemType::Unauthorized);
        add(op, ProblemType::Unavailable);
    }
    if let Some(row) = row {
        let someone_refused = [
            row.roles.agency,
            row.roles.slg,
            row.roles.statutory_partner,
            row.roles.chief_officer,
            row.roles.scrutineer,
            row.roles.partnership_admin,
            row.roles.auditor,
        ]
        .iter()
        .any(|r| *r != Rule::Allow);
        if row.scope != Scope::Public && someone_refused {
            add(op, ProblemType::AccessDenied);
        }
        if row.scope == Scope::Dispute {
            add(op, ProblemType::NotFound);
        }
    }
    // The rate limits exempt only the health checks (`http::ratelimit`).
    if path != "/healthz" && path != "/readyz" {
        add(op, ProblemType::TooManyRequests);
    }
    add(op, ProblemType::MethodNotAllowed);
    let takes = |op: &Operation, place: ParameterIn| {
        op.parameters
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|p| p.parameter_in == place)
    };
    if takes(op, ParameterIn::Query) {
        add(op, ProblemType::BadRequest);
    }
    if takes(op, ParameterIn::Path) {
        // A path segment the input guard refuses (a control character).
        add(op, ProblemType::BadRequest);
        add(op, ProblemType::NotFound);
    }
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    if json_body {
        add(op, ProblemType::BadRequest);
        add(op, ProblemType::PayloadTooLarge);
        add(op, ProblemType::UnsupportedMediaType);
    }
    // The report answers CSV as well, on `Accept: text/csv`.
    if method == Method::Get && path == "/v1/reports/escalations" {
        if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
            ok.content.insert(
                "text/csv".to_string(),
                Content::new(Some(Object::with_type(
                    utoipa::openapi::schema::Type::String,
                ))),
            );
        }
    }
}

fn limit(o: &mut Object, l: Limit) {
    match l {
        Limit::Text => {
            o.min_length = Some(1);
            o.max_length = Some(TEXT_LIMIT);
            // Not blank (the server trims, then refuses what is left empty),
            // and no character the input guard refuses in free text.
            o.pattern = Some(TEXT_NOT_BLANK_PATTERN.to_string());
        }
        Limit::Date => {
            o.format = Some(SchemaFormat::KnownFormat(KnownFormat::Date));
            o.pattern = Some(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$".to_string());
        }
        Limit::ChildRef => {
            o.min_length = Some(1);
            o.max_length = Some(64);
            o.pattern = Some(r"^[A-Za-z0-9_/.-]*[0-9][A-Za-z0-9_/.-]*$".to_string());
        }
        Limit::Min(min) => {
            o.minimum = Some(min.into());
        }
        Limit::Range(min, max) => {
            o.minimum = Some(min.into());
            o.maximum = Some(max.into());
        }
        Limit::Parties => {}
    }
}

fn parties(a: &mut utoipa::openapi::schema::Array) {
    a.min_items = Some(2);
    a.unique_items = true;
}

/// Apply [`BODY_RULES`] and [`PARAM_RULES`]; the rules that found nothing to
/// apply to (each as `schema.property` or `METHOD path param`).
pub fn apply_rules(doc: &mut OpenApi) -> Vec<String> {
    let mut missed = Vec::new();
    let schemas = doc
        .components
        .as_mut()
        .map(|c| &mut c.schemas)
        .filter(|s| !s.is_empty());
    let mut empty = Default::default();
    let schemas = schemas.unwrap_or(&mut empty);
    for (schema, property, l) in BODY_RULES {
        let prop = match schemas.get_mut(*schema) {
            Some(RefOr::T(Schema::Object(o))) => o.properties.get_mut(*property),
            _ => None,
        };
        let done = match (prop, l) {
            (Some(RefOr::T(Schema::Array(a))), Limit::Parties) => {
                parties(a);
                true
            }
            (Some(RefOr::T(Schema::Object(o))), l) if *l != Limit::Parties => {
                limit(o, *l);
                true
            }
            _ => false,
        };
        if !done {
            missed.push(format!("{schema}.{property}"));
        }
    }
    for (schema, example) in BODY_EXAMPLES {
        let value = serde_json::from_str::<serde_json::Value>(example).ok();
        match (schemas.get_mut(*schema), value) {
            (Some(RefOr::T(Schema::Object(o))), Some(v)) => o.examples = vec![v],
            _ => missed.push(format!("example of {schema}")),
        }
    }
    for (method, path, name, l) in PARAM_RULES {
        let op = doc.paths.paths.get_mut(*path).and_then(|item| {
            operations(item)
                .into_iter()
                .find(|(m, _)| m == method)
                .and_then(|(_, op)| op)
        });
        let param: Option<&mut Parameter> = op
            .and_then(|op| op.parameters.as_mut())
            .and_then(|ps| ps.iter_mut().find(|p| p.name == *name));
        let done = match param.and_then(|p| p.schema.as_mut()) {
            Some(RefOr::T(Schema::Object(o))) => {
                limit(o, *l);
                true
            }
            _ => false,
        };
        if !done {
            missed.push(format!("{} {path} {name}", method.as_str()));
        }
    }
    missed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_read_as_json_schema_counts_them() {
        #[derive(serde::Deserialize)]
        struct B {
            #[serde(deserialize_with = "integer")]
            n: i64,
        }
        let n = |s: &str| serde_json::from_str::<B>(s).map(|b| b.n);
        assert_eq!(n(r#"{"n": 5}"#).unwrap(), 5);
        assert_eq!(n(r#"{"n": -223066.0}"#).unwrap(), -223066);
        assert_eq!(n(r#"{"n": 1e3}"#).unwrap(), 1000);
        assert!(n(r#"{"n": 5.5}"#).is_err());
        assert!(n(r#"{"n": 1e30}"#).is_err());
        assert!(n(r#"{"n": "5"}"#).is_err());
    }
}
