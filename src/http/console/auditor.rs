//! The auditor's console pages: the ledger browser (entries paged by `seq`,
//! without free text), one entry with its hashes and inclusion proof, the
//! latest checkpoint with its cosignatures, "verify the whole ledger" as a
//! background job with a progress bar that works with JavaScript off, the
//! export bundle's download, the annual report's figures as charts, and a
//! dispute's proof file. Each route is a row of `authz::CONSOLE_ROUTES`
//! decided by the API row doing the same thing; each handler calls the same
//! service function as that API handler.

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde_json::Value;

use crate::core::input;
use crate::core::report::{Audience, Figures, Options, Period};
use crate::http::console::charts::{bar_chart, Bar, Chart};
use crate::http::console::pages::{
    csrf, error_summary, inline_error, layout, london_time, role_words, rung_words, short,
    FormError, Nav,
};
use crate::http::console::{html as page, Caller, ConsoleError, Posted};
use crate::http::error::AppError;
use crate::http::state::{run, AppState};
use crate::service::auditor::{self, CheckpointPage, EntryPage};
use crate::service::bundle::Payloads;
use crate::service::console::Proof;
use crate::service::reports;
use crate::service::verify_job::{Job, Jobs, Outcome, Started};
use crate::store::ledger::StoredEntry;

type Answer = Result<HttpResponse, ConsoleError>;

/// Entries per page of the ledger browser.
pub const PAGE: i64 = 50;

/// How long the progress page's request waits for the job to move before it
/// answers (its `<meta http-equiv="refresh" content="0">` then asks again at
/// once: the server sets the pace, and the page has no delayed refresh).
pub const PROGRESS_WAIT: Duration = Duration::from_millis(1000);

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

fn query_value(req: &HttpRequest, name: &str) -> Option<String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn ledger_links() -> Markup {
    html! {
        nav.el-subnav aria-label="Ledger" {
            ul.el-list {
                li { a href="/console/ledger" { "Entries" } }
                li { a href="/console/ledger/checkpoint" { "Latest checkpoint and its cosignatures" } }
                li { a href="/console/ledger/verify" { "Verify the whole ledger" } }
                li { a href="/console/ledger/export" download { "Download the export bundle (.jsonl)" } }
            }
        }
    }
}

fn event_name(e: &str) -> String {
    rung_words(e)
}

/// `GET /console/ledger[?after=SEQ]`: a page of entries, oldest first.
pub async fn ledger(state: web::Data<AppState>, caller: Caller, req: HttpRequest) -> Answer {
    let after = match query_value(&req, "after").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AppError::BadRequest(format!("after must be a ledger seq (0 or more), not '{v}'"))
        })?),
    };
    let list = run(&state.pool, move |conn| {
        crate::service::ledger::entries(conn, None, after, PAGE + 1)
    })
    .await?;
    let more = list.len() as i64 > PAGE;
    let shown: Vec<&StoredEntry> = list.iter().take(PAGE as usize).collect();
    let next = shown.last().filter(|_| more).map(|s| s.entry.seq);
    let nav = caller.nav();
    Ok(page(
        StatusCode::OK,
        layout(
            "Ledger",
            Some(&nav),
            html! {
                span.el-caption-l { "Auditor" }
                h1.el-heading-l { "The ledger" }
                p.el-body { "Every recorded step, oldest first, with its hashes. No free text is shown: summaries, reasons and resolutions are in the payloads, which only their hashes represent here." }
                (ledger_links())
                @if shown.is_empty() {
                    p.el-body { "No entries." }
                } @else {
                    table.el-table {
                        caption.el-visually-hidden { "Ledger entries, oldest first" }
                        thead { tr {
                            th scope="col" { "Entry" } th scope="col" { "Recorded (London time)" }
                            th scope="col" { "Event" } th scope="col" { "Dispute" }
                            th scope="col" { "By" } th scope="col" { "Entry hash" }
                        } }
                        tbody {
                            @for s in &shown {
                                @let e = &s.entry;
                                tr {
                                    td { a href={ "/console/ledger/entries/" (e.seq) } { "Entry " (e.seq) } }
                                    td { (london_time(&e.recorded_at)) }
                                    td { (event_name(&e.event)) }
                                    td { @match &e.dispute_id { Some(d) => { (short(d)) }, None => { "None" } } }
                                    td { (e.actor.sub) " (" (role_words(e.actor.role)) ")" }
                                    td { code { (short(&hex::encode(e.entry_hash))) "…" } }
                                }
                            }
                        }
                    }
                }
                nav.el-pagination aria-label="Pages of entries" {
                    ul.el-list {
                        @if after.is_some() { li { a href="/console/ledger" { "First page" } } }
                        @if let Some(n) = next { li { a rel="next" href={ "/console/ledger?after=" (n) } { "Next page" } } }
                    }
                }
            },
        ),
    ))
}

fn proof_words(p: &Proof) -> Markup {
    html! {
        @match p {
            Proof::Verified => strong.el-tag.el-tag-green { "Verified" },
            Proof::Pending => strong.el-tag.el-tag-grey { "Not yet in a checkpoint" },
            Proof::Failed => strong.el-tag.el-tag-red { "Not verified" },
        }
    }
}

fn hash_row(name: &str, h: &[u8]) -> Markup {
    html! { div.el-summary-row { dt { (name) } dd { code.el-hash { (hex::encode(h)) } } } }
}

/// `GET /console/ledger/entries/{seq}`: one entry, its hashes and its proof.
pub async fn entry(state: web::Data<AppState>, caller: Caller, seq: web::Path<String>) -> Answer {
    let raw = seq.into_inner();
    let seq: i64 = raw
        .parse()
        .map_err(|_| AppError::NotFound(format!("no ledger entry '{raw}'")))?;
    let log = state.log.signer.verifier();
    let p: EntryPage = run(&state.pool, move |conn| auditor::entry(conn, &log, seq)).await?;
    let e = &p.entry;
    let facts = serde_json::to_string_pretty(&e.facts).unwrap_or_default();
    let nav = caller.nav();
    let title = format!("Ledger entry {}", e.seq);
    Ok(page(
        StatusCode::OK,
        layout(
            &title,
            Some(&nav),
            html! {
                span.el-caption-l { "Auditor" }
                h1.el-heading-l { (title) " " (proof_words(&p.proof)) }
                (ledger_links())
                dl.el-summary-list {
                    div.el-summary-row { dt { "Event" } dd { (event_name(&e.event)) " (" code { (e.event) } ")" } }
                    div.el-summary-row { dt { "Recorded" } dd { (london_time(&e.recorded_at)) " (London time)" } }
                    div.el-summary-row { dt { "Dispute" } dd { @match &e.dispute_id { Some(d) => code { (d) }, None => "None" } } }
                    div.el-summary-row { dt { "By" } dd { (e.actor.sub) " (" (role_words(e.actor.role)) @if let Some(a) = &e.actor.agency { ", " (a) } ")" } }
                    (hash_row("Entry hash", &e.entry_hash))
                    (hash_row("Previous entry's hash", &e.prev_hash))
                    (hash_row("Payload hash", &e.payload_hash))
                    div.el-summary-row { dt { "Payload" } dd { @if p.payload_stored { "Stored (not shown: it may hold free text)" } @else { "Erased by an approved redaction" } } }
                    div.el-summary-row { dt { "Inclusion proof" } dd {
                        (proof_words(&p.proof)) " "
                        @match (&p.proof, p.checkpoint_size) {
                            (Proof::Verified, Some(n)) => { "The proof leads to the root of the latest signed checkpoint (" (n) " entries)." },
                            (Proof::Failed, Some(n)) => { "The proof does not lead to the root of the latest signed checkpoint (" (n) " entries)." },
                            (_, Some(n)) => { "The latest signed checkpoint covers " (n) " entries; this one comes after it." },
                            (_, None) => { "No checkpoint has been signed yet." },
                        }
                    } }
                }
                h2.el-heading-m { "Facts" }
                p.el-body { "The structured facts the entry records (no free text), as hashed into the entry." }
                pre.el-code { (facts) }
                p.el-body {
                    @if e.seq > 0 { a href={ "/console/ledger/entries/" (e.seq - 1) } { "Previous entry" } " · " }
                    a href={ "/console/ledger?after=" (e.seq) } { "Entries after this one" }
                }
            },
        ),
    ))
}

fn posix_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| london_time(&d.naive_utc()))
        .unwrap_or_else(|| t.to_string())
}

/// `GET /console/ledger/checkpoint`: the latest checkpoint and its cosignatures.
pub async fn checkpoint(state: web::Data<AppState>, caller: Caller) -> Answer {
    let log = state.log.signer.verifier();
    let cp: Option<CheckpointPage> =
        run(&state.pool, move |conn| auditor::checkpoint(conn, &log)).await?;
    let nav = caller.nav();
    let quorum = state.witness_quorum.min_cosignatures();
    Ok(page(
        StatusCode::OK,
        layout(
            "Latest checkpoint",
            Some(&nav),
            html! {
                span.el-caption-l { "Auditor" }
                h1.el-heading-l { "The latest checkpoint" }
                (ledger_links())
                @match &cp {
                    None => { p.el-body { "No checkpoint has been signed yet." } },
                    Some(cp) => {
                        @let cosigned = cp.witnesses.iter().filter(|w| w.verified).count();
                        dl.el-summary-list {
                            div.el-summary-row { dt { "Tree size" } dd { (cp.size) " entries" } }
                            div.el-summary-row { dt { "Root hash" } dd { code.el-hash { (cp.root) } } }
                            div.el-summary-row { dt { "Signed" } dd { (london_time(&cp.signed_at)) " (London time)" } }
                            div.el-summary-row { dt { "The log's signature" } dd {
                                @if cp.log_signature_verified { strong.el-tag.el-tag-green { "Verified" } " under the log's key" }
                                @else { strong.el-tag.el-tag-red { "Not verified" } " under the log's key" }
                            } }
                            div.el-summary-row { dt { "Witnessed" } dd { (cosigned) " verified cosignature" @if cosigned != 1 { "s" } " (the quorum is " (quorum) ")" } }
                        }
                        h2.el-heading-m { "Witnesses" }
                        @if cp.witnesses.is_empty() {
                            p.el-body { "No witness is registered." }
                        } @else {
                            table.el-table {
                                caption.el-visually-hidden { "Registered witnesses and their cosignatures of this checkpoint" }
                                thead { tr { th scope="col" { "Witness" } th scope="col" { "Cosigned" } th scope="col" { "Cosignature" } } }
                                tbody {
                                    @for w in &cp.witnesses {
                                        tr {
                                            th scope="row" { (w.name) }
                                            td { @match w.cosigned_at { Some(t) => { (posix_time(t)) " (London time)" }, None => { "Not yet" } } }
                                            td {
                                                @if w.verified { strong.el-tag.el-tag-green { "Verified" } }
                                                @else if w.cosigned_at.is_some() { strong.el-tag.el-tag-red { "Not verified" } @if let Some(p) = &w.problem { " " (p) } }
                                                @else { strong.el-tag.el-tag-grey { "None" } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        h2.el-heading-m { "The signed note" }
                        p.el-body { "As " code { "GET /v1/ledger/checkpoint" } " serves it, with the cosignatures gathered so far." }
                        pre.el-code { (cp.note) }
                    },
                }
            },
        ),
    ))
}

fn jobs(req: &HttpRequest) -> Result<web::Data<Jobs>, AppError> {
    req.app_data::<web::Data<Jobs>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("no verification jobs in the app data".into()))
}

fn outcome_words(j: &Job) -> Markup {
    html! {
        @match &j.outcome {
            None => {
                p.el-body { "Checking entries: " (j.checked) " of " (j.total) "." }
            },
            Some(Outcome::Done(r)) if r.ok => {
                div.el-banner.el-banner-success role="region" aria-labelledby="result-title" {
                    div.el-banner-header { h2.el-banner-title id="result-title" { "The ledger verifies" } }
                    div.el-banner-content {
                        p.el-heading-s { "All " (r.size) " entries are good: the chain, every payload hash, the Merkle tree against every signed checkpoint, and every table rebuilt from the ledger." }
                    }
                }
            },
            Some(Outcome::Done(r)) => {
                div.el-error-summary role="alert" aria-labelledby="result-title" {
                    h2.el-heading-m id="result-title" { "The ledger does not verify" }
                    @if let Some(seq) = r.first_bad_seq {
                        p.el-body { "The first bad entry is " a href={ "/console/ledger/entries/" (seq) } { "entry " (seq) } "." }
                    }
                    @if let Some(d) = &r.mismatched_dispute { p.el-body { "The tables of dispute " code { (d) } " disagree with the ledger." } }
                    @if let Some(n) = r.bad_checkpoint { p.el-body { "The checkpoint signed at size " (n) " does not match." } }
                    @if let Some(p) = &r.problem { p.el-body { "Why: " (p) } }
                }
            },
            Some(Outcome::Failed(why)) => {
                div.el-error-summary role="alert" aria-labelledby="result-title" {
                    h2.el-heading-m id="result-title" { "The verification did not finish" }
                    p.el-body { (why) }
                    p.el-body { "Nothing was found wrong with the ledger: it was not checked to its end. Start it again." }
                }
            },
        }
    }
}

fn verify_button(nav: &Nav, words: &str) -> Markup {
    html! {
        form method="post" action="/console/ledger/verify" {
            (csrf(&nav.csrf))
            button.el-button type="submit" { (words) }
        }
    }
}

/// `GET /console/ledger/verify`: while a verification runs, its `<progress>`
/// bar, the page refreshing itself until it is done (`?refresh=off` stops
/// that); then the result and the button to run it again. The page shows
/// the one job of the process, so it can be left and come back to.
pub async fn verify_page(caller: Caller, req: HttpRequest) -> Answer {
    let jobs = jobs(&req)?;
    let refresh = query_value(&req, "refresh").as_deref() != Some("off");
    let (running, last) = jobs.current();
    // While it runs, wait (a little) for it to move: the page's immediate
    // refresh is paced here.
    let job = match running {
        Some(seen) if refresh => {
            let until = std::time::Instant::now() + PROGRESS_WAIT;
            let mut job = Some(seen.clone());
            while std::time::Instant::now() < until {
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                let now = jobs.get(&seen.id);
                let moved = now
                    .as_ref()
                    .is_none_or(|j| j.outcome.is_some() || j.checked != seen.checked);
                job = now;
                if moved {
                    break;
                }
            }
            job
        }
        Some(seen) => Some(seen),
        None => last,
    };
    let running = job.as_ref().is_some_and(|j| j.outcome.is_none());
    let nav = caller.nav();
    let main = html! {
        @if running && refresh {
            // Refreshes at once; the server waits up to a second before answering.
            meta http-equiv="refresh" content="0";
        }
        span.el-caption-l { "Auditor" }
        h1.el-heading-l { @if running { "Verifying the whole ledger" } @else { "Verify the whole ledger" } }
        (ledger_links())
        p.el-body { "This recomputes every entry's hashes and the chain, rebuilds the Merkle tree and checks it against every signed checkpoint, replays every event and compares the result with the service's tables: what " code { "escalation-ledger verify" } " does. It runs in the background, one at a time: you can leave this page and come back to it." }
        @match &job {
            None => { (verify_button(&nav, "Verify the whole ledger")) },
            Some(j) => {
                h2.el-heading-m { @if running { "Progress" } @else { "The last verification" } }
                p.el-body id="verify-job" data-job=(j.id) { "Started " (london_time(&j.started_at)) " (London time)." }
                div.el-form-group {
                    label.el-label for="verify-progress" { "Entries checked" }
                    progress.el-progress id="verify-progress" max="100" value=(j.percent()) { (j.percent()) "%" }
                    p.el-body id="verify-percent" { (j.percent()) "% done" }
                }
                (outcome_words(j))
                @if running {
                    @if refresh {
                        p.el-body { "This page updates itself until the check is done. " a href="/console/ledger/verify?refresh=off" { "Stop updating this page" } }
                    } @else {
                        p.el-body { a href="/console/ledger/verify" { "Update this page" } }
                    }
                } @else {
                    (verify_button(&nav, "Verify the whole ledger again"))
                }
            },
        }
    };
    Ok(page(
        StatusCode::OK,
        layout("Verify the whole ledger", Some(&nav), main),
    ))
}

/// `POST /console/ledger/verify`: start a verification (or find the one
/// running) and show it.
pub async fn verify_start(state: web::Data<AppState>, posted: Posted, req: HttpRequest) -> Answer {
    let started = jobs(&req)?.start(state.pool.clone())?;
    tracing::info!(
        job = started.id(),
        new = matches!(started, Started::New(_)),
        role = %posted.caller.actor.role,
        "ledger verification asked for in the console"
    );
    Ok(see_other("/console/ledger/verify"))
}

/// `GET /console/ledger/export`: the export bundle, as `GET /v1/ledger/export`
/// streams it (payloads withheld from those who may not read free text), to
/// save as a file.
pub async fn export(state: web::Data<AppState>, caller: Caller) -> Answer {
    let payloads = if crate::http::authz::reads_free_text(&caller.actor) {
        Payloads::Included
    } else {
        Payloads::Withheld
    };
    let mut res = crate::http::handlers::ledger::export_response(&state, payloads).await?;
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"bundle.jsonl\""),
    );
    Ok(res)
}

/// `GET /console/disputes/{id}/proof`: the dispute's tlog-proof file, the
/// same bytes and headers as `GET /v1/disputes/{id}/proof`.
pub async fn proof(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Answer {
    let id = id.into_inner();
    let key = state.log.clone();
    let admit = caller.admit();
    let p = run(&state.pool, move |conn| {
        crate::service::proof::for_dispute(conn, &id, &key, admit)
    })
    .await?;
    Ok(crate::http::handlers::proofs::proof_response(p))
}

// ---- the annual report's figures as charts ----

fn count(v: &Value, pointer: &str) -> Option<u64> {
    v.pointer(pointer).and_then(Value::as_u64)
}

/// A JSON pointer's segment (`~` and `/` escaped, RFC 6901).
fn segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn map_bars(v: &Value, section: &str, label: impl Fn(&str) -> String) -> Vec<Bar> {
    let path = format!("/{}", section.replace('.', "/"));
    v.pointer(&path)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, c)| Bar {
                    label: label(k),
                    value: c.as_u64(),
                    pointer: format!("{path}/{}", segment(k)),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn escalation_words(k: &str) -> String {
    match k.split_once("->") {
        Some((from, to)) => format!("{} to {}", rung_words(from), rung_words(to)),
        None => rung_words(k),
    }
}

/// The charts of one report's figures.
pub fn charts(f: &Figures) -> Markup {
    let v = f.to_value();
    let mut outcome: Vec<Bar> = map_bars(&v, "outcome.resolved", |k| {
        format!("Resolved on the {} rung", rung_words(k).to_lowercase())
    });
    for (label, pointer) in [
        ("Withdrawn", "/outcome/withdrawn"),
        ("Still open", "/outcome/open"),
    ] {
        outcome.push(Bar {
            label: label.into(),
            value: count(&v, pointer),
            pointer: pointer.into(),
        });
    }
    let rung = |k: &str| rung_words(k);
    html! {
        (bar_chart(&Chart { id: "entry-rung", title: "Disputes raised, by the rung they entered", desc: "For each rung, how many disputes raised in the period entered the ladder there.", what: "Rung" },
            &map_bars(&v, "by_entry_rung", rung)))
        (bar_chart(&Chart { id: "highest-rung", title: "Highest rung reached", desc: "For each rung, how many disputes raised in the period had climbed no higher than it by the end of the period.", what: "Rung" },
            &map_bars(&v, "highest_rung_reached", rung)))
        (bar_chart(&Chart { id: "outcome", title: "Outcomes", desc: "What became of the disputes raised in the period, by the end of it: resolved (by the rung they were resolved on), withdrawn or still open.", what: "Outcome" },
            &outcome))
        (bar_chart(&Chart { id: "escalations", title: "Escalations, from rung to rung", desc: "How many escalations were recorded in the period from each rung to the next, by people and by the deadline sweeper.", what: "Escalation" },
            &map_bars(&v, "escalations", escalation_words)))
        (bar_chart(&Chart { id: "deadline-missed", title: "Deadlines missed, by rung", desc: "How many rung deadlines passed in the period, by the rung whose deadline it was.", what: "Rung" },
            &map_bars(&v, "deadline_missed", rung)))
    }
}

fn other_figures(f: &Figures) -> Markup {
    let v = f.to_value();
    let rows: [(&str, &str); 17] = [
        ("Disputes raised", "/raised"),
        ("Urgent", "/urgent"),
        ("Raised as whistleblowing", "/whistleblowing"),
        (
            "Escalated automatically on a missed deadline",
            "/auto_escalated",
        ),
        (
            "Closed (resolved or withdrawn)",
            "/working_days_to_close/count",
        ),
        (
            "Working days to close: median",
            "/working_days_to_close/median",
        ),
        (
            "Working days to close: 90th percentile",
            "/working_days_to_close/p90",
        ),
        (
            "Working days to close: longest",
            "/working_days_to_close/max",
        ),
        ("Independent reviews requested", "/reviews/requested"),
        ("Reviews accepted", "/reviews/accepted"),
        ("Reviews declined", "/reviews/declined"),
        ("Mediations opened", "/mediations/opened"),
        ("Mediations closed", "/mediations/closed"),
        ("Recommendations issued", "/recommendations/issued"),
        ("Recommendations accepted", "/recommendations/accepted"),
        (
            "Recommendations awaiting a response",
            "/recommendations/awaiting_response",
        ),
        ("Recommendations overdue", "/recommendations/overdue"),
    ];
    html! {
        table.el-table id="other-figures" {
            caption.el-heading-s { "Other figures" }
            thead { tr { th scope="col" { "Figure" } th.el-num scope="col" { "Number" } } }
            tbody {
                @for (label, pointer) in rows {
                    tr {
                        th scope="row" { (label) }
                        td.el-num data-pointer=(pointer) {
                            @match v.pointer(pointer) {
                                Some(Value::Number(n)) => { (n) },
                                _ => { "None" },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn report_form(from: &str, to: &str, errors: &[FormError]) -> Markup {
    let field = |name: &'static str, label: &str, value: &str| {
        let err = errors.iter().find(|e| e.field == name);
        let described = if err.is_some() {
            format!("{name}-hint {name}-error")
        } else {
            format!("{name}-hint")
        };
        html! {
            div.el-form-group.el-form-group-error[err.is_some()] {
                label.el-label for=(name) { (label) }
                div.el-hint id={ (name) "-hint" } { "As YYYY-MM-DD, for example 2026-03-31" }
                (inline_error(err))
                input.el-input.el-input-width-10.el-input-error[err.is_some()] id=(name) name=(name) type="text" value=(value) aria-describedby=(described) spellcheck="false";
            }
        }
    };
    html! {
        form.el-filter method="get" action="/console/reports/escalations" novalidate {
            (field("from", "First day", from))
            (field("to", "Last day", to))
            button.el-button type="submit" { "Show the figures" }
        }
    }
}

/// The period's errors, in the GOV.UK error pattern's words.
fn period_errors(from: &str, to: &str) -> Result<Period, Vec<FormError>> {
    let mut errors = Vec::new();
    for (field, value, words) in [("from", from, "first"), ("to", to, "last")] {
        if value.trim().is_empty() {
            errors.push(FormError::new(
                field,
                &format!("Enter the {words} day of the period"),
            ));
        } else if input::date(field, value.trim()).is_err() {
            errors.push(FormError::new(
                field,
                &format!("The {words} day must be a real date, as YYYY-MM-DD"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Period::parse(from.trim(), to.trim()).map_err(|_| {
        vec![FormError::new(
            "to",
            "The last day must be the same as or after the first day",
        )]
    })
}

/// `GET /console/reports/escalations[?from=&to=]`: the form, and once a
/// period is given the figures as charts with their tables.
pub async fn report(state: web::Data<AppState>, caller: Caller, req: HttpRequest) -> Answer {
    let from = query_value(&req, "from");
    let to = query_value(&req, "to");
    let nav = caller.nav();
    let asked = from.is_some() || to.is_some();
    let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
    let (status, errors, figures) = if !asked {
        (StatusCode::OK, Vec::new(), None)
    } else {
        match period_errors(&from, &to) {
            Err(errors) => (StatusCode::BAD_REQUEST, errors, None),
            Ok(period) => {
                let opts = Options {
                    period,
                    audience: Audience::Internal,
                    suppress_below: state.report_suppress_below,
                };
                let key = state.log.clone();
                let f = run(&state.pool, move |conn| {
                    reports::escalations(conn, &key, opts)
                })
                .await?;
                (StatusCode::OK, Vec::new(), Some(f))
            }
        }
    };
    let title = if errors.is_empty() {
        "Escalation figures".to_string()
    } else {
        "Error: Escalation figures".to_string()
    };
    Ok(page(
        status,
        layout(
            &title,
            Some(&nav),
            html! {
                (error_summary(&errors))
                span.el-caption-l { "Annual report" }
                h1.el-heading-l { "Escalation figures" }
                p.el-body { "The escalation section of the annual report, computed from the ledger over a period of London dates (both days included): the same figures as " code { "GET /v1/reports/escalations" } ". Every chart has its numbers in a table beside it." }
                (report_form(&from, &to, &errors))
                @if let Some(f) = &figures {
                    h2.el-heading-m { "From " (f.period.from) " to " (f.period.to) }
                    p.el-body { "Computed over the first " (f.ledger.size) " ledger entries (the signed checkpoint with root " code.el-hash { (f.ledger.root) } ")." }
                    (charts(f))
                    (other_figures(f))
                }
            },
        ),
    ))
}
