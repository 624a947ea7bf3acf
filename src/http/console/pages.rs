//! The console's pages as [`maud`] templates: HTML checked at compile time and
//! escaped by default. The patterns are the GOV.UK Design System's (error
//! summary and inline errors, summary lists, tags, notification banners, a
//! visible focus state), drawn by our own stylesheet, `style.css`. No script.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

use crate::core::calendar::{self, Calendar};
use crate::core::ladder::{Role, Status};
use crate::core::registry::Agency;
use crate::service::console::{DisputePage as Loaded, Options, Proof};
use crate::service::disputes::DisputeRead;

/// The stylesheet, in the binary.
pub const STYLE: &str = include_str!("style.css");

/// The signed-in caller, as the header shows them.
#[derive(Debug, Clone)]
pub struct Nav {
    pub sub: String,
    pub role: Role,
    pub agency: Option<String>,
    pub csrf: String,
    pub may_raise: bool,
    /// May read the ledger (`ledger.entries`): the auditor's pages.
    pub may_ledger: bool,
    /// May read the annual report's figures (`report.escalations`).
    pub may_report: bool,
    /// The partnership team's pages (`console::admin`): shown to whoever may list webhooks.
    pub may_admin: bool,
    /// The scrutiny workspace and the recommendations board.
    pub may_scrutiny: bool,
    pub may_recommendations: bool,
}

/// A form field's error.
#[derive(Debug, Clone)]
pub struct FormError {
    pub field: &'static str,
    pub message: String,
}

impl FormError {
    pub fn new(field: &'static str, message: &str) -> Self {
        FormError {
            field,
            message: message.to_string(),
        }
    }
}

pub(crate) fn error_for<'a>(errors: &'a [FormError], field: &str) -> Option<&'a FormError> {
    errors.iter().find(|e| e.field == field)
}

pub(crate) fn layout(title: &str, nav: Option<&Nav>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Escalation ledger" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                a.el-skip-link href="#main-content" { "Skip to main content" }
                header.el-header {
                    div.el-width {
                        a.el-header-name href="/console/" { "Escalation ledger" }
                        @if let Some(n) = nav {
                            nav.el-nav aria-label="Main" {
                                ul {
                                    li { a href="/console/" { "Needs my action" } }
                                    li { a href="/console/disputes" { "Disputes" } }
                                    @if n.may_raise {
                                        li { a href="/console/disputes/new" { "Raise a dispute" } }
                                    }
                                    @if n.may_ledger { li { a href="/console/ledger" { "Ledger" } } }
                                    @if n.may_report { li { a href="/console/reports/escalations" { "Figures" } } }
                                    @if n.may_admin {
                                        li { a href="/console/admin/registry" { "Partnership team" } }
                                    }
                                    @if n.may_scrutiny {
                                        li { a href="/console/scrutiny" { "Scrutiny" } }
                                    }
                                    @if n.may_recommendations {
                                        li { a href="/console/recommendations" { "Recommendations" } }
                                    }
                                }
                                div.el-who {
                                    span { "Signed in as " strong { (n.sub) } " (" (role_words(n.role)) @if let Some(a) = &n.agency { ", " (a) } ")" }
                                    form method="post" action="/console/sign-out" {
                                        input type="hidden" name="csrf" value=(n.csrf);
                                        button.el-link-button type="submit" { "Sign out" }
                                    }
                                }
                            }
                        }
                    }
                }
                div.el-width {
                    main.el-main id="main-content" {
                        (main)
                    }
                }
                footer.el-footer {
                    div.el-width {
                        a href="/console/accessibility" { "Accessibility statement" }
                        " · The KRSCP escalation ladder, with a verifiable ledger."
                    }
                }
            }
        }
    }
}

pub(crate) fn role_words(r: Role) -> &'static str {
    match r {
        Role::Agency => "agency safeguarding lead",
        Role::Slg => "SLG",
        Role::StatutoryPartner => "statutory partner",
        Role::ChiefOfficer => "chief officer",
        Role::Scrutineer => "independent scrutineer",
        Role::PartnershipAdmin => "partnership team",
        Role::Auditor => "auditor",
    }
}

/// A rung's name in words: `chief_executives` → "Chief executives".
pub fn rung_words(name: &str) -> String {
    let spaced = name.replace('_', " ");
    match spaced.as_str() {
        "slg" => "SLG".into(),
        _ => {
            let mut c = spaced.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => spaced,
            }
        }
    }
}

pub(crate) fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A UTC time as London time: "4 December 2026 at 14:05".
pub fn london_time(t: &NaiveDateTime) -> String {
    let local = calendar::london(DateTime::<Utc>::from_naive_utc_and_offset(*t, Utc));
    local.format("%-d %B %Y at %H:%M").to_string()
}

/// When a deadline falls, in London time, and how far off it is in working
/// days: "3 working days left", "due today", "missed by 2 working days".
pub fn due_words(
    cal: &Calendar,
    now: &NaiveDateTime,
    due: &NaiveDateTime,
) -> (String, String, bool) {
    let utc = |t: &NaiveDateTime| DateTime::<Utc>::from_naive_utc_and_offset(*t, Utc);
    let local = calendar::london(utc(due));
    let when = local.format("%H:%M on %A %-d %B %Y").to_string();
    let (today, day) = (calendar::london_date(utc(now)), local.date());
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    if due >= now {
        let n = cal.working_days_between(today, day);
        let left = if n <= 0 {
            "due today".to_string()
        } else {
            format!("{n} working day{} left", plural(n))
        };
        (when, left, false)
    } else {
        let n = cal.working_days_between(day, today);
        let late = if n <= 0 {
            "missed today".to_string()
        } else {
            format!("missed by {n} working day{}", plural(n))
        };
        (when, late, true)
    }
}

fn status_tag(s: Status) -> Markup {
    let (class, words) = match s {
        Status::Open => ("el-tag el-tag-blue", "Open"),
        Status::Resolved => ("el-tag el-tag-green", "Resolved"),
        Status::Withdrawn => ("el-tag el-tag-grey", "Withdrawn"),
    };
    html! { strong class=(class) { (words) } }
}

pub(crate) fn error_summary(errors: &[FormError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.el-error-summary role="alert" aria-labelledby="error-summary-title" {
                h2.el-heading-m id="error-summary-title" { "There is a problem" }
                ul.el-list {
                    @for e in errors {
                        li { a href={ "#" (e.field) } { (e.message) } }
                    }
                }
            }
        }
    }
}

pub(crate) fn inline_error(e: Option<&FormError>) -> Markup {
    html! {
        @if let Some(e) = e {
            p.el-error-message id={ (e.field) "-error" } {
                span.el-visually-hidden { "Error: " } (e.message)
            }
        }
    }
}

/// A labelled textarea, with its error.
pub(crate) fn textarea(
    name: &'static str,
    label: &str,
    hint: Option<&str>,
    errors: &[FormError],
) -> Markup {
    let err = error_for(errors, name);
    let described = match (hint.is_some(), err.is_some()) {
        (true, true) => Some(format!("{name}-hint {name}-error")),
        (true, false) => Some(format!("{name}-hint")),
        (false, true) => Some(format!("{name}-error")),
        (false, false) => None,
    };
    html! {
        div.el-form-group.el-form-group-error[err.is_some()] {
            label.el-label for=(name) { (label) }
            @if let Some(h) = hint { div.el-hint id={ (name) "-hint" } { (h) } }
            (inline_error(err))
            textarea.el-textarea.el-input-error[err.is_some()] id=(name) name=(name) rows="4" aria-describedby=[described] {}
        }
    }
}

pub(crate) fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A page that says what went wrong.
pub fn problem(title: &str, detail: &str) -> Markup {
    layout(
        title,
        None,
        html! {
            h1.el-heading-l { (title) }
            p.el-body { (detail) }
            p.el-body { a href="/console/" { "Go to the console" } }
        },
    )
}

/// `GET /console/sign-in`.
/// `oidc`: where "Sign in with your organisation" goes, when it is set up.
pub fn sign_in(token: Option<&str>, next: &str, oidc: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1.el-heading-l { "Sign in" }
            @if let Some(t) = token {
                p.el-body { "This link signs you in to the escalation ledger. It works once, for 10 minutes after it was made." }
                form method="post" action="/console/sign-in" {
                    input type="hidden" name="token" value=(t);
                    input type="hidden" name="next" value=(next);
                    button.el-button type="submit" { "Sign in" }
                }
            } @else {
                @if let Some(start) = oidc {
                    p.el-body { "Sign in with the account you use at work." }
                    form method="get" action=(start) {
                        input type="hidden" name="next" value=(next);
                        button.el-button type="submit" { "Sign in with your organisation" }
                    }
                    h2.el-heading-m { "Signing in with a link" }
                    p.el-body { "You can also sign in with a link. Ask your partnership team for a sign-in link." }
                } @else {
                    p.el-body { "You sign in with a link. Ask your partnership team for a sign-in link, or use the link in an email from the service." }
                }
                p.el-body { "A link works once, for 10 minutes. If yours has expired, ask for a new one." }
            }
        },
    )
}

/// A dispute as a list or the home page shows it, with what the caller may do.
#[derive(Debug, Clone)]
pub struct Listed {
    pub read: DisputeRead,
    pub options: Options,
    pub rungs: Vec<&'static str>,
}

/// What the home page lists.
pub struct Home {
    pub now: NaiveDateTime,
    pub calendar: Arc<Calendar>,
    pub items: Vec<Listed>,
    /// For the SLG: the recommendations waiting for its response.
    pub recommendations: Option<Markup>,
}

fn dispute_link(l: &Listed) -> Markup {
    let d = &l.read.record.state;
    html! {
        a href={ "/console/disputes/" (d.id) } { "Dispute " (short(&d.id)) }
        " between " (d.parties.join(", "))
        " (" (rung_words(d.rung.as_str())) ")"
    }
}

/// `GET /console/`: what needs the caller's action.
pub fn home(nav: &Nav, h: &Home) -> Markup {
    let accept: Vec<&Listed> = h
        .items
        .iter()
        .filter(|l| l.options.accept.is_some())
        .collect();
    let propose: Vec<&Listed> = h.items.iter().filter(|l| l.options.propose).collect();
    let escalate: Vec<&Listed> = h.items.iter().filter(|l| l.options.escalate).collect();
    let mut deadlines: Vec<(&Listed, (String, String, bool))> = h
        .items
        .iter()
        .filter_map(|l| {
            let due = l.read.due_at.as_ref()?;
            let words = due_words(&h.calendar, &h.now, due);
            let near = words.2
                || h.calendar.working_days_between(
                    calendar::london_date(DateTime::<Utc>::from_naive_utc_and_offset(h.now, Utc)),
                    calendar::london_date(DateTime::<Utc>::from_naive_utc_and_offset(*due, Utc)),
                ) <= 3;
            near.then_some((l, words))
        })
        .collect();
    deadlines.sort_by_key(|(l, _)| l.read.due_at);
    let nothing = accept.is_empty()
        && propose.is_empty()
        && escalate.is_empty()
        && deadlines.is_empty()
        && h.recommendations.is_none();
    layout(
        "Needs my action",
        Some(nav),
        html! {
            h1.el-heading-l { "What needs your action" }
            @if nothing {
                p.el-body { "Nothing needs your action now." }
            }
            @if !accept.is_empty() {
                h2.el-heading-m { "Proposals awaiting your acceptance" }
                ul.el-list { @for l in &accept { li { (dispute_link(l)) } } }
            }
            @if !propose.is_empty() {
                h2.el-heading-m { "Disputes where you may propose a resolution" }
                ul.el-list { @for l in &propose { li { (dispute_link(l)) } } }
            }
            @if !escalate.is_empty() {
                h2.el-heading-m { "Disputes you may escalate" }
                ul.el-list { @for l in &escalate { li { (dispute_link(l)) } } }
            }
            @if !deadlines.is_empty() {
                h2.el-heading-m { "Deadlines approaching and missed" }
                ul.el-list {
                    @for (l, (when, left, missed)) in &deadlines {
                        li {
                            (dispute_link(l)) ": due " (when) " (London time), "
                            @if *missed { strong.el-tag.el-tag-red { (left) } } @else { strong.el-tag.el-tag-yellow { (left) } }
                        }
                    }
                }
            }
            @if let Some(r) = &h.recommendations { (r) }
            p.el-body { a href="/console/disputes" { "See every dispute you can see" } }
        },
    )
}

/// The list's filter, as asked.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: String,
    pub agency: String,
    pub overdue: bool,
}

/// `GET /console/disputes`.
pub fn disputes(nav: &Nav, items: &[Listed], agencies: &[Agency], f: &Filter) -> Markup {
    layout(
        "Disputes",
        Some(nav),
        html! {
            h1.el-heading-l { "Disputes" }
            form.el-filter method="get" action="/console/disputes" {
                div.el-form-group {
                    label.el-label for="status" { "Status" }
                    select.el-select id="status" name="status" {
                        @for (v, words) in [("", "Any"), ("open", "Open"), ("resolved", "Resolved"), ("withdrawn", "Withdrawn")] {
                            option value=(v) selected[f.status == v] { (words) }
                        }
                    }
                }
                div.el-form-group {
                    label.el-label for="agency" { "Agency" }
                    select.el-select id="agency" name="agency" {
                        option value="" selected[f.agency.is_empty()] { "Any" }
                        @for a in agencies {
                            option value=(a.id) selected[f.agency == a.id] { (a.name) }
                        }
                    }
                }
                div.el-form-group.el-checkboxes {
                    div.el-checkbox {
                        input id="overdue" type="checkbox" name="overdue" value="true" checked[f.overdue];
                        label for="overdue" { "Only past their deadline" }
                    }
                }
                button.el-button.el-button-secondary type="submit" { "Filter" }
            }
            @if items.is_empty() {
                p.el-body { "No disputes match." }
            } @else {
                table.el-table {
                    caption.el-visually-hidden { "Disputes you can see, newest first" }
                    thead { tr { th scope="col" { "Dispute" } th scope="col" { "Parties" } th scope="col" { "Rung" } th scope="col" { "Status" } th scope="col" { "Raised" } } }
                    tbody {
                        @for l in items {
                            @let d = &l.read.record.state;
                            tr {
                                td { a href={ "/console/disputes/" (d.id) } { "Dispute " (short(&d.id)) } }
                                td { (d.parties.join(", ")) }
                                td { (rung_words(d.rung.as_str())) }
                                td { (status_tag(d.status)) @if l.read.overdue { " " strong.el-tag.el-tag-red { "Overdue" } } }
                                td { (london_time(&l.read.record.opened_at)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// What the raising form holds.
#[derive(Debug, Clone, Default)]
pub struct RaiseForm {
    pub parties: Vec<String>,
    pub summary: String,
    pub child_ref: String,
    pub urgent: bool,
    pub complex: bool,
    pub whistleblowing: bool,
}

/// `GET /console/disputes/new`.
pub fn raise(nav: &Nav, agencies: &[Agency], form: &RaiseForm, errors: &[FormError]) -> Markup {
    let own = nav.agency.clone().unwrap_or_default();
    let others: Vec<&Agency> = agencies
        .iter()
        .filter(|a| a.id != own && a.retired_at.is_none())
        .collect();
    let parties_err = error_for(errors, "parties");
    let summary_err = error_for(errors, "summary");
    let child_err = error_for(errors, "child_ref");
    let title = if errors.is_empty() {
        "Raise a dispute"
    } else {
        "Error: Raise a dispute"
    };
    layout(
        title,
        Some(nav),
        html! {
            (error_summary(errors))
            h1.el-heading-l { "Raise a dispute" }
            form method="post" action="/console/disputes" novalidate {
                (csrf(&nav.csrf))
                div.el-form-group.el-form-group-error[parties_err.is_some()] {
                    fieldset.el-fieldset aria-describedby=[parties_err.map(|_| "parties-error")] {
                        legend.el-fieldset-legend { "Which agencies do you disagree with?" }
                        div.el-hint { "Your agency, " (own) ", is a party already." }
                        (inline_error(parties_err))
                        div.el-checkboxes {
                            @for (i, a) in others.iter().enumerate() {
                                @let id = if i == 0 { "parties".to_string() } else { format!("parties-{i}") };
                                div.el-checkbox {
                                    input id=(id) type="checkbox" name="parties" value=(a.id) checked[form.parties.contains(&a.id)];
                                    label for=(id) { (a.name) }
                                }
                            }
                        }
                    }
                }
                div.el-form-group.el-form-group-error[summary_err.is_some()] {
                    label.el-label for="summary" { "What is the disagreement about?" }
                    div.el-hint id="summary-hint" { "Do not include names or dates of birth. You can ask for this text to be erased later." }
                    (inline_error(summary_err))
                    textarea.el-textarea id="summary" name="summary" rows="5" aria-describedby=(if summary_err.is_some() { "summary-hint summary-error" } else { "summary-hint" }) { (form.summary) }
                }
                div.el-form-group.el-form-group-error[child_err.is_some()] {
                    label.el-label for="child_ref" { "Child’s case reference (optional)" }
                    div.el-hint id="child_ref-hint" { "A pseudonymous reference such as CR-2041: letters, digits and - _ / . with at least one digit. Never a name." }
                    (inline_error(child_err))
                    input.el-input.el-input-width-10 id="child_ref" name="child_ref" type="text" value=(form.child_ref) aria-describedby=(if child_err.is_some() { "child_ref-hint child_ref-error" } else { "child_ref-hint" });
                }
                div.el-form-group {
                    fieldset.el-fieldset {
                        legend.el-fieldset-legend { "About this dispute" }
                        div.el-checkboxes {
                            div.el-checkbox {
                                input id="urgent" type="checkbox" name="urgent" value="true" checked[form.urgent];
                                label for="urgent" { "Urgent: a child may be at risk while this is unresolved (deadlines count in working hours)" }
                            }
                            div.el-checkbox {
                                input id="complex" type="checkbox" name="complex" value="true" checked[form.complex];
                                label for="complex" { "Complex: raise it straight to the SLG" }
                            }
                            div.el-checkbox {
                                input id="whistleblowing" type="checkbox" name="whistleblowing" value="true" checked[form.whistleblowing] aria-describedby="whistleblowing-hint";
                                label for="whistleblowing" { "Raise it as whistleblowing" }
                                div.el-hint.el-checkbox-hint id="whistleblowing-hint" {
                                    "The ledger and every page will show a pseudonym instead of your name. Only the independent scrutineer can learn who you are."
                                }
                            }
                        }
                    }
                }
                button.el-button type="submit" { "Raise the dispute" }
            }
        },
    )
}

/// A dispute page's parts.
pub struct DisputePage<'a> {
    pub page: &'a Loaded,
    pub options: Options,
    pub with_text: bool,
    pub now: NaiveDateTime,
    pub calendar: Arc<Calendar>,
    /// What the form just done did (`?done=`), for the banner.
    pub done: Option<String>,
    pub errors: Vec<FormError>,
}

fn text_of(payload: Option<&Value>, key: &str) -> Option<String> {
    payload?.get(key)?.as_str().map(str::to_string)
}

fn done_words(done: &str) -> Option<&'static str> {
    Some(match done {
        "raised" => "The dispute has been raised.",
        "proposed" => "Your proposal has been recorded.",
        "accepted" => "Your acceptance has been recorded.",
        "rejected" => "Your rejection has been recorded.",
        "escalated" => "The dispute has been escalated.",
        "withdrawn" => "The dispute has been withdrawn.",
        _ => return None,
    })
}

fn event_words(event: &str, facts: &Value) -> String {
    let rung = |k: &str| facts.get(k).and_then(Value::as_str).map(rung_words);
    match event {
        "raised" => format!(
            "Raised on the {} rung",
            rung("rung").unwrap_or_default().to_lowercase()
        ),
        "proposal_made" => "Proposed a resolution".into(),
        "proposal_accepted" => "Accepted the proposal".into(),
        "proposal_rejected" => "Rejected the proposal".into(),
        "escalated" => format!(
            "Escalated from {} to {}",
            rung("from").unwrap_or_default(),
            rung("to").unwrap_or_default()
        ),
        "deadline_missed" => "The rung’s deadline passed".into(),
        "deadline_approaching" => "The rung’s deadline is approaching".into(),
        "resolved" => "Resolved".into(),
        "withdrawn" => "Withdrawn".into(),
        "policy_migrated" => "Moved onto another ladder policy".into(),
        other => rung_words(other),
    }
}

/// `GET /console/disputes/{id}`.
pub fn dispute(nav: &Nav, v: &DisputePage) -> Markup {
    let read = &v.page.read;
    let d = &read.record.state;
    let raised = read.raised.as_ref().filter(|_| v.with_text);
    let rungs = v.page.policy.rung_names();
    let here = rungs.iter().position(|r| *r == d.rung.as_str());
    let title = format!("Dispute {}", short(&d.id));
    let page_title = if v.errors.is_empty() {
        title.clone()
    } else {
        format!("Error: {title}")
    };
    let resolved_seq = v
        .page
        .history
        .iter()
        .find(|(e, _)| e.entry.event == "resolved")
        .map(|(e, _)| e.entry.seq);
    let accepted = d
        .proposals
        .iter()
        .zip(read.proposal_payloads.iter())
        .rev()
        .find(|(p, _)| {
            p.status == crate::core::ladder::ProposalStatus::Accepted
                || d.status == Status::Resolved
        });
    let open = d.open_proposal();
    let open_text = open.and_then(|p| {
        d.proposals
            .iter()
            .position(|q| q.id == p.id)
            .and_then(|i| read.proposal_payloads.get(i))
            .and_then(|x| text_of(x.as_ref().filter(|_| v.with_text), "resolution"))
    });
    let verified_all = v.page.history.iter().all(|(_, p)| *p == Proof::Verified);
    layout(
        &page_title,
        Some(nav),
        html! {
            (error_summary(&v.errors))
            @if let Some(words) = v.done.as_deref().and_then(done_words) {
                div.el-banner.el-banner-success role="region" aria-labelledby="banner-title" {
                    div.el-banner-header { h2.el-banner-title id="banner-title" { "Success" } }
                    div.el-banner-content { p.el-heading-s { (words) } }
                }
            }
            span.el-caption-l { "Dispute" }
            h1.el-heading-l { (title) " " (status_tag(d.status)) }
            h2.el-heading-m { "Where it is on the ladder" }
            ol.el-ladder {
                @for (i, r) in rungs.iter().enumerate() {
                    @let class = match here { Some(h) if i == h => "el-rung el-rung-current", Some(h) if i < h => "el-rung el-rung-passed", _ => "el-rung" };
                    li class=(class) aria-current=[(Some(i) == here).then_some("step")] {
                        (rung_words(r))
                        @if Some(i) == here { span.el-visually-hidden { " (current rung)" } }
                    }
                }
            }
            dl.el-summary-list {
                div.el-summary-row { dt { "Status" } dd { (status_tag(d.status)) } }
                div.el-summary-row { dt { "Rung" } dd { (rung_words(d.rung.as_str())) } }
                div.el-summary-row { dt { "Parties" } dd { (d.parties.join(", ")) } }
                div.el-summary-row { dt { "Raised by" } dd { (d.raised_by.sub) @if d.whistleblowing { " (whistleblowing: a pseudonym)" } } }
                div.el-summary-row { dt { "Raised" } dd { (london_time(&read.record.opened_at)) " (London time)" } }
                @if let Some(due) = &read.due_at {
                    @let (when, left, missed) = due_words(&v.calendar, &v.now, due);
                    div.el-summary-row { dt { "Deadline" } dd { (when) " (London time), " @if missed { strong.el-tag.el-tag-red { (left) } } @else { (left) } } }
                }
                div.el-summary-row { dt { "Urgent" } dd { @if d.urgent { "Yes" } @else { "No" } } }
                div.el-summary-row { dt { "Complex" } dd { @if d.complex { "Yes" } @else { "No" } } }
                div.el-summary-row { dt { "Ladder policy" } dd { (d.policy) } }
                @if v.with_text {
                    div.el-summary-row { dt { "Summary" } dd { (text_of(raised, "summary").unwrap_or_else(|| "(erased)".into())) } }
                    div.el-summary-row { dt { "Child’s case reference" } dd { (text_of(raised, "child_ref").unwrap_or_else(|| "None".into())) } }
                }
            }
            @if d.status == Status::Resolved {
                section.el-outcome aria-labelledby="outcome-title" {
                    h2.el-heading-m id="outcome-title" { "Outcome statement" }
                    @if let Some((_, payload)) = accepted {
                        @if v.with_text {
                            p.el-body { (text_of(payload.as_ref(), "resolution").unwrap_or_else(|| "(erased)".into())) }
                        }
                    }
                    @if let Some(seq) = resolved_seq {
                        p.el-body { "Resolved: ledger entry " (seq) "." }
                    }
                    p.el-body { a href={ "/console/disputes/" (d.id) "/proof" } download { "Download the proof of this outcome" } " (a " code { "c2sp.org/tlog-proof@v1" } " file that verifies offline with " code { "escalation-ledger audit --proof FILE --policy FILE" } ")" }
                }
            }
            @if let Some(p) = open {
                h2.el-heading-m { "Open proposal" }
                dl.el-summary-list {
                    div.el-summary-row { dt { "Proposed by" } dd { (p.proposed_by) } }
                    @if let Some(t) = &open_text { div.el-summary-row { dt { "Resolution" } dd { (t) } } }
                    div.el-summary-row { dt { "Accepted by" } dd { @if p.accepted_by.is_empty() { "Nobody yet" } @else { (p.accepted_by.iter().cloned().collect::<Vec<_>>().join(", ")) } } }
                }
            }
            @if v.options.any() || v.options.reject.is_some() {
                h2.el-heading-m { "What you can do" }
                @if let Some(pid) = &v.options.accept {
                    form method="post" action={ "/console/disputes/" (d.id) "/proposals/" (pid) "/accept" } {
                        (csrf(&nav.csrf))
                        (inline_error(error_for(&v.errors, "accept")))
                        button.el-button id="accept" type="submit" { "Accept the proposal" }
                    }
                }
                @if let Some(pid) = &v.options.reject {
                    form method="post" action={ "/console/disputes/" (d.id) "/proposals/" (pid) "/reject" } novalidate {
                        (csrf(&nav.csrf))
                        (textarea("reject_reason", "Why do you reject the proposal?", None, &v.errors))
                        button.el-button.el-button-secondary type="submit" { "Reject the proposal" }
                    }
                }
                @if v.options.propose {
                    form method="post" action={ "/console/disputes/" (d.id) "/proposals" } novalidate {
                        (csrf(&nav.csrf))
                        (textarea("resolution", "Propose a resolution", Some("What the parties should agree to. Do not include names."), &v.errors))
                        button.el-button type="submit" { "Propose" }
                    }
                }
                @if v.options.escalate {
                    form method="post" action={ "/console/disputes/" (d.id) "/escalate" } novalidate {
                        (csrf(&nav.csrf))
                        (textarea("reason", "Why are you escalating it?", Some("It moves to the next rung of the ladder."), &v.errors))
                        button.el-button.el-button-warning type="submit" { "Escalate the dispute" }
                    }
                }
                @if v.options.withdraw {
                    form method="post" action={ "/console/disputes/" (d.id) "/withdraw" } novalidate {
                        (csrf(&nav.csrf))
                        (textarea("withdraw_reason", "Why are you withdrawing it?", None, &v.errors))
                        button.el-button.el-button-secondary type="submit" { "Withdraw the dispute" }
                    }
                }
            }
            h2.el-heading-m { "History" }
            p.el-body {
                @match v.page.checkpoint_size {
                    Some(n) => { "Each step is checked against the latest signed checkpoint of the ledger (" (n) " entries)." }
                    None => { "The ledger has no signed checkpoint yet: steps cannot be verified yet." }
                }
                @if verified_all { " Every step is verified." }
            }
            ol.el-timeline {
                @for (e, proof) in &v.page.history {
                    @let payload: Option<Value> = e.payload.as_deref().filter(|_| v.with_text).and_then(|p| serde_json::from_str(p).ok());
                    li.el-timeline-item {
                        h3.el-heading-s { (event_words(&e.entry.event, &e.entry.facts)) }
                        p.el-body-s {
                            (e.entry.actor.sub) " (" (role_words(e.entry.actor.role)) "), " (london_time(&e.entry.recorded_at))
                        }
                        @if let Some(r) = text_of(payload.as_ref(), "reason").or_else(|| text_of(payload.as_ref(), "resolution")) {
                            p.el-body.el-quote { (r) }
                        }
                        p.el-body-s {
                            "Ledger entry " (e.entry.seq) " "
                            @match proof {
                                Proof::Verified => strong.el-tag.el-tag-green { "Verified" },
                                Proof::Pending => strong.el-tag.el-tag-grey { "Not yet in a checkpoint" },
                                Proof::Failed => strong.el-tag.el-tag-red { "Not verified" },
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /console/accessibility`.
pub fn accessibility(signed_in: bool) -> Markup {
    let _ = signed_in;
    layout(
        "Accessibility statement",
        None,
        html! {
            h1.el-heading-l { "Accessibility statement for the escalation ledger console" }
            p.el-body { "This statement applies to the console of the escalation ledger, the service that runs the KRSCP escalation ladder for disagreements between safeguarding agencies. It is run by the partnership’s business unit." }
            p.el-body { "We want as many people as possible to be able to use it. You should be able to:" }
            ul.el-list.el-list-bullet {
                li { "change colours, contrast levels and fonts using your browser or device settings" }
                li { "zoom in up to 400% without the text spilling off the screen" }
                li { "navigate the whole console using just a keyboard" }
                li { "use every page and form with JavaScript turned off: the console uses none" }
                li { "listen to the console using a screen reader" }
            }
            h2.el-heading-m { "How accessible the console is" }
            p.el-body { "The console is designed to meet the Web Content Accessibility Guidelines (WCAG) version 2.2 at level AA. Each release is tested in a browser with automated checks (axe-core, the WCAG 2.0, 2.1 and 2.2 A and AA rules) on every page of the main journeys, with JavaScript on and off." }
            p.el-body { "We know of these gaps: the console does not yet cover every task (webhooks and witnesses are registered, and independent reviews requested, through the API)." }
            h2.el-heading-m { "Reporting problems and enforcement" }
            p.el-body { "If you find a problem not listed here, or need information in a different format, tell your partnership team. The Equality and Human Rights Commission is responsible for enforcing the Public Sector Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018. If you are not happy with how we respond to your complaint, contact the Equality Advisory and Support Service (EASS)." }
            h2.el-heading-m { "Compliance status" }
            p.el-body { "This console is partially compliant with WCAG 2.2 AA, because of the gaps listed above." }
            p.el-body { a href="/console/" { "Go to the console" } }
        },
    )
}
