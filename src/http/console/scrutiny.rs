//! The scrutineer's workspace and the SLG's recommendations, as console pages:
//! mediations with their sessions and outcome, independent reviews (accept or
//! decline, then findings), recommendations to the SLG as a board (open,
//! overdue, responded) with the SLG's response form, and the look-up of a
//! whistleblower's identity.
//!
//! Each route's row in `authz::CONSOLE_ROUTES` names the API row that decides
//! it, so the extractors refuse a caller the API would refuse; every action
//! calls the same [`casework`] use case as the API handler doing the same
//! thing, through the sequencer ([`write`]). Buttons and links are shown by
//! [`Caller::may`] on those rows; nothing here computes a permission.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::core::calendar::Calendar;
use crate::core::event::ScrutinyEvent;
use crate::core::ladder::{Role, Status};
use crate::core::registry::Agency;
use crate::http::authz::{self, ListScope};
use crate::http::console::pages::{
    csrf, error_for, error_summary, inline_error, layout, role_words, rung_words, short, FormError,
};
use crate::http::console::{html as page, Caller, ConsoleError, Posted};
use crate::http::error::AppError;
use crate::http::state::{run, write, AppState};
use crate::service::casework;
use crate::service::disputes::{ListQuery, Visible};
use crate::service::scrutiny::{
    self, Attendee, MediationView, RecommendationStatus, RecommendationView, ReviewView,
};

type Answer = Result<HttpResponse, ConsoleError>;

/// How many of each kind a page lists (the API's largest page).
const MANY: i64 = 200;

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

/// A refusal a form can show beside its field (the input, or the state it
/// met: 400, 409, 422), with its status; anything else is the error page.
fn refusal(e: AppError, field: &'static str) -> Result<(StatusCode, Vec<FormError>), ConsoleError> {
    match e {
        AppError::BadRequest(_) | AppError::Unprocessable(_) | AppError::Conflict(_) => {
            let status = actix_web::ResponseError::status_code(&e);
            Ok((status, vec![FormError::new(field, &e.to_string())]))
        }
        other => Err(other.into()),
    }
}

fn titled(title: &str, errors: &[FormError]) -> String {
    if errors.is_empty() {
        title.to_string()
    } else {
        format!("Error: {title}")
    }
}

// ---- the pages' parts ----

#[derive(Debug, Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn banner(done: Option<&str>) -> Markup {
    let words = match done {
        Some("opened") => "The mediation has been opened.",
        Some("session") => "The session has been recorded.",
        Some("closed") => "The mediation’s outcome has been recorded.",
        Some("accepted") => "You have accepted the review.",
        Some("declined") => "You have declined the review.",
        Some("findings") => "The review’s findings have been recorded.",
        Some("issued") => "The recommendation has been issued to the SLG.",
        Some("responded") => "Your response has been recorded.",
        _ => return html! {},
    };
    html! {
        div.el-banner.el-banner-success role="region" aria-labelledby="banner-title" {
            div.el-banner-header { h2.el-banner-title id="banner-title" { "Success" } }
            div.el-banner-content { p.el-heading-s { (words) } }
        }
    }
}

/// A labelled textarea that keeps what was typed, with its error.
fn text_field(
    name: &'static str,
    label: &str,
    hint: Option<&str>,
    value: &str,
    errors: &[FormError],
) -> Markup {
    let err = error_for(errors, name);
    let mut described = Vec::new();
    if hint.is_some() {
        described.push(format!("{name}-hint"));
    }
    if err.is_some() {
        described.push(format!("{name}-error"));
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    html! {
        div.el-form-group.el-form-group-error[err.is_some()] {
            label.el-label for=(name) { (label) }
            @if let Some(h) = hint { div.el-hint id={ (name) "-hint" } { (h) } }
            (inline_error(err))
            textarea.el-textarea.el-input-error[err.is_some()] id=(name) name=(name) rows="4" aria-describedby=[described] { (value) }
        }
    }
}

/// A date as typed into the GOV.UK date input: day, month and year.
#[derive(Debug, Clone, Default)]
pub struct DateParts {
    pub day: String,
    pub month: String,
    pub year: String,
}

impl DateParts {
    fn posted(p: &Posted, name: &str) -> Self {
        let get = |part: &str| p.field(&format!("{name}-{part}")).trim().to_string();
        DateParts {
            day: get("day"),
            month: get("month"),
            year: get("year"),
        }
    }

    fn of(d: NaiveDate) -> Self {
        DateParts {
            day: d.format("%-d").to_string(),
            month: d.format("%-m").to_string(),
            year: d.format("%Y").to_string(),
        }
    }

    /// The date, `YYYY-MM-DD`, if the three parts make a real one.
    fn iso(&self) -> Option<String> {
        let (d, m, y) = (
            self.day.parse::<u32>().ok()?,
            self.month.parse::<u32>().ok()?,
            self.year.parse::<i32>().ok()?,
        );
        if self.year.len() != 4 {
            return None;
        }
        NaiveDate::from_ymd_opt(y, m, d).map(|x| x.format("%Y-%m-%d").to_string())
    }
}

/// The GOV.UK date input: a fieldset of day, month and year. The day's input
/// carries the bare `name` as its id, so the error summary links to it.
fn date_field(
    name: &'static str,
    legend: &str,
    hint: &str,
    value: &DateParts,
    errors: &[FormError],
) -> Markup {
    let err = error_for(errors, name);
    let described = if err.is_some() {
        format!("{name}-hint {name}-error")
    } else {
        format!("{name}-hint")
    };
    let parts = [
        (
            "day",
            "Day",
            name.to_string(),
            &value.day,
            "el-input-width-2",
        ),
        (
            "month",
            "Month",
            format!("{name}-month"),
            &value.month,
            "el-input-width-2",
        ),
        (
            "year",
            "Year",
            format!("{name}-year"),
            &value.year,
            "el-input-width-4",
        ),
    ];
    html! {
        div.el-form-group.el-form-group-error[err.is_some()] {
            fieldset.el-fieldset role="group" aria-describedby=(described) {
                legend.el-fieldset-legend { (legend) }
                div.el-hint id={ (name) "-hint" } { (hint) }
                (inline_error(err))
                div.el-date-input {
                    @for (part, label, id, v, width) in parts {
                        div.el-date-input-item {
                            label.el-label for=(id) { (label) }
                            input class={ "el-input " (width) @if err.is_some() { " el-input-error" } } id=(id) name={ (name) "-" (part) } type="text" inputmode="numeric" value=(v);
                        }
                    }
                }
            }
        }
    }
}

fn mediation_tag(status: &str) -> Markup {
    match status {
        "open" => html! { strong.el-tag.el-tag-blue { "Open" } },
        _ => html! { strong.el-tag.el-tag-green { "Closed" } },
    }
}

fn review_tag(status: &str) -> Markup {
    let (class, words) = match status {
        "requested" => ("el-tag el-tag-yellow", "Requested"),
        "accepted" => ("el-tag el-tag-blue", "Accepted"),
        "declined" => ("el-tag el-tag-grey", "Declined"),
        _ => ("el-tag el-tag-green", "Findings recorded"),
    };
    html! { strong class=(class) { (words) } }
}

fn recommendation_tag(s: RecommendationStatus) -> Markup {
    match s {
        RecommendationStatus::Open => html! { strong.el-tag.el-tag-blue { "Open" } },
        RecommendationStatus::Overdue => html! { strong.el-tag.el-tag-red { "Overdue" } },
        RecommendationStatus::Responded => html! { strong.el-tag.el-tag-green { "Responded" } },
    }
}

/// A `YYYY-MM-DD` date in words: "4 December 2026".
fn date_words(iso: &str) -> String {
    NaiveDate::parse_from_str(iso, "%Y-%m-%d")
        .map(|d| d.format("%-d %B %Y").to_string())
        .unwrap_or_else(|_| iso.to_string())
}

/// An RFC 3339 time as London time.
fn time_words(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            crate::http::console::pages::london_time(&t.with_timezone(&chrono::Utc).naive_utc())
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// How far off a response due on `due` (a London date) is, in working days,
/// as the home page words deadlines: "3 working days left", "due today",
/// "overdue by 2 working days".
pub fn due_words(cal: &Calendar, today: NaiveDate, due: &str) -> String {
    let Ok(day) = NaiveDate::parse_from_str(due, "%Y-%m-%d") else {
        return String::new();
    };
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    if day >= today {
        let n = cal.working_days_between(today, day);
        if n <= 0 {
            "due today".into()
        } else {
            format!("{n} working day{} left", plural(n))
        }
    } else {
        let n = cal.working_days_between(day, today).max(1);
        format!("overdue by {n} working day{}", plural(n))
    }
}

fn about(r: &RecommendationView) -> Markup {
    html! {
        @match (&r.dispute_id, &r.theme) {
            (Some(d), _) => { "Dispute " a href={ "/console/disputes/" (d) } { (short(d)) } },
            (None, Some(t)) => { "Theme: " (t) },
            (None, None) => { "A theme (erased)" },
        }
    }
}

fn agency_names(ids: &[String], agencies: &[Agency]) -> String {
    ids.iter()
        .map(|id| {
            agencies
                .iter()
                .find(|a| &a.id == id)
                .map_or(id.clone(), |a| a.name.clone())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn agencies(state: &AppState) -> Result<Vec<Agency>, ConsoleError> {
    Ok(run(&state.pool, |conn| {
        crate::service::registry::agencies(conn, None, 1000)
    })
    .await?)
}

async fn all_recommendations(state: &AppState) -> Result<Vec<RecommendationView>, ConsoleError> {
    let today = scrutiny::today();
    Ok(run(&state.pool, move |conn| {
        casework::recommendations(conn, None, today, None, MANY)
    })
    .await?)
}

fn recommendations_table(caption: &str, items: &[&RecommendationView], today: NaiveDate) -> Markup {
    let cal = crate::service::deadline::calendar();
    html! {
        table.el-table {
            caption.el-visually-hidden { (caption) }
            thead { tr { th scope="col" { "Recommendation" } th scope="col" { "About" } th scope="col" { "Response due" } th scope="col" { "Status" } } }
            tbody {
                @for r in items {
                    tr {
                        td { a href={ "/console/recommendations/" (r.id) } { "Recommendation " (short(&r.id)) } }
                        td { (about(r)) }
                        td {
                            (date_words(&r.response_due))
                            @if r.response.is_none() { ", " (due_words(&cal, today, &r.response_due)) }
                        }
                        td { (recommendation_tag(r.status)) }
                    }
                }
            }
        }
    }
}

// ---- the workspace ----

/// Open disputes on their policy's mediation rung, which the scrutineer may
/// take into mediation.
async fn awaiting_mediation(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<crate::service::console::Listed>, ConsoleError> {
    let visible = match authz::list_scope(&caller.actor) {
        ListScope::All => Visible::All,
        ListScope::PartyOf(a) => Visible::PartyOf(a),
        ListScope::ChiefOfficerRung => Visible::ChiefOfficerRungs,
        ListScope::Nothing => Visible::Nothing,
    };
    let q = ListQuery {
        status: Some(Status::Open),
        limit: MANY,
        ..Default::default()
    };
    let rows = run(&state.pool, move |conn| {
        crate::service::console::listed(conn, visible, q)
    })
    .await?;
    Ok(rows
        .into_iter()
        .filter(|l| l.policy.mediation_rung == Some(l.read.record.state.rung))
        .collect())
}

/// `GET /console/scrutiny`: mediations, reviews, the recommendations' board
/// in brief, and the whistleblowing look-up (each part as the caller may).
pub async fn workspace(state: web::Data<AppState>, caller: Caller) -> Answer {
    let mediations = run(&state.pool, |conn| casework::mediations(conn, None, MANY)).await?;
    let reviews = if caller.may("review.list") {
        run(&state.pool, |conn| casework::reviews(conn, None, MANY)).await?
    } else {
        Vec::new()
    };
    let recommendations = if caller.may("recommendation.list") {
        all_recommendations(&state).await?
    } else {
        Vec::new()
    };
    let waiting = if caller.may("mediation.open") {
        awaiting_mediation(&state, &caller).await?
    } else {
        Vec::new()
    };
    let agencies = agencies(&state).await?;
    let n = caller.nav();
    let count = |s: RecommendationStatus| recommendations.iter().filter(|r| r.status == s).count();
    let in_mediation: Vec<&str> = mediations
        .iter()
        .filter(|m| m.status == "open")
        .filter_map(|m| m.dispute_id.as_deref())
        .collect();
    let body = html! {
        h1.el-heading-l { "Scrutiny" }
        @if caller.may("mediation.open") || caller.may("recommendation.issue") {
            p.el-body {
                @if caller.may("mediation.open") {
                    a.el-button href="/console/scrutiny/mediations/new" { "Open a mediation" } " "
                }
                @if caller.may("recommendation.issue") {
                    a.el-button.el-button-secondary href="/console/recommendations/new" { "Issue a recommendation" }
                }
            }
        }
        @if caller.may("mediation.open") {
            h2.el-heading-m { "Disputes on the scrutineer’s rung" }
            @if waiting.is_empty() {
                p.el-body { "No dispute is on the scrutineer’s rung." }
            } @else {
                ul.el-list {
                    @for l in &waiting {
                        @let d = &l.read.record.state;
                        li {
                            a href={ "/console/disputes/" (d.id) } { "Dispute " (short(&d.id)) }
                            " between " (agency_names(&d.parties, &agencies)) ": "
                            @if in_mediation.contains(&d.id.as_str()) {
                                "in mediation"
                            } @else {
                                a href={ "/console/scrutiny/mediations/new?dispute=" (d.id) } { "open its mediation" span.el-visually-hidden { " (dispute " (short(&d.id)) ")" } }
                            }
                        }
                    }
                }
            }
        }
        h2.el-heading-m { "Mediations" }
        @if mediations.is_empty() {
            p.el-body { "No mediations yet." }
        } @else {
            table.el-table {
                caption.el-visually-hidden { "Mediations, oldest first" }
                thead { tr { th scope="col" { "Mediation" } th scope="col" { "About" } th scope="col" { "Agencies" } th scope="col" { "Sessions" } th scope="col" { "Status" } } }
                tbody {
                    @for m in &mediations {
                        tr {
                            td { a href={ "/console/scrutiny/mediations/" (m.id) } { "Mediation " (short(&m.id)) } }
                            td {
                                @match &m.dispute_id {
                                    Some(d) => { "Dispute " (short(d)) @if m.ladder { " (the ladder’s mediation)" } },
                                    None => { "Outside the ladder" },
                                }
                            }
                            td { (agency_names(&m.agencies, &agencies)) }
                            td { (m.sessions.len()) }
                            td { (mediation_tag(&m.status)) }
                        }
                    }
                }
            }
        }
        @if caller.may("review.list") {
            h2.el-heading-m { "Independent reviews" }
            @if reviews.is_empty() {
                p.el-body { "No reviews have been requested." }
            } @else {
                table.el-table {
                    caption.el-visually-hidden { "Independent reviews, oldest first" }
                    thead { tr { th scope="col" { "Review" } th scope="col" { "Dispute" } th scope="col" { "Requested" } th scope="col" { "Status" } } }
                    tbody {
                        @for r in &reviews {
                            tr {
                                td { a href={ "/console/scrutiny/reviews/" (r.id) } { "Review " (short(&r.id)) } }
                                td { "Dispute " (short(&r.dispute_id)) }
                                td { (time_words(&r.requested_at)) }
                                td { (review_tag(&r.status)) }
                            }
                        }
                    }
                }
            }
        }
        @if caller.may("recommendation.list") {
            h2.el-heading-m { "Recommendations to the SLG" }
            dl.el-summary-list {
                div.el-summary-row { dt { "Overdue" } dd { (count(RecommendationStatus::Overdue)) } }
                div.el-summary-row { dt { "Open" } dd { (count(RecommendationStatus::Open)) } }
                div.el-summary-row { dt { "Responded" } dd { (count(RecommendationStatus::Responded)) } }
            }
            p.el-body { a href="/console/recommendations" { "See the recommendations board" } }
        }
        @if caller.may("whistleblowing.identity") {
            h2.el-heading-m { "Whistleblowing identities" }
            p.el-body { "Only the independent scrutineer can see who raised a whistleblowing concern." }
            p.el-body { a href="/console/scrutiny/whistleblowing" { "Look up who is behind a pseudonym" } }
        }
    };
    Ok(page(StatusCode::OK, layout("Scrutiny", Some(&n), body)))
}

// ---- mediations ----

#[derive(Debug, Deserialize)]
pub struct NewMediationQuery {
    dispute: Option<String>,
}

/// What the mediation form holds.
#[derive(Debug, Clone, Default)]
struct MediationForm {
    dispute: String,
    agencies: Vec<String>,
    topic: String,
}

async fn mediation_form_page(
    state: &AppState,
    caller: &Caller,
    form: MediationForm,
    errors: Vec<FormError>,
    status: StatusCode,
) -> Answer {
    let agencies = agencies(state).await?;
    let disputes = awaiting_mediation(state, caller).await?;
    let n = caller.nav();
    let active: Vec<&Agency> = agencies.iter().filter(|a| a.retired_at.is_none()).collect();
    let agencies_err = error_for(&errors, "agencies");
    let dispute_err = error_for(&errors, "dispute");
    let body = html! {
        (error_summary(&errors))
        h1.el-heading-l { "Open a mediation" }
        form method="post" action="/console/scrutiny/mediations" novalidate {
            (csrf(&n.csrf))
            div.el-form-group.el-form-group-error[dispute_err.is_some()] {
                label.el-label for="dispute" { "Which dispute is it about?" }
                div.el-hint id="dispute-hint" { "A dispute on the scrutineer’s rung makes this the ladder’s mediation. Choose none for a mediation outside the ladder." }
                (inline_error(dispute_err))
                select.el-select id="dispute" name="dispute" aria-describedby="dispute-hint" {
                    option value="" selected[form.dispute.is_empty()] { "None: outside the ladder" }
                    @for l in &disputes {
                        @let d = &l.read.record.state;
                        option value=(d.id) selected[form.dispute == d.id] { "Dispute " (short(&d.id)) " between " (agency_names(&d.parties, &agencies)) }
                    }
                    @if !form.dispute.is_empty() && !disputes.iter().any(|l| l.read.record.state.id == form.dispute) {
                        option value=(form.dispute) selected { "Dispute " (short(&form.dispute)) }
                    }
                }
            }
            div.el-form-group.el-form-group-error[agencies_err.is_some()] {
                fieldset.el-fieldset aria-describedby=(if agencies_err.is_some() { "agencies-hint agencies-error" } else { "agencies-hint" }) {
                    legend.el-fieldset-legend { "Which agencies take part?" }
                    div.el-hint id="agencies-hint" { "Select at least two." }
                    (inline_error(agencies_err))
                    div.el-checkboxes {
                        @for (i, a) in active.iter().enumerate() {
                            @let id = if i == 0 { "agencies".to_string() } else { format!("agencies-{i}") };
                            div.el-checkbox {
                                input id=(id) type="checkbox" name="agencies" value=(a.id) checked[form.agencies.contains(&a.id)];
                                label for=(id) { (a.name) }
                            }
                        }
                    }
                }
            }
            (text_field("topic", "What is being mediated?", Some("Do not include names. You can ask for this text to be erased later."), &form.topic, &errors))
            button.el-button type="submit" { "Open the mediation" }
        }
    };
    Ok(page(
        status,
        layout(&titled("Open a mediation", &errors), Some(&n), body),
    ))
}

/// `GET /console/scrutiny/mediations/new`: `?dispute=` fills in the dispute
/// and its parties.
pub async fn mediation_form(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<NewMediationQuery>,
) -> Answer {
    let mut form = MediationForm::default();
    if let Some(id) = q.into_inner().dispute.filter(|d| !d.is_empty()) {
        let found = awaiting_mediation(&state, &caller).await?;
        if let Some(l) = found.iter().find(|l| l.read.record.state.id == id) {
            form.agencies = l.read.record.state.parties.clone();
        }
        form.dispute = id;
    }
    mediation_form_page(&state, &caller, form, Vec::new(), StatusCode::OK).await
}

/// `POST /console/scrutiny/mediations` (`casework::open_mediation`, as
/// `POST /v1/admin/mediations`).
pub async fn open_mediation(state: web::Data<AppState>, posted: Posted) -> Answer {
    let caller = posted.caller.clone();
    let form = MediationForm {
        dispute: posted.field("dispute").trim().to_string(),
        agencies: posted.all("agencies"),
        topic: posted.field("topic").to_string(),
    };
    let mut errors = Vec::new();
    if form.agencies.len() < 2 {
        errors.push(FormError::new(
            "agencies",
            "Select at least two agencies to take part",
        ));
    }
    if form.topic.trim().is_empty() {
        errors.push(FormError::new("topic", "Enter what is being mediated"));
    }
    let topic = match scrutiny::text("topic", &form.topic) {
        Ok(t) => Some(t),
        Err(e) if errors.is_empty() => {
            errors.push(FormError::new("topic", &AppError::from(e).to_string()));
            None
        }
        Err(_) => None,
    };
    let Some(topic) = topic.filter(|_| errors.is_empty()) else {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return mediation_form_page(&state, &caller, form, errors, status).await;
    };
    let actor = caller.actor.clone();
    let dispute = Some(form.dispute.clone()).filter(|d| !d.is_empty());
    let parties = form.agencies.clone();
    let done = write(&state, move |conn| {
        casework::open_mediation(conn, &actor, dispute, parties, json!({ "topic": topic }))
    })
    .await;
    match done {
        Ok(v) => {
            tracing::info!(mediation = %v.id, "mediation opened in the console");
            Ok(see_other(&format!(
                "/console/scrutiny/mediations/{}?done=opened",
                v.id
            )))
        }
        Err(AppError::NotFound(_)) if !form.dispute.is_empty() => {
            let errors = vec![FormError::new("dispute", "There is no such dispute")];
            let status = StatusCode::NOT_FOUND;
            mediation_form_page(&state, &caller, form, errors, status).await
        }
        Err(e) => {
            let field = match &e {
                AppError::Conflict(_) => "dispute",
                _ => "agencies",
            };
            let (status, errors) = refusal(e, field)?;
            mediation_form_page(&state, &caller, form, errors, status).await
        }
    }
}

/// What the session and outcome forms hold.
#[derive(Debug, Clone, Default)]
struct SessionForm {
    date: DateParts,
    attendees: Vec<String>,
    notes: String,
    outcome: String,
}

/// The attendee value for the scrutineer (agencies are their registry ids).
const SCRUTINEER: &str = "scrutineer";

async fn mediation_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    done: Option<String>,
    form: SessionForm,
    errors: Vec<FormError>,
    status: StatusCode,
) -> Answer {
    let m: MediationView = run(&state.pool, move |conn| casework::mediation(conn, &id)).await?;
    let agencies = agencies(state).await?;
    let n = caller.nav();
    let open = m.status == "open";
    let date = if form.date.day.is_empty() && form.date.month.is_empty() {
        DateParts::of(scrutiny::today())
    } else {
        form.date.clone()
    };
    let attendees_err = error_for(&errors, "attendees");
    let title = format!("Mediation {}", short(&m.id));
    let body = html! {
        (error_summary(&errors))
        (banner(done.as_deref()))
        span.el-caption-l { "Mediation" }
        h1.el-heading-l { (title) " " (mediation_tag(&m.status)) }
        dl.el-summary-list {
            div.el-summary-row { dt { "Status" } dd { (mediation_tag(&m.status)) } }
            div.el-summary-row { dt { "About" } dd {
                @match &m.dispute_id {
                    Some(d) => { a href={ "/console/disputes/" (d) } { "Dispute " (short(d)) } @if m.ladder { " (the ladder’s mediation on the scrutineer’s rung)" } @else { " (outside the ladder)" } },
                    None => { "Outside the ladder" },
                }
            } }
            div.el-summary-row { dt { "Agencies" } dd { (agency_names(&m.agencies, &agencies)) } }
            div.el-summary-row { dt { "Topic" } dd { (m.topic.clone().unwrap_or_else(|| "(erased)".into())) } }
            div.el-summary-row { dt { "Opened" } dd { (time_words(&m.opened_at)) " (London time), ledger entry " (m.opened_seq) } }
            @if let Some(seq) = m.closed_seq {
                div.el-summary-row { dt { "Outcome" } dd { (m.outcome.clone().unwrap_or_else(|| "(erased)".into())) " (ledger entry " (seq) ")" } }
            }
        }
        h2.el-heading-m { "Sessions" }
        @if m.sessions.is_empty() {
            p.el-body { "No session has been recorded yet." }
        } @else {
            ol.el-timeline {
                @for s in &m.sessions {
                    li.el-timeline-item {
                        h3.el-heading-s { "Session on " (date_words(&s.date)) }
                        p.el-body-s { "Attended by: " (s.attendees.iter().map(|a| match &a.agency { Some(id) => agency_names(std::slice::from_ref(id), &agencies), None => role_words(a.role).to_string() }).collect::<Vec<_>>().join(", ")) }
                        @if let Some(t) = &s.notes { p.el-body.el-quote { (t) } }
                        p.el-body-s { "Ledger entry " (s.seq) }
                    }
                }
            }
        }
        @if open && caller.may("mediation.session") {
            h2.el-heading-m { "Record a session" }
            form method="post" action={ "/console/scrutiny/mediations/" (m.id) "/sessions" } novalidate {
                (csrf(&n.csrf))
                (date_field("date", "When was the session held?", "For example, 27 11 2026. Not a date in the future.", &date, &errors))
                div.el-form-group.el-form-group-error[attendees_err.is_some()] {
                    fieldset.el-fieldset aria-describedby=[attendees_err.map(|_| "attendees-error")] {
                        legend.el-fieldset-legend { "Who attended?" }
                        (inline_error(attendees_err))
                        div.el-checkboxes {
                            div.el-checkbox {
                                input id="attendees" type="checkbox" name="attendees" value=(SCRUTINEER) checked[form.attendees.iter().any(|a| a == SCRUTINEER)];
                                label for="attendees" { "The independent scrutineer" }
                            }
                            @for (i, a) in m.agencies.iter().enumerate() {
                                @let id = format!("attendees-{i}");
                                div.el-checkbox {
                                    input id=(id) type="checkbox" name="attendees" value=(a) checked[form.attendees.contains(a)];
                                    label for=(id) { (agency_names(std::slice::from_ref(a), &agencies)) }
                                }
                            }
                        }
                    }
                }
                (text_field("notes", "Notes of the session", Some("Do not include names. You can ask for this text to be erased later."), &form.notes, &errors))
                button.el-button type="submit" { "Record the session" }
            }
        }
        @if open && caller.may("mediation.close") {
            h2.el-heading-m { "Record the outcome" }
            @if m.ladder {
                @if let Some(d) = &m.dispute_id {
                    p.el-body { "The outcome of the ladder’s mediation is put forward as the scrutineer’s rung’s proposal: " a href={ "/console/disputes/" (d) } { "propose it on the dispute’s page" } " first, then record it here. This closes the mediation." }
                }
            } @else {
                p.el-body { "Recording the outcome closes the mediation. At least one session must be recorded first." }
            }
            form method="post" action={ "/console/scrutiny/mediations/" (m.id) "/close" } novalidate {
                (csrf(&n.csrf))
                (text_field("outcome", "What was the outcome?", None, &form.outcome, &errors))
                button.el-button.el-button-warning type="submit" { "Record the outcome and close" }
            }
        }
        p.el-body { a href="/console/scrutiny" { "Back to the scrutiny workspace" } }
    };
    Ok(page(
        status,
        layout(&titled(&title, &errors), Some(&n), body),
    ))
}

/// `GET /console/scrutiny/mediations/{id}`.
pub async fn mediation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Answer {
    let done = q.into_inner().done;
    let form = SessionForm::default();
    mediation_page(
        &state,
        &caller,
        id.into_inner(),
        done,
        form,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /console/scrutiny/mediations/{id}/sessions` (`casework::record_session`).
pub async fn record_session(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Answer {
    let id = id.into_inner();
    let caller = posted.caller.clone();
    let form = SessionForm {
        date: DateParts::posted(&posted, "date"),
        attendees: posted.all("attendees"),
        notes: posted.field("notes").to_string(),
        outcome: String::new(),
    };
    let mut errors = Vec::new();
    let date = form.date.iso();
    if date.is_none() {
        errors.push(FormError::new(
            "date",
            "Enter the date the session was held, as a real date with a day, month and 4-digit year",
        ));
    }
    if form.attendees.is_empty() {
        errors.push(FormError::new("attendees", "Select who attended"));
    }
    if form.notes.trim().is_empty() {
        errors.push(FormError::new("notes", "Enter the notes of the session"));
    }
    let checked = match (date, scrutiny::text("notes", &form.notes)) {
        (Some(d), Ok(notes)) if errors.is_empty() => scrutiny::parse_date("date", &d)
            .map(|d| (d, notes))
            .map_err(|e| FormError::new("date", &AppError::from(e).to_string())),
        (_, Err(e)) if errors.is_empty() => {
            Err(FormError::new("notes", &AppError::from(e).to_string()))
        }
        _ => Err(FormError::new("date", "")),
    };
    let (date, notes) = match checked {
        Ok(v) => v,
        Err(e) => {
            if errors.is_empty() {
                errors.push(e);
            }
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return mediation_page(&state, &caller, id, None, form, errors, status).await;
        }
    };
    let attendees: Vec<Attendee> = form
        .attendees
        .iter()
        .map(|a| {
            if a == SCRUTINEER {
                Attendee {
                    role: Role::Scrutineer,
                    agency: None,
                }
            } else {
                Attendee {
                    role: Role::Agency,
                    agency: Some(a.clone()),
                }
            }
        })
        .collect();
    let actor = caller.actor.clone();
    let target = id.clone();
    let done = write(&state, move |conn| {
        casework::record_session(
            conn,
            &actor,
            &target,
            date,
            attendees,
            json!({ "notes": notes }),
        )
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!(
            "/console/scrutiny/mediations/{id}?done=session"
        ))),
        Err(e) => {
            let field = match &e {
                AppError::Unprocessable(m) if m.contains("attendees") => "attendees",
                AppError::Unprocessable(m) if m.contains("date") => "date",
                _ => "notes",
            };
            let (status, errors) = refusal(e, field)?;
            mediation_page(&state, &caller, id, None, form, errors, status).await
        }
    }
}

/// `POST /console/scrutiny/mediations/{id}/close` (`casework::close_mediation`).
pub async fn close_mediation(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Answer {
    let id = id.into_inner();
    let caller = posted.caller.clone();
    let form = SessionForm {
        outcome: posted.field("outcome").to_string(),
        ..Default::default()
    };
    let outcome = if form.outcome.trim().is_empty() {
        Err(FormError::new(
            "outcome",
            "Enter the outcome of the mediation",
        ))
    } else {
        scrutiny::text("outcome", &form.outcome)
            .map_err(|e| FormError::new("outcome", &AppError::from(e).to_string()))
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return mediation_page(&state, &caller, id, None, form, vec![e], status).await;
        }
    };
    let actor = caller.actor.clone();
    let target = id.clone();
    let done = write(&state, move |conn| {
        casework::close_mediation(conn, &actor, &target, json!({ "outcome": outcome }))
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!(
            "/console/scrutiny/mediations/{id}?done=closed"
        ))),
        Err(e) => {
            let (status, errors) = refusal(e, "outcome")?;
            mediation_page(&state, &caller, id, None, form, errors, status).await
        }
    }
}

// ---- independent reviews ----

async fn review_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    done: Option<String>,
    typed: (String, String),
    errors: Vec<FormError>,
    status: StatusCode,
) -> Answer {
    let r: ReviewView = run(&state.pool, move |conn| casework::review(conn, &id)).await?;
    let n = caller.nav();
    let title = format!("Review {}", short(&r.id));
    let body = html! {
        (error_summary(&errors))
        (banner(done.as_deref()))
        span.el-caption-l { "Independent review" }
        h1.el-heading-l { (title) " " (review_tag(&r.status)) }
        dl.el-summary-list {
            div.el-summary-row { dt { "Status" } dd { (review_tag(&r.status)) } }
            div.el-summary-row { dt { "Dispute" } dd { a href={ "/console/disputes/" (r.dispute_id) } { "Dispute " (short(&r.dispute_id)) } } }
            div.el-summary-row { dt { "Requested by" } dd {
                @match &r.requested_by.agency { Some(a) => { (a) }, None => { "The partnership team" } }
                @if r.on_behalf_of_child_or_family { " on behalf of the child or family" }
            } }
            div.el-summary-row { dt { "Requested" } dd { (time_words(&r.requested_at)) " (London time), ledger entry " (r.requested_seq) } }
            div.el-summary-row { dt { "Concern" } dd { (r.concern.clone().unwrap_or_else(|| "(erased)".into())) } }
            @if let Some(seq) = r.decided_seq {
                div.el-summary-row { dt { "Why it was accepted or declined" } dd { (r.decision_reason.clone().unwrap_or_else(|| "(erased)".into())) " (ledger entry " (seq) ")" } }
            }
            @if let Some(seq) = r.findings_seq {
                div.el-summary-row { dt { "Findings" } dd { (r.findings.clone().unwrap_or_else(|| "(erased)".into())) " (ledger entry " (seq) ")" } }
            }
        }
        @if r.status == "requested" && (caller.may("review.accept") || caller.may("review.decline")) {
            h2.el-heading-m { "Accept or decline the review" }
            form method="post" action={ "/console/scrutiny/reviews/" (r.id) "/accept" } novalidate {
                (csrf(&n.csrf))
                (text_field("reason", "Why do you accept or decline it?", Some("The requester will be told your decision."), &typed.0, &errors))
                @if caller.may("review.accept") {
                    button.el-button type="submit" { "Accept the review" } " "
                }
                @if caller.may("review.decline") {
                    button.el-button.el-button-secondary type="submit" formaction={ "/console/scrutiny/reviews/" (r.id) "/decline" } { "Decline the review" }
                }
            }
        }
        @if r.status == "accepted" && caller.may("review.findings") {
            h2.el-heading-m { "Record the findings" }
            form method="post" action={ "/console/scrutiny/reviews/" (r.id) "/findings" } novalidate {
                (csrf(&n.csrf))
                (text_field("findings", "What are your findings?", Some("Recording the findings closes the review."), &typed.1, &errors))
                button.el-button type="submit" { "Record the findings" }
            }
        }
        p.el-body { a href="/console/scrutiny" { "Back to the scrutiny workspace" } }
    };
    Ok(page(
        status,
        layout(&titled(&title, &errors), Some(&n), body),
    ))
}

/// `GET /console/scrutiny/reviews/{id}`.
pub async fn review(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Answer {
    let done = q.into_inner().done;
    let typed = (String::new(), String::new());
    review_page(
        &state,
        &caller,
        id.into_inner(),
        done,
        typed,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// One step on a review (`casework::review_step`, as the API's review routes).
async fn review_step(
    state: web::Data<AppState>,
    posted: Posted,
    id: String,
    event: ScrutinyEvent,
) -> Answer {
    let caller = posted.caller.clone();
    let (field, key, empty, done): (&'static str, &str, &str, &str) = match event {
        ScrutinyEvent::ReviewFindingsRecorded => {
            ("findings", "findings", "Enter your findings", "findings")
        }
        ScrutinyEvent::ReviewAccepted => (
            "reason",
            "reason",
            "Enter why you accept the review",
            "accepted",
        ),
        _ => (
            "reason",
            "reason",
            "Enter why you decline the review",
            "declined",
        ),
    };
    let value = posted.field(field).to_string();
    let typed = if field == "findings" {
        (String::new(), value.clone())
    } else {
        (value.clone(), String::new())
    };
    let checked = if value.trim().is_empty() {
        Err(FormError::new(field, empty))
    } else {
        scrutiny::text(key, &value)
            .map_err(|e| FormError::new(field, &AppError::from(e).to_string()))
    };
    let text = match checked {
        Ok(t) => t,
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return review_page(&state, &caller, id, None, typed, vec![e], status).await;
        }
    };
    let actor = caller.actor.clone();
    let target = id.clone();
    let mut payload = json!({});
    payload[key] = Value::String(text);
    let result = write(&state, move |conn| {
        casework::review_step(conn, &actor, &target, event, payload)
    })
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/console/scrutiny/reviews/{id}?done={done}"
        ))),
        Err(e) => {
            let (status, errors) = refusal(e, field)?;
            review_page(&state, &caller, id, None, typed, errors, status).await
        }
    }
}

pub async fn accept_review(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Answer {
    review_step(
        state,
        posted,
        id.into_inner(),
        ScrutinyEvent::ReviewAccepted,
    )
    .await
}

pub async fn decline_review(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Answer {
    review_step(
        state,
        posted,
        id.into_inner(),
        ScrutinyEvent::ReviewDeclined,
    )
    .await
}

pub async fn record_findings(
    state: web::Data<AppState>,
    posted: Posted,
    id: web::Path<String>,
) -> Answer {
    let event = ScrutinyEvent::ReviewFindingsRecorded;
    review_step(state, posted, id.into_inner(), event).await
}

// ---- whistleblowing ----

#[derive(Debug, Deserialize)]
pub struct PseudonymQuery {
    pseudonym: Option<String>,
}

/// `GET /console/scrutiny/whistleblowing?pseudonym=wb-…`: who is behind a
/// pseudonym (`service::whistleblowing::identity`, as the API's
/// `GET /v1/admin/whistleblowing/{pseudonym}`: the scrutineer only).
pub async fn whistleblowing(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<PseudonymQuery>,
) -> Answer {
    let asked = q.into_inner().pseudonym.map(|p| p.trim().to_string());
    let n = caller.nav();
    let mut errors = Vec::new();
    let mut found = None;
    match asked.as_deref() {
        None => {}
        Some("") => errors.push(FormError::new(
            "pseudonym",
            "Enter the pseudonym a dispute shows as its raiser",
        )),
        Some(p) => {
            let key = p.to_string();
            let row = run(&state.pool, move |conn| {
                crate::service::whistleblowing::identity(conn, &key)
            })
            .await?;
            match row {
                Some(r) => found = Some(r),
                None => errors.push(FormError::new(
                    "pseudonym",
                    "No whistleblowing concern was raised under that pseudonym",
                )),
            }
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else if asked.as_deref() == Some("") {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::NOT_FOUND
    };
    let err = error_for(&errors, "pseudonym");
    let body = html! {
        (error_summary(&errors))
        h1.el-heading-l { "Whistleblowing identities" }
        p.el-body { "A whistleblowing concern shows a pseudonym, such as wb-3f2a…, wherever it names who raised it. Only you, the independent scrutineer, can see who is behind it. Do not pass it on unless the partnership’s whistleblowing procedure says so." }
        form method="get" action="/console/scrutiny/whistleblowing" novalidate {
            div.el-form-group.el-form-group-error[err.is_some()] {
                label.el-label for="pseudonym" { "Pseudonym" }
                (inline_error(err))
                input class={ "el-input el-input-width-20" @if err.is_some() { " el-input-error" } } id="pseudonym" name="pseudonym" type="text" spellcheck="false" value=(asked.clone().unwrap_or_default()) aria-describedby=[err.map(|_| "pseudonym-error")];
            }
            button.el-button type="submit" { "Look up" }
        }
        @if let Some(r) = &found {
            h2.el-heading-m { "Who raised it" }
            dl.el-summary-list {
                div.el-summary-row { dt { "Pseudonym" } dd { (r.pseudonym) } }
                div.el-summary-row { dt { "Signed in as" } dd { (r.sub) } }
                div.el-summary-row { dt { "Agency" } dd { (r.agency.clone().unwrap_or_else(|| "None".into())) } }
                div.el-summary-row { dt { "First recorded" } dd { (crate::http::console::pages::london_time(&r.created_at)) " (London time)" } }
            }
        }
        p.el-body { a href="/console/scrutiny" { "Back to the scrutiny workspace" } }
    };
    Ok(page(
        status,
        layout(
            &titled("Whistleblowing identities", &errors),
            Some(&n),
            body,
        ),
    ))
}

// ---- recommendations ----

/// `GET /console/recommendations`: the board, overdue first.
pub async fn recommendations(state: web::Data<AppState>, caller: Caller) -> Answer {
    let all = all_recommendations(&state).await?;
    let today = scrutiny::today();
    let n = caller.nav();
    let of = |s: RecommendationStatus| -> Vec<&RecommendationView> {
        all.iter().filter(|r| r.status == s).collect()
    };
    let columns = [
        ("Overdue", "overdue", of(RecommendationStatus::Overdue)),
        ("Open", "open", of(RecommendationStatus::Open)),
        (
            "Responded",
            "responded",
            of(RecommendationStatus::Responded),
        ),
    ];
    let body = html! {
        h1.el-heading-l { "Recommendations to the SLG" }
        p.el-body { "Response dates are London dates. A recommendation is overdue once its response date has passed without a response." }
        @if caller.may("recommendation.issue") {
            p.el-body { a.el-button.el-button-secondary href="/console/recommendations/new" { "Issue a recommendation" } }
        }
        @for (heading, id, items) in &columns {
            h2.el-heading-m id=(id) { (heading) " (" (items.len()) ")" }
            @if items.is_empty() {
                p.el-body { "None." }
            } @else {
                (recommendations_table(&format!("{heading} recommendations"), items, today))
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout("Recommendations", Some(&n), body),
    ))
}

/// The recommendations awaiting the SLG's response, for the SLG's home page
/// (`None` when there are none).
pub async fn waiting_for_response(
    state: &AppState,
    caller: &Caller,
) -> Result<Option<Markup>, ConsoleError> {
    if !caller.may("recommendation.respond") || !caller.may("recommendation.list") {
        return Ok(None);
    }
    let all = all_recommendations(state).await?;
    let mut waiting: Vec<&RecommendationView> =
        all.iter().filter(|r| r.response.is_none()).collect();
    if waiting.is_empty() {
        return Ok(None);
    }
    waiting.sort_by(|a, b| a.response_due.cmp(&b.response_due));
    let today = scrutiny::today();
    Ok(Some(html! {
        h2.el-heading-m { "Recommendations waiting for your response" }
        (recommendations_table("Recommendations waiting for your response, soonest due first", &waiting, today))
        p.el-body { a href="/console/recommendations" { "See every recommendation" } }
    }))
}

/// What the issuing form holds.
#[derive(Debug, Clone, Default)]
struct IssueForm {
    dispute: String,
    theme: String,
    text: String,
    due: DateParts,
}

async fn issue_page(
    state: &AppState,
    caller: &Caller,
    form: IssueForm,
    errors: Vec<FormError>,
    status: StatusCode,
) -> Answer {
    let n = caller.nav();
    let visible = match authz::list_scope(&caller.actor) {
        ListScope::All => Visible::All,
        ListScope::PartyOf(a) => Visible::PartyOf(a),
        ListScope::ChiefOfficerRung => Visible::ChiefOfficerRungs,
        ListScope::Nothing => Visible::Nothing,
    };
    let q = ListQuery {
        limit: MANY,
        ..Default::default()
    };
    let disputes = run(&state.pool, move |conn| {
        crate::service::console::listed(conn, visible, q)
    })
    .await?;
    let dispute_err = error_for(&errors, "dispute");
    let theme_err = error_for(&errors, "theme");
    let body = html! {
        (error_summary(&errors))
        h1.el-heading-l { "Issue a recommendation to the SLG" }
        form method="post" action="/console/recommendations" novalidate {
            (csrf(&n.csrf))
            div.el-form-group.el-form-group-error[dispute_err.is_some()] {
                label.el-label for="dispute" { "The dispute it arises from" }
                div.el-hint id="dispute-hint" { "Choose a dispute, or leave this as none and name a theme below." }
                (inline_error(dispute_err))
                select.el-select id="dispute" name="dispute" aria-describedby="dispute-hint" {
                    option value="" selected[form.dispute.is_empty()] { "None: a theme" }
                    @for l in &disputes {
                        @let d = &l.read.record.state;
                        option value=(d.id) selected[form.dispute == d.id] { "Dispute " (short(&d.id)) " (" (rung_words(d.rung.as_str())) ")" }
                    }
                }
            }
            div.el-form-group.el-form-group-error[theme_err.is_some()] {
                label.el-label for="theme" { "Or the theme it addresses" }
                div.el-hint id="theme-hint" { "For example: thresholds for strategy meetings. Do not include names." }
                (inline_error(theme_err))
                input class={ "el-input" @if theme_err.is_some() { " el-input-error" } } id="theme" name="theme" type="text" value=(form.theme) aria-describedby=(if theme_err.is_some() { "theme-hint theme-error" } else { "theme-hint" });
            }
            (text_field("text", "The recommendation", Some("What the SLG should do. Do not include names."), &form.text, &errors))
            (date_field("due", "When is the SLG’s response due?", "A London date, today or later. For example, 15 1 2027.", &form.due, &errors))
            button.el-button type="submit" { "Issue the recommendation" }
        }
    };
    Ok(page(
        status,
        layout(&titled("Issue a recommendation", &errors), Some(&n), body),
    ))
}

/// `GET /console/recommendations/new`.
pub async fn issue_form(state: web::Data<AppState>, caller: Caller) -> Answer {
    issue_page(
        &state,
        &caller,
        IssueForm::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /console/recommendations` (`casework::issue_recommendation`, as
/// `POST /v1/admin/recommendations`).
pub async fn issue(state: web::Data<AppState>, posted: Posted) -> Answer {
    let caller = posted.caller.clone();
    let form = IssueForm {
        dispute: posted.field("dispute").trim().to_string(),
        theme: posted.field("theme").to_string(),
        text: posted.field("text").to_string(),
        due: DateParts::posted(&posted, "due"),
    };
    let mut errors = Vec::new();
    let theme = form.theme.trim();
    match (form.dispute.is_empty(), theme.is_empty()) {
        (true, true) => errors.push(FormError::new(
            "dispute",
            "Choose the dispute it arises from, or enter the theme it addresses",
        )),
        (false, false) => errors.push(FormError::new(
            "theme",
            "Leave the theme empty when you choose a dispute",
        )),
        _ => {}
    }
    if form.text.trim().is_empty() {
        errors.push(FormError::new("text", "Enter the recommendation"));
    }
    let due = form.due.iso();
    if due.is_none() {
        errors.push(FormError::new(
            "due",
            "Enter the date the response is due, as a real date with a day, month and 4-digit year",
        ));
    }
    let mut payload = json!({});
    if errors.is_empty() {
        match scrutiny::text("text", &form.text) {
            Ok(t) => payload["text"] = Value::String(t),
            Err(e) => errors.push(FormError::new("text", &AppError::from(e).to_string())),
        }
        if !theme.is_empty() {
            match scrutiny::text("theme", theme) {
                Ok(t) => payload["theme"] = Value::String(t),
                Err(e) => errors.push(FormError::new("theme", &AppError::from(e).to_string())),
            }
        }
    }
    let due = match due.map(|d| scrutiny::parse_date("response_due", &d)) {
        Some(Ok(d)) if errors.is_empty() => d,
        Some(Err(e)) if errors.is_empty() => {
            let errors = vec![FormError::new("due", &AppError::from(e).to_string())];
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return issue_page(&state, &caller, form, errors, status).await;
        }
        _ => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return issue_page(&state, &caller, form, errors, status).await;
        }
    };
    let actor = caller.actor.clone();
    let dispute = Some(form.dispute.clone()).filter(|d| !d.is_empty());
    let done = write(&state, move |conn| {
        casework::issue_recommendation(conn, &actor, dispute, due, payload)
    })
    .await;
    match done {
        Ok(v) => Ok(see_other(&format!(
            "/console/recommendations/{}?done=issued",
            v.id
        ))),
        Err(AppError::NotFound(_)) => {
            let errors = vec![FormError::new("dispute", "There is no such dispute")];
            issue_page(&state, &caller, form, errors, StatusCode::NOT_FOUND).await
        }
        Err(e) => {
            let field = match &e {
                AppError::Unprocessable(m) if m.contains("response_due") => "due",
                _ => "text",
            };
            let (status, errors) = refusal(e, field)?;
            issue_page(&state, &caller, form, errors, status).await
        }
    }
}

/// What the response form holds.
#[derive(Debug, Clone, Default)]
struct ResponseForm {
    accepted: String,
    actions: String,
    reasons: String,
}

async fn recommendation_page(
    state: &AppState,
    caller: &Caller,
    id: String,
    done: Option<String>,
    form: ResponseForm,
    errors: Vec<FormError>,
    status: StatusCode,
) -> Answer {
    let r: RecommendationView =
        run(&state.pool, move |conn| casework::recommendation(conn, &id)).await?;
    let n = caller.nav();
    let cal = crate::service::deadline::calendar();
    let today = scrutiny::today();
    let title = format!("Recommendation {}", short(&r.id));
    let accepted_err = error_for(&errors, "accepted");
    let body = html! {
        (error_summary(&errors))
        (banner(done.as_deref()))
        span.el-caption-l { "Recommendation to the SLG" }
        h1.el-heading-l { (title) " " (recommendation_tag(r.status)) }
        dl.el-summary-list {
            div.el-summary-row { dt { "Status" } dd { (recommendation_tag(r.status)) } }
            div.el-summary-row { dt { "About" } dd { (about(&r)) } }
            div.el-summary-row { dt { "Recommendation" } dd { (r.text.clone().unwrap_or_else(|| "(erased)".into())) } }
            div.el-summary-row { dt { "Issued" } dd { (time_words(&r.issued_at)) " (London time), ledger entry " (r.issued_seq) } }
            div.el-summary-row { dt { "Response due" } dd {
                (date_words(&r.response_due))
                @if r.response.is_none() {
                    ", "
                    @if r.status == RecommendationStatus::Overdue {
                        strong.el-tag.el-tag-red { (due_words(&cal, today, &r.response_due)) }
                    } @else {
                        (due_words(&cal, today, &r.response_due))
                    }
                }
            } }
            @if let Some(resp) = &r.response {
                div.el-summary-row { dt { "The SLG’s response" } dd {
                    @if resp.accepted { "Accepted. Actions: " (resp.actions.clone().unwrap_or_else(|| "(erased)".into())) }
                    @else { "Not accepted. Reasons: " (resp.reasons.clone().unwrap_or_else(|| "(erased)".into())) }
                    " (ledger entry " (resp.seq) ")"
                } }
            }
        }
        @if r.response.is_none() && caller.may("recommendation.respond") {
            h2.el-heading-m { "Record the SLG’s response" }
            form method="post" action={ "/console/recommendations/" (r.id) "/response" } novalidate {
                (csrf(&n.csrf))
                div.el-form-group.el-form-group-error[accepted_err.is_some()] {
                    fieldset.el-fieldset aria-describedby=[accepted_err.map(|_| "accepted-error")] {
                        legend.el-fieldset-legend { "Does the SLG accept the recommendation?" }
                        (inline_error(accepted_err))
                        div.el-checkboxes {
                            div.el-checkbox {
                                input id="accepted" type="radio" name="accepted" value="yes" checked[form.accepted == "yes"];
                                label for="accepted" { "Yes: the SLG accepts it" }
                            }
                            div.el-checkbox {
                                input id="accepted-no" type="radio" name="accepted" value="no" checked[form.accepted == "no"];
                                label for="accepted-no" { "No: the SLG does not accept it" }
                            }
                        }
                    }
                }
                (text_field("actions", "If you accept it: the actions the SLG commits to", None, &form.actions, &errors))
                (text_field("reasons", "If you do not accept it: why", None, &form.reasons, &errors))
                button.el-button type="submit" { "Record the response" }
            }
        }
        p.el-body { a href="/console/recommendations" { "Back to the recommendations" } }
    };
    Ok(page(
        status,
        layout(&titled(&title, &errors), Some(&n), body),
    ))
}

/// `GET /console/recommendations/{id}`.
pub async fn recommendation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<DoneQuery>,
) -> Answer {
    let done = q.into_inner().done;
    recommendation_page(
        &state,
        &caller,
        id.into_inner(),
        done,
        ResponseForm::default(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// `POST /console/recommendations/{id}/response` (`casework::respond`, as
/// `POST /v1/admin/recommendations/{id}/response`: the SLG only).
pub async fn respond(state: web::Data<AppState>, posted: Posted, id: web::Path<String>) -> Answer {
    let id = id.into_inner();
    let caller = posted.caller.clone();
    let form = ResponseForm {
        accepted: posted.field("accepted").to_string(),
        actions: posted.field("actions").to_string(),
        reasons: posted.field("reasons").to_string(),
    };
    let (actions, reasons) = (form.actions.trim(), form.reasons.trim());
    let checked: Result<(bool, Value), FormError> = match form.accepted.as_str() {
        "yes" if actions.is_empty() => Err(FormError::new(
            "actions",
            "Enter the actions the SLG commits to",
        )),
        "yes" if !reasons.is_empty() => Err(FormError::new(
            "reasons",
            "Leave the reasons empty when the SLG accepts the recommendation",
        )),
        "yes" => scrutiny::text("actions", actions)
            .map(|a| (true, json!({ "actions": a })))
            .map_err(|e| FormError::new("actions", &AppError::from(e).to_string())),
        "no" if reasons.is_empty() => Err(FormError::new(
            "reasons",
            "Enter why the SLG does not accept the recommendation",
        )),
        "no" if !actions.is_empty() => Err(FormError::new(
            "actions",
            "Leave the actions empty when the SLG does not accept the recommendation",
        )),
        "no" => scrutiny::text("reasons", reasons)
            .map(|r| (false, json!({ "reasons": r })))
            .map_err(|e| FormError::new("reasons", &AppError::from(e).to_string())),
        _ => Err(FormError::new(
            "accepted",
            "Select whether the SLG accepts the recommendation",
        )),
    };
    let (accepted, payload) = match checked {
        Ok(v) => v,
        Err(e) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return recommendation_page(&state, &caller, id, None, form, vec![e], status).await;
        }
    };
    let actor = caller.actor.clone();
    let target = id.clone();
    let done = write(&state, move |conn| {
        casework::respond(conn, &actor, &target, accepted, payload)
    })
    .await;
    match done {
        Ok(_) => Ok(see_other(&format!(
            "/console/recommendations/{id}?done=responded"
        ))),
        Err(e) => {
            let (status, errors) = refusal(e, "accepted")?;
            recommendation_page(&state, &caller, id, None, form, errors, status).await
        }
    }
}

/// Mount the pages (called from [`crate::http::console::routes`]); each has
/// its row in `authz::CONSOLE_ROUTES`. `…/new` before `…/{id}`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/scrutiny", web::get().to(workspace))
        .route(
            "/console/scrutiny/mediations/new",
            web::get().to(mediation_form),
        )
        .route(
            "/console/scrutiny/mediations",
            web::post().to(open_mediation),
        )
        .route(
            "/console/scrutiny/mediations/{id}",
            web::get().to(mediation),
        )
        .route(
            "/console/scrutiny/mediations/{id}/sessions",
            web::post().to(record_session),
        )
        .route(
            "/console/scrutiny/mediations/{id}/close",
            web::post().to(close_mediation),
        )
        .route("/console/scrutiny/reviews/{id}", web::get().to(review))
        .route(
            "/console/scrutiny/reviews/{id}/accept",
            web::post().to(accept_review),
        )
        .route(
            "/console/scrutiny/reviews/{id}/decline",
            web::post().to(decline_review),
        )
        .route(
            "/console/scrutiny/reviews/{id}/findings",
            web::post().to(record_findings),
        )
        .route(
            "/console/scrutiny/whistleblowing",
            web::get().to(whistleblowing),
        )
        .route("/console/recommendations", web::get().to(recommendations))
        .route("/console/recommendations", web::post().to(issue))
        .route("/console/recommendations/new", web::get().to(issue_form))
        .route(
            "/console/recommendations/{id}",
            web::get().to(recommendation),
        )
        .route(
            "/console/recommendations/{id}/response",
            web::post().to(respond),
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_input_makes_a_real_date_or_none() {
        let d = |day: &str, month: &str, year: &str| DateParts {
            day: day.into(),
            month: month.into(),
            year: year.into(),
        };
        assert_eq!(d("7", "1", "2027").iso().as_deref(), Some("2027-01-07"));
        assert_eq!(d("07", "01", "2027").iso().as_deref(), Some("2027-01-07"));
        for bad in [
            d("31", "11", "2026"),
            d("", "1", "2027"),
            d("1", "13", "2027"),
            d("1", "1", "27"),
            d("x", "1", "2027"),
        ] {
            assert_eq!(bad.iso(), None, "{bad:?}");
        }
    }

    #[test]
    fn due_words_count_working_days() {
        let cal = Calendar::default_england();
        // Tuesday 1 December 2026.
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(due_words(&cal, today, "2026-12-01"), "due today");
        assert_eq!(due_words(&cal, today, "2026-12-02"), "1 working day left");
        assert_eq!(due_words(&cal, today, "2026-12-04"), "3 working days left");
        // Over a weekend: Friday 27 November is 2 working days before.
        assert_eq!(
            due_words(&cal, today, "2026-11-27"),
            "overdue by 2 working days"
        );
    }
}
