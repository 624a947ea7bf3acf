//! The partnership team's pages as [`maud`] templates: the registry, the
//! ladder policies, webhooks and their deliveries, who gets email, redaction
//! requests, and the witnesses with the cosignatures of the latest
//! checkpoint. Same patterns as [`super::pages`]: tables and summary lists,
//! tags for status, an error summary with inline errors, a success banner.
//! The handlers ([`super::admin`]) decide which forms a page carries.

use maud::{html, Markup};

use crate::core::ladder::Role;
use crate::core::registry::{Agency, AgencyKind};
use crate::core::target::Target;
use crate::http::console::pages::{
    csrf, error_for, error_summary, inline_error, layout, role_words, short, FormError, Nav,
};
use crate::service::cosign::{StoredCosignature, Witness};
use crate::service::email::Recipients;
use crate::service::notify::{Delivery, Webhook};
use crate::service::policy_store::{PolicyDocument, PolicySummary};
use crate::service::push::PushStatus;
use crate::service::redaction::Redaction;

/// The roles an address list can be for, in the order forms list them.
pub const ROLES: [Role; 7] = [
    Role::Agency,
    Role::Slg,
    Role::StatutoryPartner,
    Role::ChiefOfficer,
    Role::Scrutineer,
    Role::PartnershipAdmin,
    Role::Auditor,
];

/// What every admin page shares: the caller's header, the admin pages they
/// may open, the banner of the form just done, a failed form's errors and
/// what was typed into it.
pub struct Frame<'a> {
    pub nav: &'a Nav,
    /// `(path, words)` of the admin pages this caller may open.
    pub sections: Vec<(&'static str, &'static str)>,
    pub done: Option<&'static str>,
    pub errors: &'a [FormError],
    pub typed: &'a [(String, String)],
}

impl Frame<'_> {
    fn typed(&self, name: &str) -> &str {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// What was typed into `name`, or `default` when that form was not sent.
    fn typed_or<'b>(&'b self, name: &str, default: &'b str) -> &'b str {
        self.typed
            .iter()
            .find(|(k, _)| k == name)
            .map_or(default, |(_, v)| v.as_str())
    }

    fn err(&self, name: &str) -> Option<&FormError> {
        error_for(self.errors, name)
    }
}

/// The page's title, prefixed "Error: " when a form failed (as GOV.UK asks).
fn titled(f: &Frame, title: &str) -> String {
    if f.errors.is_empty() {
        title.to_string()
    } else {
        format!("Error: {title}")
    }
}

fn page(f: &Frame, title: &str, here: &str, main: Markup) -> Markup {
    layout(
        &titled(f, title),
        Some(f.nav),
        html! {
            nav.el-subnav aria-label="Partnership team" {
                ul {
                    @for (path, words) in &f.sections {
                        li {
                            @if *path == here {
                                a href=(path) aria-current="page" { (words) }
                            } @else {
                                a href=(path) { (words) }
                            }
                        }
                    }
                }
            }
            (error_summary(f.errors))
            @if let Some(words) = f.done {
                div.el-banner.el-banner-success role="region" aria-labelledby="banner-title" {
                    div.el-banner-header { h2.el-banner-title id="banner-title" { "Success" } }
                    div.el-banner-content { p.el-heading-s { (words) } }
                }
            }
            (main)
        },
    )
}

/// `aria-describedby` for a field with an optional hint and an optional error.
fn described(name: &str, hint: bool, err: bool) -> Option<String> {
    match (hint, err) {
        (true, true) => Some(format!("{name}-hint {name}-error")),
        (true, false) => Some(format!("{name}-hint")),
        (false, true) => Some(format!("{name}-error")),
        (false, false) => None,
    }
}

/// A labelled text input with its hint and error, keeping what was typed.
fn input(f: &Frame, name: &'static str, label: &str, hint: Option<&str>, value: &str) -> Markup {
    let err = f.err(name);
    let value = f.typed_or(name, value);
    html! {
        div.el-form-group.el-form-group-error[err.is_some()] {
            label.el-label for=(name) { (label) }
            @if let Some(h) = hint { div.el-hint id={ (name) "-hint" } { (h) } }
            (inline_error(err))
            input.el-input.el-input-error[err.is_some()] id=(name) name=(name) type="text" value=(value)
                aria-describedby=[described(name, hint.is_some(), err.is_some())];
        }
    }
}

/// A labelled textarea with its hint and error, keeping what was typed.
fn area(f: &Frame, name: &'static str, label: &str, hint: Option<&str>, value: &str) -> Markup {
    let err = f.err(name);
    let value = f.typed_or(name, value);
    html! {
        div.el-form-group.el-form-group-error[err.is_some()] {
            label.el-label for=(name) { (label) }
            @if let Some(h) = hint { div.el-hint id={ (name) "-hint" } { (h) } }
            (inline_error(err))
            textarea.el-textarea.el-input-error[err.is_some()] id=(name) name=(name) rows="5"
                aria-describedby=[described(name, hint.is_some(), err.is_some())] { (value) }
        }
    }
}

/// A select of the agency kinds.
fn kind_select(f: &Frame, name: &'static str, current: Option<AgencyKind>) -> Markup {
    let err = f.err(name);
    let chosen = f.typed_or(name, current.map(AgencyKind::as_str).unwrap_or(""));
    html! {
        div.el-form-group.el-form-group-error[err.is_some()] {
            label.el-label for=(name) { "Kind" }
            (inline_error(err))
            select.el-select id=(name) name=(name) aria-describedby=[err.map(|_| format!("{name}-error"))] {
                @if current.is_none() { option value="" selected[chosen.is_empty()] { "Choose a kind" } }
                @for k in AgencyKind::ALL {
                    option value=(k.as_str()) selected[chosen == k.as_str()] { (kind_words(k)) }
                }
            }
        }
    }
}

pub fn kind_words(k: AgencyKind) -> &'static str {
    match k {
        AgencyKind::LocalAuthority => "Local authority",
        AgencyKind::Icb => "Integrated Care Board",
        AgencyKind::Police => "Police",
        AgencyKind::HealthProvider => "Health provider",
        AgencyKind::Education => "Education",
        AgencyKind::Childcare => "Early years and childcare",
        AgencyKind::ChildrensSocialCare => "Children’s social care",
        AgencyKind::Probation => "Probation",
        AgencyKind::ChildrensHome => "Children’s home",
        AgencyKind::Voluntary => "Voluntary sector",
        AgencyKind::FireRescue => "Fire and rescue",
        AgencyKind::Cafcass => "Cafcass",
        AgencyKind::Other => "Other",
    }
}

fn target_words(t: &Target, agencies: &[Agency]) -> String {
    match t {
        Target::Agency(id) => {
            let name = agencies
                .iter()
                .find(|a| &a.id == id)
                .map_or(id.as_str(), |a| a.name.as_str());
            format!("Agency: {name}")
        }
        Target::Role(r) => format!("Role: {}", role_words(*r)),
    }
}

/// A target as a form value: `agency:ID` or `role:ROLE`.
pub fn target_value(t: &Target) -> String {
    let (k, v) = t.columns();
    format!("{k}:{v}")
}

fn tag(class: &str, words: &str) -> Markup {
    html! { strong class={ "el-tag " (class) } { (words) } }
}

// ---- the registry ----

/// What the registry page may offer.
pub struct RegistryForms {
    pub add: bool,
}

/// `GET /console/admin/registry`.
pub fn registry(f: &Frame, agencies: &[Agency], forms: &RegistryForms) -> Markup {
    page(
        f,
        "The agency registry",
        "/console/admin/registry",
        html! {
            h1.el-heading-l { "The agency registry" }
            p.el-body { "Every agency that can be a party to a dispute. Each change is recorded in the ledger." }
            table.el-table {
                caption.el-visually-hidden { "Agencies, by id" }
                thead { tr { th scope="col" { "Id" } th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Status" } } }
                tbody {
                    @for a in agencies {
                        tr {
                            td { a href={ "/console/admin/registry/" (a.id) } { (a.id) } }
                            td { (a.name) }
                            td { (kind_words(a.kind)) }
                            td {
                                @if a.retired_at.is_some() { (tag("el-tag-grey", "Retired")) } @else { (tag("el-tag-green", "Active")) }
                                @if a.statutory_partner.is_some() { " " (tag("el-tag-blue", "Statutory partner")) }
                            }
                        }
                    }
                }
            }
            @if forms.add {
                h2.el-heading-m id="add" { "Add an agency" }
                form method="post" action="/console/admin/registry" novalidate {
                    (csrf(&f.nav.csrf))
                    (input(f, "id", "Id", Some("2 to 64 lower-case letters, digits and hyphens, for example st-marys-primary. It cannot be changed or reused."), ""))
                    (input(f, "name", "Name", None, ""))
                    (kind_select(f, "kind", None))
                    button.el-button type="submit" { "Add the agency" }
                }
            }
        },
    )
}

/// What one agency's page may offer.
pub struct AgencyForms {
    pub rename: bool,
    pub retire: bool,
}

/// `GET /console/admin/registry/{id}`.
pub fn agency(f: &Frame, a: &Agency, forms: &AgencyForms) -> Markup {
    page(
        f,
        &a.name,
        "/console/admin/registry",
        html! {
            span.el-caption-l { "Agency" }
            h1.el-heading-l { (a.name) }
            dl.el-summary-list {
                div.el-summary-row { dt { "Id" } dd { (a.id) } }
                div.el-summary-row { dt { "Kind" } dd { (kind_words(a.kind)) } }
                div.el-summary-row { dt { "Statutory partner" } dd { @match a.statutory_partner { Some(p) => { (p.as_str()) }, None => { "No" } } } }
                div.el-summary-row { dt { "Status" } dd {
                    @match &a.retired_at { Some(at) => { (tag("el-tag-grey", "Retired")) " " (at) }, None => { (tag("el-tag-green", "Active")) } }
                } }
            }
            @if forms.rename {
                h2.el-heading-m { "Rename it or change its kind" }
                form method="post" action={ "/console/admin/registry/" (a.id) "/rename" } novalidate {
                    (csrf(&f.nav.csrf))
                    (input(f, "name", "Name", None, &a.name))
                    (kind_select(f, "kind", Some(a.kind)))
                    button.el-button type="submit" { "Save the change" }
                }
            }
            @if !forms.retire {
                @if let Some(e) = f.err("retire") {
                    div id="retire" { (inline_error(Some(e))) }
                }
            }
            @if forms.retire {
                h2.el-heading-m { "Retire it" }
                p.el-body { "A retired agency stays in the disputes that name it, but no new dispute, webhook or address list can name it. This cannot be undone." }
                form method="post" action={ "/console/admin/registry/" (a.id) "/retire" } {
                    (csrf(&f.nav.csrf))
                    (inline_error(f.err("retire")))
                    button.el-button.el-button-warning id="retire" type="submit" { "Retire " (a.name) }
                }
            }
            p.el-body { a href="/console/admin/registry" { "Back to the registry" } }
        },
    )
}

// ---- policies ----

/// What the policies page may offer.
pub struct PolicyForms {
    pub activate: bool,
    pub migrate: bool,
    /// The active policy's version (what a dispute can be moved onto).
    pub active: Option<String>,
    /// The active policy's rungs, lowest first.
    pub rungs: Vec<String>,
}

/// `GET /console/admin/policies`.
pub fn policies(f: &Frame, list: &[PolicySummary], forms: &PolicyForms) -> Markup {
    let inactive: Vec<&PolicySummary> = list.iter().filter(|p| !p.active).collect();
    page(
        f,
        "Ladder policies",
        "/console/admin/policies",
        html! {
            h1.el-heading-l { "Ladder policies" }
            p.el-body { "New disputes follow the active policy; open disputes keep the one they were raised under until they are moved." }
            table.el-table {
                caption.el-visually-hidden { "Policies, by version" }
                thead { tr { th scope="col" { "Version" } th scope="col" { "Title" } th scope="col" { "Rungs" } th scope="col" { "SHA-256 of the document" } th scope="col" { "Status" } } }
                tbody {
                    @for p in list {
                        tr {
                            td { a href={ "/console/admin/policies/" (p.version) } { (p.version) } }
                            td { (p.title) }
                            td { (p.rungs.len()) }
                            td { code.el-hash { (p.sha256) } }
                            td { @if p.active { (tag("el-tag-green", "Active")) } @else { (tag("el-tag-grey", "Not active")) } }
                        }
                    }
                }
            }
            @if forms.activate {
                h2.el-heading-m id="activate" { "Activate a policy" }
                @if inactive.is_empty() {
                    p.el-body { "Every policy the service holds is active already." }
                } @else {
                    form method="post" action="/console/admin/policies" novalidate {
                        (csrf(&f.nav.csrf))
                        @let err = f.err("version");
                        div.el-form-group.el-form-group-error[err.is_some()] {
                            label.el-label for="version" { "Policy" }
                            (inline_error(err))
                            select.el-select id="version" name="version" aria-describedby=[err.map(|_| "version-error")] {
                                option value="" { "Choose a policy" }
                                @for p in &inactive {
                                    option value=(p.version) selected[f.typed("version") == p.version] { (p.version) ": " (p.title) }
                                }
                            }
                        }
                        button.el-button type="submit" { "Activate the policy" }
                    }
                }
                h2.el-heading-m { "Activate a new policy document" }
                form method="post" action="/console/admin/policies" novalidate {
                    (csrf(&f.nav.csrf))
                    (area(f, "document", "Policy document (TOML)", Some("The whole document. It is checked before it is activated; a mistake names its line."), ""))
                    button.el-button.el-button-secondary type="submit" { "Check and activate the document" }
                }
            }
            @if forms.migrate {
                @if let Some(active) = &forms.active {
                    h2.el-heading-m id="migrate" { "Move a dispute onto the active policy" }
                    p.el-body { "The dispute continues on " (active) ". Its open proposals lapse and its rung’s clock restarts." }
                    form method="post" action="/console/admin/migrate" novalidate {
                        (csrf(&f.nav.csrf))
                        input type="hidden" name="policy" value=(active);
                        (input(f, "dispute", "Dispute id", Some("As on the dispute’s page."), ""))
                        @let err = f.err("rung");
                        div.el-form-group.el-form-group-error[err.is_some()] {
                            label.el-label for="rung" { "Rung to continue on" }
                            div.el-hint id="rung-hint" { "By default, the rung of the same name." }
                            (inline_error(err))
                            select.el-select id="rung" name="rung" aria-describedby=(described("rung", true, err.is_some()).unwrap_or_default()) {
                                option value="" { "The rung of the same name" }
                                @for r in &forms.rungs {
                                    option value=(r) selected[f.typed("rung") == r.as_str()] { (crate::http::console::pages::rung_words(r)) }
                                }
                            }
                        }
                        (area(f, "reason", "Why is it moving?", Some("Do not include names."), ""))
                        button.el-button type="submit" { "Move the dispute" }
                    }
                }
            }
        },
    )
}

/// `GET /console/admin/policies/{version}`.
pub fn policy(f: &Frame, doc: &PolicyDocument) -> Markup {
    let p = &doc.summary;
    page(
        f,
        &p.title,
        "/console/admin/policies",
        html! {
            span.el-caption-l { "Ladder policy " (p.version) }
            h1.el-heading-l { (p.title) " " @if p.active { (tag("el-tag-green", "Active")) } }
            dl.el-summary-list {
                div.el-summary-row { dt { "Version" } dd { (p.version) } }
                div.el-summary-row { dt { "SHA-256 of the document" } dd { code.el-hash { (p.sha256) } } }
                div.el-summary-row { dt { "Rungs, lowest first" } dd { (p.rungs.join(", ")) } }
                div.el-summary-row { dt { "Activated" } dd {
                    @if p.activations.is_empty() { "Never (shipped with the service)" }
                    @else { ul.el-list { @for a in &p.activations { li { "Ledger entry " (a.seq) ", " (a.activated_at.format("%-d %B %Y at %H:%M UTC")) } } } }
                } }
            }
            h2.el-heading-m { "The document" }
            pre.el-document tabindex="0" aria-label="The policy document" { code { (doc.document) } }
            p.el-body { a href="/console/admin/policies" { "Back to the policies" } }
        },
    )
}

// ---- webhooks ----

fn delivery_tag(status: &str) -> Markup {
    match status {
        "delivered" => tag("el-tag-green", "Delivered"),
        "failed" => tag("el-tag-red", "Failed"),
        _ => tag("el-tag-yellow", "Pending"),
    }
}

/// `GET /console/admin/webhooks`.
pub fn webhooks(f: &Frame, list: &[Webhook], agencies: &[Agency]) -> Markup {
    page(
        f,
        "Webhooks",
        "/console/admin/webhooks",
        html! {
            h1.el-heading-l { "Webhooks" }
            p.el-body { "The endpoints told of each step. They are registered through the API (POST /v1/admin/webhooks)." }
            @if list.is_empty() {
                p.el-body { "No webhook is registered." }
            } @else {
                table.el-table {
                    caption.el-visually-hidden { "Webhook endpoints, oldest first" }
                    thead { tr { th scope="col" { "Endpoint" } th scope="col" { "For" } th scope="col" { "Status" } th scope="col" { "Delivered" } th scope="col" { "Pending" } th scope="col" { "Failed" } th scope="col" { "Last error" } } }
                    tbody {
                        @for w in list {
                            tr {
                                td { a href={ "/console/admin/webhooks/" (w.id) } { (w.url) } }
                                td { (target_words(&w.target, agencies)) }
                                td { @if w.active { (tag("el-tag-green", "Active")) } @else { (tag("el-tag-grey", "Deactivated")) } }
                                td { (w.deliveries.delivered) }
                                td { (w.deliveries.pending) }
                                td { (w.deliveries.failed) }
                                td { (w.deliveries.last_error.as_deref().unwrap_or("None")) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /console/admin/webhooks/{id}`.
pub fn webhook(f: &Frame, w: &Webhook, deliveries: &[Delivery], agencies: &[Agency]) -> Markup {
    page(
        f,
        "Webhook deliveries",
        "/console/admin/webhooks",
        html! {
            span.el-caption-l { "Webhook " (short(&w.id)) }
            h1.el-heading-l { "Deliveries to " (w.url) }
            dl.el-summary-list {
                div.el-summary-row { dt { "For" } dd { (target_words(&w.target, agencies)) } }
                div.el-summary-row { dt { "Status" } dd { @if w.active { (tag("el-tag-green", "Active")) } @else { (tag("el-tag-grey", "Deactivated")) } } }
                div.el-summary-row { dt { "Registered" } dd { "Ledger entry " (w.registered_seq) ", " (w.created_at) } }
                div.el-summary-row { dt { "Last attempt" } dd { (w.deliveries.last_attempt_at.as_deref().unwrap_or("None yet")) } }
            }
            h2.el-heading-m { "Deliveries" }
            @if deliveries.is_empty() {
                p.el-body { "Nothing has been sent to it yet." }
            } @else {
                table.el-table {
                    caption.el-visually-hidden { "Deliveries, by ledger entry" }
                    thead { tr { th scope="col" { "Ledger entry" } th scope="col" { "Event" } th scope="col" { "Status" } th scope="col" { "Attempts" } th scope="col" { "Last attempt" } th scope="col" { "Last error" } } }
                    tbody {
                        @for d in deliveries {
                            tr {
                                td { (d.seq) }
                                td { (d.event) }
                                td { (delivery_tag(&d.status)) }
                                td { (d.attempts) }
                                td { (d.last_attempt_at.as_deref().unwrap_or("None")) }
                                td { (d.last_error.as_deref().unwrap_or("None")) }
                            }
                        }
                    }
                }
            }
            p.el-body { a href="/console/admin/webhooks" { "Back to the webhooks" } }
        },
    )
}

// ---- email ----

/// `GET /console/admin/email`.
pub fn email(f: &Frame, lists: &[Recipients], agencies: &[Agency], may_set: bool) -> Markup {
    let active: Vec<&Agency> = agencies.iter().filter(|a| a.retired_at.is_none()).collect();
    page(
        f,
        "Who gets email",
        "/console/admin/email",
        html! {
            h1.el-heading-l { "Who gets email" }
            p.el-body { "An agency’s list gets an email on every step of that agency’s disputes; a role’s list gets one when that role is due to act. Each email names the step and links to its page; it carries no free text and no child’s reference." }
            @if lists.is_empty() {
                p.el-body { "Nobody gets email yet." }
            } @else {
                table.el-table {
                    caption.el-visually-hidden { "Address lists, agencies then roles" }
                    thead { tr { th scope="col" { "For" } th scope="col" { "Addresses" } th scope="col" { "Set by ledger entry" } } }
                    tbody {
                        @for r in lists {
                            tr {
                                td { (target_words(&r.target, agencies)) }
                                td { @if r.addresses.is_empty() { "Nobody" } @else { ul.el-list { @for a in &r.addresses { li { (a) } } } } }
                                td { (r.seq) }
                            }
                        }
                    }
                }
            }
            @if may_set {
                h2.el-heading-m id="set" { "Set an address list" }
                form method="post" action="/console/admin/email" novalidate {
                    (csrf(&f.nav.csrf))
                    @let err = f.err("target");
                    div.el-form-group.el-form-group-error[err.is_some()] {
                        label.el-label for="target" { "For" }
                        (inline_error(err))
                        select.el-select id="target" name="target" aria-describedby=[err.map(|_| "target-error")] {
                            option value="" { "Choose an agency or a role" }
                            optgroup label="Agencies" {
                                @for a in &active {
                                    @let v = format!("agency:{}", a.id);
                                    option value=(v) selected[f.typed("target") == v] { (a.name) }
                                }
                            }
                            optgroup label="Roles" {
                                @for r in ROLES {
                                    @let v = format!("role:{}", r.as_str());
                                    option value=(v) selected[f.typed("target") == v] { (role_words(r)) }
                                }
                            }
                        }
                    }
                    (area(f, "addresses", "Email addresses", Some("One a line. The list replaces the one before; leave it empty so that nobody gets email. At most 50."), ""))
                    button.el-button type="submit" { "Save the list" }
                }
            }
        },
    )
}

// ---- redactions ----

/// Which redaction form the caller gets: the service's step for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedactionForm {
    None,
    Request,
    Approve,
}

/// `GET /console/admin/redactions`.
pub fn redactions(f: &Frame, list: &[Redaction], form: RedactionForm) -> Markup {
    page(
        f,
        "Redactions",
        "/console/admin/redactions",
        html! {
            h1.el-heading-l { "Redactions" }
            p.el-body { "Erasing an entry’s payload (personal data) takes two people: the partnership team requests it, and an independent scrutineer who did not request it approves. The entry and its hash stay, so the ledger still verifies." }
            @if list.is_empty() {
                p.el-body { "No erasure has been requested." }
            } @else {
                table.el-table {
                    caption.el-visually-hidden { "Redactions, by the entry erased" }
                    thead { tr {
                        th scope="col" { "Entry to erase" } th scope="col" { "Requested in entry" } th scope="col" { "Approved in entry" } th scope="col" { "Status" }
                        @if form == RedactionForm::Approve { th scope="col" { "Action" } }
                    } }
                    tbody {
                        @for r in list {
                            tr {
                                td { (r.target_seq) }
                                td { (r.requested_seq) }
                                td { @match r.approved_seq { Some(s) => { (s) }, None => { "Not yet" } } }
                                td { @if r.approved_seq.is_some() { (tag("el-tag-green", "Erased")) } @else { (tag("el-tag-yellow", "Awaiting approval")) } }
                                @if form == RedactionForm::Approve {
                                    td {
                                        @if r.approved_seq.is_none() {
                                            form method="post" action="/console/admin/redactions" {
                                                (csrf(&f.nav.csrf))
                                                input type="hidden" name="seq" value=(r.target_seq);
                                                button.el-button.el-button-warning.el-button-small type="submit" { "Approve erasing entry " (r.target_seq) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(e) = f.err("approve") {
                (inline_error(Some(e)))
            }
            @if form == RedactionForm::Request {
                h2.el-heading-m id="request" { "Request an erasure" }
                form method="post" action="/console/admin/redactions" novalidate {
                    (csrf(&f.nav.csrf))
                    (input(f, "seq", "Ledger entry", Some("The entry’s number (seq), as the ledger gives it."), ""))
                    (area(f, "reason", "Why must its payload be erased?", Some("For example, the summary names a child. Do not repeat the personal data here."), ""))
                    button.el-button type="submit" { "Request the erasure" }
                }
            }
        },
    )
}

// ---- witnesses ----

/// The latest checkpoint and its cosignatures, if one has been signed.
pub struct Latest {
    pub size: i64,
    /// The fewest cosignatures that can meet the quorum.
    pub quorum: u32,
    /// Whether the cosigning witnesses meet the quorum (a tlog-policy's groups, or a count).
    pub met: bool,
    pub cosignatures: Vec<StoredCosignature>,
}

/// `GET /console/admin/witnesses`.
pub fn witnesses(
    f: &Frame,
    list: &[(Witness, Option<PushStatus>)],
    latest: Option<&Latest>,
) -> Markup {
    page(
        f,
        "Witnesses",
        "/console/admin/witnesses",
        html! {
            h1.el-heading-l { "Witnesses" }
            p.el-body { "Witnesses are independent services that cosign the ledger’s checkpoints, so that nobody can show one history to some people and another to others. They are registered through the API (POST /v1/admin/witnesses)." }
            h2.el-heading-m { "The latest checkpoint" }
            @match latest {
                None => { p.el-body { "No checkpoint has been signed yet." } },
                Some(l) => {
                    @let enough = l.met;
                    dl.el-summary-list {
                        div.el-summary-row { dt { "Entries it covers" } dd { (l.size) } }
                        div.el-summary-row { dt { "Cosignatures" } dd {
                            (l.cosignatures.len()) " (at least " (l.quorum) " needed) "
                            @if enough { (tag("el-tag-green", "Fully witnessed")) } @else { (tag("el-tag-yellow", "Not yet fully witnessed")) }
                        } }
                    }
                    @if !l.cosignatures.is_empty() {
                        table.el-table {
                            caption.el-visually-hidden { "Cosignatures of the latest checkpoint" }
                            thead { tr { th scope="col" { "Witness" } th scope="col" { "Cosigned at (UTC)" } th scope="col" { "Signature line" } } }
                            tbody {
                                @for c in &l.cosignatures {
                                    tr {
                                        td { (c.witness) }
                                        td { (chrono::DateTime::from_timestamp(c.timestamp, 0).map(|t| t.format("%-d %B %Y at %H:%M:%S").to_string()).unwrap_or_default()) }
                                        td { code.el-hash { (c.line) } }
                                    }
                                }
                            }
                        }
                    }
                },
            }
            h2.el-heading-m { "Registered witnesses" }
            @if list.is_empty() {
                p.el-body { "No witness is registered." }
            } @else {
                table.el-table {
                    caption.el-visually-hidden { "Registered witnesses, by name" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Pushed to" } th scope="col" { "Last push" } } }
                    tbody {
                        @for (w, push) in list {
                            tr {
                                td { (w.name) }
                                td { code.el-hash { (w.key) } }
                                td { (w.url.as_deref().unwrap_or("Pull only")) }
                                td {
                                    @match push {
                                        None => { "None yet" },
                                        Some(p) => {
                                            @match &p.last_push_error {
                                                None => { (tag("el-tag-green", "Cosigned")) },
                                                Some(e) => { (tag("el-tag-red", "Failed")) " " (e) },
                                            }
                                        },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
