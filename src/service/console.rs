//! The console's use cases: one-time sign-in links, server-side sessions
//! with their form token, and what a dispute page shows beside the dispute
//! (which ladder actions the rung's rules would take from the viewer, and
//! whether each step of its history is proven in the latest checkpoint).
//!
//! Who may reach a dispute is not decided here (the edge's access table
//! decides, through `admit`, as for the API); which action the rung allows is
//! `ladder::decide`'s answer, asked without writing anything.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use sha2::{Digest, Sha256};

use crate::core::checkpoint::Checkpoint;
use crate::core::ladder::{self, Actor, Command, Dispute, Partner, Policy, Role, Status};
use crate::core::merkle;
use crate::core::note::{self, Verifier};
use crate::core::whistleblowing::WhistleKey;
use crate::service::disputes::{self, Admit, DisputeRead, Failed, Visible};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::policy_store;
use crate::store::console::{self as store, Identity, Swept};

/// One OpenID Connect sign-in in progress, as kept server-side.
pub use crate::store::console::FlowRow as Flow;
use crate::store::db::{read_tx, write_tx, DbConn};
use crate::store::ledger::{self as ledger_store, StoredEntry};
use crate::store::tree;

/// How long a sign-in link may be used after it was made.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);

/// How long an OpenID Connect sign-in may take from `/console/oidc/start` to
/// the callback.
pub const FLOW_LIFETIME: Duration = Duration::minutes(10);

/// The longest page a link or a sign-in may land on.
const NEXT_MAX: usize = 2048;

/// `next` if it is a page of this console to land on after sign-in: a local
/// path starting `/console/` (or `/console` itself), with no `//`, no
/// backslash, no `.` or `..` segment, no control character and no space, so
/// it can only ever name this service's console and never another site.
pub fn local_next(next: &str) -> Option<&str> {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    let ok = (next == "/console" || next.starts_with("/console/"))
        && next.len() <= NEXT_MAX
        && !next.contains("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && !path.split('/').any(|seg| seg == "." || seg == "..");
    ok.then_some(next)
}

/// When a session ends.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// Unused for this long: signed out.
    pub idle: std::time::Duration,
    /// This long after signing in: signed out, however busy.
    pub absolute: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle: std::time::Duration::from_secs(30 * 60),
            absolute: std::time::Duration::from_secs(12 * 3600),
        }
    }
}

/// SHA-256, hex: how tokens and session ids are stored.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// 32 random bytes, hex.
fn secret() -> ServiceResult<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
    Ok(hex::encode(b))
}

fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

fn identity(a: &Actor) -> Identity {
    Identity {
        sub: a.sub.clone(),
        role: a.role.as_str().into(),
        agency: a.agency.clone(),
        partner: a.partner.map(|p| p.as_str().to_string()),
    }
}

fn actor(i: Identity) -> ServiceResult<Actor> {
    let bad = |e: String| ServiceError::Internal(format!("a stored console identity: {e}"));
    Ok(Actor {
        role: i.role.parse::<Role>().map_err(bad)?,
        partner: i
            .partner
            .as_deref()
            .map(str::parse::<Partner>)
            .transpose()
            .map_err(bad)?,
        sub: i.sub,
        agency: i.agency,
    })
}

/// Make a one-time sign-in link for `who`: the token to put in the URL (only
/// its hash is stored). The identity follows the token rules: an agency user
/// names an agency in the registry, a statutory partner or chief officer a partner.
pub fn issue_link(conn: &mut DbConn, who: &Actor) -> ServiceResult<String> {
    issue_link_to(conn, who, None)
}

/// [`issue_link`], landing on console page `next` after sign-in. The page is
/// stored with the link's row (the URL cannot change it); one that is not a
/// [`local_next`] is refused. Links past their lifetime are deleted here.
pub fn issue_link_to(conn: &mut DbConn, who: &Actor, next: Option<&str>) -> ServiceResult<String> {
    if let Some(n) = next {
        if local_next(n).is_none() {
            return Err(ServiceError::BadRequest(format!(
                "--next {:?}: a sign-in link lands on a console page: a path starting /console/, \
                 with no //, no backslash, no . or .. segment and no spaces",
                crate::core::input::escape_controls(n)
            )));
        }
    }
    check_identity(who)?;
    let token = secret()?;
    let at = now();
    write_tx(conn, |conn| {
        if let Some(a) = &who.agency {
            crate::service::registry::require_known(conn, std::slice::from_ref(a))?;
        }
        store::sweep(conn, at - LINK_LIFETIME, at - FLOW_LIFETIME, None)?;
        store::insert_link(conn, &digest(&token), &identity(who), next, at)?;
        Ok::<_, ServiceError>(())
    })?;
    Ok(token)
}

/// The identity rules of a sign-in (by link or by OpenID Connect): a `sub`
/// with no control character; an agency user names an agency; a statutory
/// partner or chief officer a partner.
fn check_identity(who: &Actor) -> ServiceResult<()> {
    crate::core::input::text("sub", &who.sub)?;
    match (who.role, &who.agency, who.partner) {
        (Role::Agency, None, _) => {
            return Err(ServiceError::BadRequest(
                "an agency user needs --agency".into(),
            ))
        }
        (Role::StatutoryPartner | Role::ChiefOfficer, _, None) => {
            return Err(ServiceError::BadRequest(format!(
                "{} needs --partner",
                who.role.with_article()
            )))
        }
        _ => {}
    }
    Ok(())
}

/// A session just made: the id for the cookie and its form token, and the
/// console page to land on.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub csrf: String,
    pub actor: Actor,
    /// The page the link was made for (`console-link --next`), or the one the
    /// OpenID Connect sign-in was started from.
    pub next: Option<String>,
}

/// Delete what can no longer sign anyone in (links and flows past their
/// lifetime, sessions past either timeout), as of `at`.
fn sweep(conn: &mut DbConn, at: NaiveDateTime, limits: Timeouts) -> ServiceResult<Swept> {
    let span = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::MAX);
    let before =
        |d: std::time::Duration| at.checked_sub_signed(span(d)).unwrap_or(NaiveDateTime::MIN);
    Ok(store::sweep(
        conn,
        at - LINK_LIFETIME,
        at - FLOW_LIFETIME,
        Some((before(limits.idle), before(limits.absolute))),
    )?)
}

/// Start a session for `who`, first sweeping the sign-in tables: every
/// sign-in cleans up after the ones before it. Inside the caller's transaction.
fn start_session(
    conn: &mut DbConn,
    who: Identity,
    next: Option<String>,
    at: NaiveDateTime,
    limits: Timeouts,
) -> ServiceResult<NewSession> {
    let swept = sweep(conn, at, limits)?;
    if swept != Swept::default() {
        tracing::debug!(
            links = swept.links,
            sessions = swept.sessions,
            flows = swept.flows,
            "console sign-in rows swept"
        );
    }
    let (id, csrf) = (secret()?, secret()?);
    store::insert_session(conn, &digest(&id), &who, &csrf, at)?;
    Ok(NewSession {
        id,
        csrf,
        actor: actor(who)?,
        next: next.filter(|n| local_next(n).is_some()),
    })
}

/// Use a sign-in link: a new session, or `None` if the link is unknown, was
/// used already, or is older than [`LINK_LIFETIME`]. `limits` are the
/// session timeouts the sweep applies.
pub fn redeem(
    conn: &mut DbConn,
    token: &str,
    limits: Timeouts,
) -> ServiceResult<Option<NewSession>> {
    let at = now();
    write_tx(conn, |conn| {
        let Some(taken) = store::take_link(conn, &digest(token), at - LINK_LIFETIME, at)? else {
            return Ok(None);
        };
        start_session(conn, taken.identity, taken.next, at, limits).map(Some)
    })
}

/// Sign in `who`, vouched for by the identity provider (OpenID Connect):
/// the same identity rules as a link, and the same session.
pub fn sign_in_verified(
    conn: &mut DbConn,
    who: &Actor,
    next: Option<String>,
    limits: Timeouts,
) -> ServiceResult<NewSession> {
    check_identity(who)?;
    let at = now();
    write_tx(conn, |conn| {
        if let Some(a) = &who.agency {
            crate::service::registry::require_known(conn, std::slice::from_ref(a))?;
        }
        start_session(conn, identity(who), next, at, limits)
    })
}

/// Keep an OpenID Connect sign-in in progress: the id for the browser's
/// cookie (only its hash is stored). Flows past [`FLOW_LIFETIME`] are deleted here.
pub fn begin_flow(conn: &mut DbConn, flow: &Flow) -> ServiceResult<String> {
    let id = secret()?;
    let at = now();
    write_tx(conn, |conn| {
        store::sweep(conn, at - LINK_LIFETIME, at - FLOW_LIFETIME, None)?;
        store::insert_flow(conn, &digest(&id), flow, at)?;
        Ok::<_, ServiceError>(())
    })?;
    Ok(id)
}

/// Take the flow whose cookie holds `id`, once: `None` if there is none, it
/// was taken already, or it is older than [`FLOW_LIFETIME`].
pub fn take_flow(conn: &mut DbConn, id: &str) -> ServiceResult<Option<Flow>> {
    let at = now();
    write_tx(conn, |conn| {
        Ok(store::take_flow(conn, &digest(id), at - FLOW_LIFETIME)?)
    })
}

/// A live session: who, and the token its forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub csrf: String,
}

/// The session with cookie value `id`, if it exists and has timed out in
/// neither way; a timed-out session is deleted. Using it restarts the idle clock.
pub fn session(conn: &mut DbConn, id: &str, limits: Timeouts) -> ServiceResult<Option<Session>> {
    let key = digest(id);
    let Some(row) = store::session(conn, &key)? else {
        return Ok(None);
    };
    let at = now();
    let span = |d: std::time::Duration| Duration::from_std(d).unwrap_or(Duration::MAX);
    if at - row.last_seen_at > span(limits.idle) || at - row.created_at > span(limits.absolute) {
        store::delete_session(conn, &key)?;
        return Ok(None);
    }
    store::touch_session(conn, &key, at)?;
    Ok(Some(Session {
        actor: actor(row.identity)?,
        csrf: row.csrf,
    }))
}

/// Sign out: the session is gone.
pub fn sign_out(conn: &mut DbConn, id: &str) -> ServiceResult<()> {
    Ok(store::delete_session(conn, &digest(id))?)
}

/// The ladder actions the rung's rules would take from a viewer now (asked
/// of `ladder::decide`, nothing written).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub propose: bool,
    pub escalate: bool,
    pub withdraw: bool,
    /// The open proposal the viewer may accept.
    pub accept: Option<String>,
    /// The open proposal the viewer may reject.
    pub reject: Option<String>,
}

impl Options {
    pub fn any(&self) -> bool {
        self.propose || self.escalate || self.withdraw || self.accept.is_some()
    }
}

/// What `ladder::decide` would let `viewer` do on `d` (as recorded: a
/// whistleblower acts under their pseudonym on their concern).
pub fn options(policy: &Policy, d: &Dispute, viewer: &Actor, key: &WhistleKey) -> Options {
    let viewer = key.mask_for(d, viewer.clone());
    let may = |cmd: Command| ladder::decide(policy, d, &viewer, &cmd).is_ok();
    if d.status != Status::Open {
        return Options::default();
    }
    let open = d.open_proposal().map(|p| p.id.clone());
    Options {
        propose: may(Command::Propose {
            proposal_id: "preview".into(),
        }),
        escalate: may(Command::Escalate),
        withdraw: may(Command::Withdraw),
        accept: open.clone().filter(|id| {
            may(Command::Accept {
                proposal_id: id.clone(),
            })
        }),
        reject: open.filter(|id| {
            may(Command::Reject {
                proposal_id: id.clone(),
            })
        }),
    }
}

/// Whether a step of a dispute's history is proven in the latest checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// Its inclusion proof leads to the root of the latest checkpoint, whose
    /// signature verifies under the log's key.
    Verified,
    /// Newer than the latest checkpoint: not yet provable.
    Pending,
    /// The proof does not lead to the checkpoint's root.
    Failed,
}

/// One dispute as its page shows it.
#[derive(Debug, Clone)]
pub struct DisputePage {
    pub read: DisputeRead,
    pub policy: Arc<Policy>,
    /// Its ledger entries, oldest first, with whether each is proven.
    pub history: Vec<(StoredEntry, Proof)>,
    /// The size of the checkpoint the proofs were checked against.
    pub checkpoint_size: Option<u64>,
}

/// Dispute `id` as `admit` lets the caller see it, with its history and the
/// proof of each step against the latest checkpoint signed by `log`.
pub fn dispute_page<E: From<ServiceError>>(
    conn: &mut DbConn,
    id: &str,
    log: &Verifier,
    admit: impl Admit<E>,
) -> Result<(Actor, DisputePage), E> {
    read_tx(conn, |conn| {
        let (actor, rec, policy) = disputes::load_admitted(conn, id, admit)?;
        let read = disputes::read_record(conn, rec)?;
        let entries = ledger_store::entries(conn, Some(id), 0, 10_000)?;
        let (size, history) = prove(conn, log, entries)?;
        Ok((
            actor,
            DisputePage {
                read,
                policy,
                history,
                checkpoint_size: size,
            },
        ))
    })
    .map_err(Failed::into_caller)
}

/// A dispute's entries, each with whether it is proven.
pub type Steps = Vec<(StoredEntry, Proof)>;

/// Check each entry's inclusion proof against the latest signed checkpoint
/// (also the auditor's entry page, `service::auditor::entry`).
pub fn prove(
    conn: &mut DbConn,
    log: &Verifier,
    entries: Vec<StoredEntry>,
) -> ServiceResult<(Option<u64>, Steps)> {
    let Some(signed) = crate::store::checkpoints::latest(conn)? else {
        return Ok((
            None,
            entries.into_iter().map(|e| (e, Proof::Pending)).collect(),
        ));
    };
    // The root comes from the signed note, checked against the log's key.
    let opened = note::open_note(&signed.note, std::slice::from_ref(log))
        .map_err(|e| ServiceError::Internal(format!("the latest checkpoint: {e}")))?;
    let cp = Checkpoint::parse(&opened.text)
        .map_err(|e| ServiceError::Internal(format!("the latest checkpoint: {e}")))?;
    let size = cp.size();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let seq = e.entry.seq as u64;
        let proof = if seq >= size {
            Proof::Pending
        } else {
            let p = tree::inclusion(conn, seq, size)?;
            match merkle::verify_inclusion(&e.entry.entry_hash, seq, size, &p.path, cp.root_hash())
            {
                Ok(()) => Proof::Verified,
                Err(_) => Proof::Failed,
            }
        };
        out.push((e, proof));
    }
    Ok((Some(size), out))
}

/// A dispute in a list, with the policy it follows.
#[derive(Debug, Clone)]
pub struct Listed {
    pub read: DisputeRead,
    pub policy: Arc<Policy>,
}

/// The disputes `visible` lets the caller see (newest first, at most
/// `limit`, filtered as `q` says), each with its policy.
pub fn listed(
    conn: &mut DbConn,
    visible: Visible,
    q: disputes::ListQuery,
) -> ServiceResult<Vec<Listed>> {
    let rows = disputes::list(conn, visible, q)?;
    rows.into_iter()
        .map(|read| {
            let policy = policy_store::of(conn, &read.record.state.policy)?;
            Ok(Listed { read, policy })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::local_next;

    #[test]
    fn only_pages_of_this_console_are_places_to_land() {
        for ok in [
            "/console",
            "/console/",
            "/console/disputes",
            "/console/disputes/0b6f-1?done=raised",
            "/console/disputes?status=open&agency=kingston-council",
        ] {
            assert_eq!(local_next(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "/",
            "console/disputes",
            "/consolefoo",
            "/v1/disputes",
            "https://evil.example/console/",
            "//evil.example/console/",
            "/console//evil.example",
            "/console/\\evil.example",
            "/console/../v1/disputes",
            "/console/./disputes",
            "/console/dis putes",
            "/console/\u{0}x",
            "/console/\nSet-Cookie: x",
        ] {
            assert_eq!(local_next(bad), None, "{bad:?}");
        }
        assert_eq!(local_next(&format!("/console/{}", "a".repeat(3000))), None);
    }
}
