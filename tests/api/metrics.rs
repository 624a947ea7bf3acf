//! `/metrics` on its own listener: every line parses as the Prometheus text
//! format, and the figures match the database.

use std::collections::BTreeMap;

use escalation_ledger::app;
use escalation_ledger::core::ladder::Role;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// One sample: its name, labels and value.
#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn valid_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("bad value {s:?}")),
    }
}

/// Parse the text exposition format (0.0.4), strictly: every line is a
/// `# HELP`, a `# TYPE` or a sample; a sample's family has a `# TYPE`.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            if !valid_name(name) {
                return Err(err("bad metric name in comment".into()));
            }
            match kw {
                "HELP" => {}
                "TYPE" => {
                    let t = parts.next().unwrap_or("");
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                        return Err(err(format!("bad type {t:?}")));
                    }
                    if types.insert(name.to_string(), t.to_string()).is_some() {
                        return Err(err("a second TYPE for one family".into()));
                    }
                }
                _ => return Err(err("unknown comment".into())),
            }
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return Err(err("no value".into())),
        };
        if !valid_name(name) {
            return Err(err("bad metric name".into()));
        }
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                // label name
                let start = chars
                    .peek()
                    .map(|(i, _)| *i)
                    .ok_or_else(|| err("open labels".into()))?;
                if body[start..].starts_with('}') {
                    end = start;
                    break;
                }
                let eq = body[start..]
                    .find('=')
                    .ok_or_else(|| err("label without =".into()))?
                    + start;
                let lname = &body[start..eq];
                if !valid_name(lname) || lname.contains(':') {
                    return Err(err(format!("bad label name {lname:?}")));
                }
                while chars.peek().is_some_and(|(i, _)| *i <= eq) {
                    chars.next();
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(err("label value not quoted".into()));
                }
                let mut v = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => v.push('\n'),
                            Some((_, '\\')) => v.push('\\'),
                            Some((_, '"')) => v.push('"'),
                            _ => return Err(err("bad escape".into())),
                        },
                        Some((_, '"')) => break,
                        Some((_, c)) => v.push(c),
                        None => return Err(err("unterminated label value".into())),
                    }
                }
                labels.insert(lname.to_string(), v);
                match chars.next() {
                    Some((_, ',')) => continue,
                    Some((i, '}')) => {
                        end = i;
                        break;
                    }
                    _ => return Err(err("expected , or }".into())),
                }
            }
            rest = &body[end + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value =
            parse_value(fields.next().ok_or_else(|| err("no value".into()))?).map_err(&err)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| err("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing text".into()));
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s).filter(|f| {
                    types
                        .get(*f)
                        .is_some_and(|t| t == "histogram" || t == "summary")
                })
            })
            .unwrap_or(name);
        if !types.contains_key(family) {
            return Err(err(format!("sample of {family} has no TYPE")));
        }
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(samples)
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

async fn scrape(base: &str) -> (u16, String, String) {
    let mut res = crate::helpers::client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("scrape");
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = res.body().limit(8 << 20).await.expect("body");
    (
        res.status().as_u16(),
        ctype,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn metrics_parse_and_match_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (server, addr) =
        app::start_metrics(app.pool.clone(), 3, "127.0.0.1:0").expect("metrics listener");
    actix_web::rt::spawn(server);
    let base = format!("http://{addr}");

    let _a = app
        .raise(&["kingston-council", "richmond-council"], false)
        .await;
    let _b = app
        .raise(&["kingston-council", "metropolitan-police"], false)
        .await;
    let (s, _) = app.get(&app.role(Role::Auditor), "/v1/ledger/head").await;
    assert_eq!(s, 200);
    let (s, _) = app.get(&app.role(Role::Auditor), "/no/such/route").await;
    assert_eq!(s, 404);
    // A webhook delivery queued and not yet sent.
    let admin = app.role(Role::PartnershipAdmin);
    let (s, v) = app
        .post(
            &admin,
            "/v1/admin/webhooks",
            json!({"target": {"agency": "kingston-council"}, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let webhook = s == 201;
    if webhook {
        app.raise(&["kingston-council", "richmond-council"], false)
            .await;
    } else {
        eprintln!("webhook registration refused ({s}: {v}); outbox figure unchecked");
    }
    let size = app.size().await;

    let (status, ctype, text) = scrape(&base).await;
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));

    let value = |name: &str, labels: &[(&str, &str)]| {
        find(&samples, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
            .value
    };
    assert_eq!(value("escalation_ledger_entries", &[]), size as f64);
    assert_eq!(value("escalation_ledger_witness_quorum", &[]), 3.0);
    assert_eq!(value("escalation_ledger_checkpoint_cosignatures", &[]), 0.0);
    let open: f64 = samples
        .iter()
        .filter(|s| s.name == "escalation_ledger_open_disputes")
        .map(|s| s.value)
        .sum();
    assert_eq!(open, if webhook { 3.0 } else { 2.0 }, "{text}");
    assert!(value("escalation_ledger_open_disputes", &[("rung", "agencies")]) >= 2.0);
    assert_eq!(value("escalation_ledger_overdue_disputes", &[]), 0.0);
    if webhook {
        assert!(
            value(
                "escalation_ledger_outbox_deliveries",
                &[("status", "pending")]
            ) >= 1.0,
            "{text}"
        );
    }
    assert!(find(
        &samples,
        "escalation_ledger_outbox_deliveries",
        &[("status", "failed")]
    )
    .is_some());
    // HTTP server metrics, by route template, method and status (the
    // recorder is the process's, so other tests' requests are here too).
    let raised = value(
        "http_server_request_duration_seconds_count",
        &[
            ("http_route", "/v1/disputes"),
            ("http_request_method", "POST"),
            ("http_response_status_code", "201"),
        ],
    );
    assert!(raised >= 2.0, "{text}");
    assert!(find(
        &samples,
        "http_server_request_duration_seconds_bucket",
        &[("http_route", "/v1/ledger/head"), ("le", "+Inf")]
    )
    .is_some());
    assert!(find(
        &samples,
        "http_server_request_duration_seconds_count",
        &[
            ("http_route", "unmatched"),
            ("http_response_status_code", "404")
        ]
    )
    .is_some());
    assert!(value("escalation_ledger_append_duration_seconds_count", &[]) >= 2.0);
    assert!(
        text.contains("# TYPE http_server_request_duration_seconds histogram"),
        "{text}"
    );

    // A checkpoint: its age and size appear.
    let note = app.checkpoint_note().await;
    assert!(!note.is_empty());
    let (_, _, text) = scrape(&base).await;
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    if let Some(s) = find(&samples, "escalation_ledger_checkpoint_size", &[]) {
        assert!(s.value <= size as f64);
    }
    // The listener serves nothing else.
    let res = crate::helpers::client()
        .get(format!("{base}/v1/agencies"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 404);
}

#[test]
fn the_parser_refuses_what_is_not_the_format() {
    assert!(parse("# TYPE a counter\na 1\n").is_ok());
    assert!(parse("a 1\n").is_err(), "no TYPE");
    assert!(parse("# TYPE a gauge\na{b=\"c\" 1\n").is_err());
    assert!(parse("# TYPE a gauge\na{b=c} 1\n").is_err());
    assert!(parse("# TYPE a gauge\na x\n").is_err());
    assert!(parse("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n").is_ok());
    assert!(parse("# TYPE a gauge\na{b=\"q\\\"\",c=\"\"} 1 1700000000000\n").is_ok());
}

both_backends!(metrics_parse_and_match_the_database);
