//! `/problems/{name}`: the page each problem `type` URI names, from the one
//! catalogue ([`crate::http::error::ProblemType`]). No token: a client that
//! got a problem may follow its `type` whoever it is.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{AppError, Problem, ProblemType};

/// A problem kind, as JSON (`Accept: application/json`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemDescription {
    /// The `type` problems of this kind carry.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What the problem means.
    pub meaning: String,
    /// What to do about it.
    pub what_to_do: String,
}

fn describe(t: ProblemType) -> ProblemDescription {
    let page = t.page();
    ProblemDescription {
        kind: t.uri(),
        title: page.title.to_string(),
        status: page.status.as_u16(),
        meaning: page.meaning.to_string(),
        what_to_do: page.what_to_do.to_string(),
    }
}

/// Whether the client asked for JSON rather than a page.
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .any(|v| v.eq_ignore_ascii_case("application/json"))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A plain page: one heading, what it means, what to do. No script, no
/// external asset, a little inline style for legibility and a visible focus.
pub fn html(t: ProblemType) -> String {
    let d = describe(t);
    format!(
        r#"<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} (HTTP {status}) - escalation-ledger</title>
<style>
body {{ font-family: system-ui, sans-serif; font-size: 1.1875rem; line-height: 1.5; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #0b0c0c; background: #fff; }}
h1 {{ font-size: 2rem; line-height: 1.2; }}
code {{ font-size: 1rem; }}
a:focus {{ outline: 3px solid #fd0; background: #fd0; color: #0b0c0c; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>HTTP status {status}. Problems of this kind have the type <code>{kind}</code>.</p>
<h2>What it means</h2>
<p>{meaning}</p>
<h2>What to do</h2>
<p>{what_to_do}</p>
<p>The <code>detail</code> of the problem you received says what went wrong with your request.</p>
</main>
</body>
</html>
"#,
        title = escape(&d.title),
        status = d.status,
        kind = escape(&d.kind),
        meaning = escape(&d.meaning),
        what_to_do = escape(&d.what_to_do),
    )
}

#[utoipa::path(tag = "operations",
    params(("name" = String, Path, description = "The last segment of a problem's `type`, such as `not-found`")),
    responses((status = 200, description = "What the problem means and what to do: a page, or JSON on `Accept: application/json`",
               content((String = "text/html"), (ProblemDescription = "application/json"))),
              (status = 404, description = "No problem of that name", body = Problem)))]
#[get("/problems/{name}")]
pub async fn problem_page(
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some(t) = ProblemType::from_slug(&name) else {
        return Err(AppError::NotFound("no such problem type".into()));
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'",
    ));
    if wants_json(&req) {
        Ok(res.json(describe(t)))
    } else {
        Ok(res.content_type("text/html; charset=utf-8").body(html(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_names_its_kind_and_escapes_its_text() {
        for t in ProblemType::ALL {
            let page = html(t);
            assert!(
                page.contains(&format!("<h1>{}</h1>", t.page().title)),
                "{t:?}"
            );
            assert!(page.contains(&t.uri()), "{t:?}");
            assert!(!page.contains("<token>"), "unescaped text in {t:?}");
        }
        assert!(html(ProblemType::Unauthorized).contains("Bearer &lt;token&gt;"));
    }
}
