//! Ladder policy documents: TOML in, a validated [`Policy`] out.
//!
//! Pure: no database. A document names its rungs in order, the entry rule, who
//! may propose, accept and escalate on each rung, the targets and the
//! auto-escalation rule (see `assets/policies/*.toml`). Every error names the
//! line and column it was found at. `policy_store` keeps documents in the
//! database and records their activation in the ledger.

use std::ops::Range;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::core::ladder::{Acceptors, EntryRule, Policy, Role, Rung, RungRule, Who};

/// The policy a new ledger starts with.
pub const DEFAULT_VERSION: &str = "krscp-2024-02";

/// The documents shipped in the binary: (version, text).
pub const SHIPPED: [(&str, &str); 2] = [
    (
        "krscp-2024-02",
        include_str!("../../assets/policies/krscp-2024-02.toml"),
    ),
    (
        "wt-2023",
        include_str!("../../assets/policies/wt-2023.toml"),
    ),
];

/// A document refused at load, with where in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct DocError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Hex SHA-256 of a document's exact bytes: what activation records.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A shipped policy, parsed once.
pub fn shipped(version: &str) -> Option<Arc<Policy>> {
    static PARSED: OnceLock<Vec<Arc<Policy>>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            SHIPPED
                .iter()
                .map(|(v, text)| match parse(text) {
                    Ok(p) => Arc::new(p),
                    // A unit test parses every shipped document.
                    Err(e) => panic!("shipped policy {v} is invalid: {e}"),
                })
                .collect()
        })
        .iter()
        .find(|p| p.version == version)
        .cloned()
}

/// The text of a shipped document.
pub fn shipped_text(version: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(v, _)| *v == version).map(|(_, t)| *t)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    version: Spanned<String>,
    title: String,
    entry: EntryDoc,
    #[serde(default)]
    roles: RolesDoc,
    rung: Spanned<Vec<Spanned<RungDoc>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    rung: Spanned<String>,
    many_parties: Spanned<usize>,
    many_parties_rung: Spanned<String>,
    complex_rung: Spanned<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesDoc {
    mediation_rung: Option<Spanned<String>>,
    chief_officers_from: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RungDoc {
    name: Spanned<String>,
    propose: Spanned<Vec<Spanned<String>>>,
    accept: Spanned<Acceptors>,
    escalate: Spanned<Vec<Spanned<String>>>,
    target_working_days: u32,
    #[serde(default)]
    urgent_target_working_hours: u32,
    auto_escalate: Option<Spanned<bool>>,
}

/// Parse and validate a policy document.
pub fn parse(text: &str) -> Result<Policy, DocError> {
    let at = |span: Range<usize>, message: String| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        DocError {
            line,
            column,
            message,
        }
    };
    let doc: Doc = toml::from_str(text)
        .map_err(|e| at(e.span().unwrap_or(0..0), e.message().trim().to_string()))?;

    if !valid_version(doc.version.get_ref()) {
        return Err(at(
            doc.version.span(),
            "version must be 1 to 64 of a-z, 0-9, '.', '-' and '_', starting with a letter or digit"
                .into(),
        ));
    }
    let rung_docs = doc.rung.get_ref();
    if rung_docs.len() < 2 {
        return Err(at(
            doc.rung.span(),
            "a ladder needs at least two [[rung]] tables".into(),
        ));
    }
    let mut rungs: Vec<RungRule> = Vec::with_capacity(rung_docs.len());
    for (i, r) in rung_docs.iter().enumerate() {
        let r = r.get_ref();
        let rung: Rung = r
            .name
            .get_ref()
            .parse()
            .map_err(|e: String| at(r.name.span(), e))?;
        if rungs.iter().any(|x| x.rung == rung) {
            return Err(at(r.name.span(), format!("rung '{rung}' is listed twice")));
        }
        let top = i + 1 == rung_docs.len();
        let auto = r.auto_escalate.as_ref().is_some_and(|a| *a.get_ref());
        let who = |list: &Spanned<Vec<Spanned<String>>>| -> Result<Vec<Who>, DocError> {
            list.get_ref()
                .iter()
                .map(|w| parse_who(w.get_ref()).map_err(|e| at(w.span(), e)))
                .collect()
        };
        let propose = who(&r.propose)?;
        if propose.is_empty() {
            return Err(at(
                r.propose.span(),
                format!("nobody may propose on rung '{rung}'"),
            ));
        }
        let escalate = who(&r.escalate)?;
        if top && !escalate.is_empty() {
            return Err(at(
                r.escalate.span(),
                format!("'{rung}' is the top rung; nobody can escalate from it"),
            ));
        }
        if !top && escalate.is_empty() && !auto {
            return Err(at(
                r.escalate.span(),
                format!(
                    "nobody may escalate from rung '{rung}', and it does not escalate on its own"
                ),
            ));
        }
        let accept = *r.accept.get_ref();
        if let Acceptors::AllPartners(role) = accept {
            if matches!(role, Role::Agency | Role::Auditor) {
                return Err(at(
                    r.accept.span(),
                    format!("all_partners needs a role whose users carry a partner, not '{role}'"),
                ));
            }
        }
        if let Some(a) = r.auto_escalate.as_ref().filter(|_| auto) {
            if top || r.target_working_days == 0 {
                return Err(at(
                    a.span(),
                    "auto_escalate needs a rung above and a target_working_days over 0".into(),
                ));
            }
        }
        rungs.push(RungRule {
            rung,
            propose,
            accept,
            escalate,
            target_working_days: r.target_working_days,
            urgent_target_working_hours: r.urgent_target_working_hours,
            auto_escalate: auto,
        });
    }
    let known = |name: &Spanned<String>| -> Result<Rung, DocError> {
        rungs
            .iter()
            .map(|r| r.rung)
            .find(|r| r.as_str() == name.get_ref())
            .ok_or_else(|| {
                at(
                    name.span(),
                    format!("'{}' is not a rung of this policy", name.get_ref()),
                )
            })
    };
    let e = &doc.entry;
    if *e.many_parties.get_ref() < 3 {
        return Err(at(
            e.many_parties.span(),
            "many_parties must be 3 or more: every dispute has at least two parties".into(),
        ));
    }
    let entry = EntryRule {
        rung: known(&e.rung)?,
        many_parties: *e.many_parties.get_ref(),
        many_parties_rung: known(&e.many_parties_rung)?,
        complex_rung: known(&e.complex_rung)?,
    };
    let optional = |name: &Option<Spanned<String>>| name.as_ref().map(&known).transpose();
    Ok(Policy {
        version: doc.version.into_inner(),
        title: doc.title,
        entry,
        mediation_rung: optional(&doc.roles.mediation_rung)?,
        chief_officers_from: optional(&doc.roles.chief_officers_from)?,
        rungs,
    })
}

fn valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

fn parse_who(s: &str) -> Result<Who, String> {
    if s == "party_agency" {
        return Ok(Who::PartyAgency);
    }
    Role::from_str(s)
        .map(Who::Role)
        .map_err(|_| format!("'{s}' is neither 'party_agency' nor a role"))
}

/// The rung names of a document in order (for messages and listings).
impl Policy {
    /// The KRSCP arrangements (February 2024 text, seed section 5.2), from the
    /// shipped document `assets/policies/krscp-2024-02.toml`.
    pub fn krscp() -> Self {
        shipped(DEFAULT_VERSION)
            .map(|p| (*p).clone())
            .unwrap_or_else(|| unreachable!("the default policy is shipped"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rung below the top needs someone who may escalate from it, unless
    /// it escalates on its own.
    #[test]
    fn a_rung_below_the_top_must_be_left_somehow() {
        let stuck = "escalate = []\ntarget_working_days = 5\nurgent_target_working_hours = 8\n\n[[rung]]\nname = \"slg\"";
        let from = "escalate = [\"party_agency\"]\ntarget_working_days = 5\nurgent_target_working_hours = 8\n\n[[rung]]\nname = \"slg\"";
        let e = err(&krscp_with(from, stuck));
        assert!(
            e.message
                .starts_with("nobody may escalate from rung 'agencies', and it does not"),
            "{e}"
        );
        let auto = stuck.replacen("escalate = []", "escalate = []\nauto_escalate = true", 1);
        let p = parse(&krscp_with(from, &auto)).expect("it escalates on its own");
        assert!(p.rungs[0].auto_escalate && p.rungs[0].escalate.is_empty());
    }

    /// Versions: lower case, digits, '.', '-', '_', starting with a letter or
    /// digit, 1 to 64 characters.
    #[test]
    fn versions_are_checked_rule_by_rule() {
        for good in ["krscp-2024-02", "2024.1_a", &"a".repeat(64)] {
            assert!(valid_version(good), "{good}");
        }
        for bad in ["", "KRSCP", "-krscp", "krscp 2024", &"a".repeat(65)] {
            assert!(!valid_version(bad), "{bad}");
        }
    }

    /// FIPS 180-2's "abc" vector, and the empty string's, as `sha256sum`
    /// prints them: the hash activation records is plain SHA-256 in hex.
    #[test]
    fn sha256_hex_matches_published_vectors() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_shipped_document_parses_under_its_own_version() {
        for (v, text) in SHIPPED {
            let p = parse(text).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(p.version, v);
            assert!(shipped(v).is_some());
        }
        let k = shipped(DEFAULT_VERSION).unwrap();
        assert_eq!(
            k.rung_names(),
            [
                "agencies",
                "slg",
                "statutory_partners",
                "scrutineer",
                "chief_executives",
                "secretary_of_state"
            ]
        );
        let wt = shipped("wt-2023").unwrap();
        assert!(wt.rungs[0].auto_escalate);
        assert_ne!(wt.rung_names(), k.rung_names());
    }

    fn err(text: &str) -> DocError {
        parse(text).expect_err("refused")
    }

    fn krscp_with(from: &str, to: &str) -> String {
        let text = shipped_text(DEFAULT_VERSION).unwrap();
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1)
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn errors_name_the_line() {
        let t = krscp_with(
            "many_parties_rung = \"slg\"",
            "many_parties_rung = \"board\"",
        );
        let e = err(&t);
        assert_eq!(e.line, line_of(&t, "many_parties_rung"), "{e}");
        assert!(e.message.contains("'board' is not a rung"), "{e}");

        let t = krscp_with("propose = [\"slg\"]", "propose = [\"slg\", \"mayor\"]");
        let e = err(&t);
        assert_eq!(e.line, line_of(&t, "\"mayor\""), "{e}");
        assert!(e.message.contains("'mayor'"), "{e}");
        // The column too, counted from 1, at the offending value.
        let text = t.lines().nth(e.line - 1).expect("the line");
        assert_eq!(Some(e.column), text.find("\"mayor\"").map(|c| c + 1), "{e}");

        let t = krscp_with("target_working_days = 5", "target_working_days = \"five\"");
        let e = err(&t);
        assert_eq!(e.line, line_of(&t, "\"five\""), "{e}");

        let t = krscp_with("name = \"slg\"", "name = \"agencies\"");
        let e = err(&t);
        assert!(e.message.contains("listed twice"), "{e}");
        let second = t
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("name = \"agencies\""))
            .nth(1)
            .unwrap()
            .0;
        assert_eq!(e.line, second + 1, "{e}");

        let t = krscp_with("title =", "titel =");
        assert!(err(&t).message.contains("titel"), "{}", err(&t));

        let t = krscp_with("escalate = []", "escalate = [\"slg\"]");
        assert!(err(&t).message.contains("top rung"), "{}", err(&t));

        let t = krscp_with("many_parties = 3", "many_parties = 2");
        assert_eq!(err(&t).line, line_of(&t, "many_parties = 2"));

        let t = krscp_with(
            "accept = { all_partners = \"statutory_partner\" }",
            "accept = { all_partners = \"auditor\" }",
        );
        assert!(err(&t).message.contains("auditor"), "{}", err(&t));

        let t = krscp_with("version = \"krscp-2024-02\"", "version = \"KRSCP 2024\"");
        assert_eq!(err(&t).line, line_of(&t, "KRSCP 2024"));

        let e = err("version = \"x\"\ntitle = \"t\"\n[entry\n");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn auto_escalation_needs_a_target_and_a_rung_above() {
        let t = shipped_text("wt-2023").unwrap().replacen(
            "target_working_days = 5\nurgent_target_working_hours = 8\nauto_escalate = true",
            "target_working_days = 0\nurgent_target_working_hours = 8\nauto_escalate = true",
            1,
        );
        let e = err(&t);
        assert!(e.message.contains("auto_escalate"), "{e}");
        assert_eq!(e.line, line_of(&t, "auto_escalate = true"));
    }

    // ---- rung skipping, over every shipped policy and generated ones ----

    use crate::core::ladder::{
        apply, decide, raise, start, Actor, Command, Event, Partner, ProposalStatus, Status,
    };
    use proptest::prelude::*;

    fn actor(role: Role, agency: Option<&str>, partner: Option<Partner>) -> Actor {
        Actor {
            sub: format!("{role}-{agency:?}-{partner:?}"),
            role,
            agency: agency.map(str::to_string),
            partner,
        }
    }

    fn any_actor() -> impl Strategy<Value = Actor> {
        let partner = prop_oneof![Just(Partner::La), Just(Partner::Icb), Just(Partner::Police)];
        prop_oneof![
            prop_oneof![Just("a"), Just("b"), Just("c"), Just("x")].prop_map(|a| actor(
                Role::Agency,
                Some(a),
                None
            )),
            Just(actor(Role::Slg, None, None)),
            partner
                .clone()
                .prop_map(|p| actor(Role::StatutoryPartner, None, Some(p))),
            partner.prop_map(|p| actor(Role::ChiefOfficer, None, Some(p))),
            Just(actor(Role::Scrutineer, None, None)),
            Just(actor(Role::PartnershipAdmin, None, None)),
            Just(actor(Role::Auditor, None, None)),
        ]
    }

    const WHO: [&str; 6] = [
        "party_agency",
        "slg",
        "statutory_partner",
        "chief_officer",
        "scrutineer",
        "partnership_admin",
    ];
    const ACCEPT: [&str; 4] = [
        "\"party_agencies\"",
        "\"none\"",
        "{ all_partners = \"statutory_partner\" }",
        "{ all_partners = \"chief_officer\" }",
    ];

    /// A policy document of 2 to 6 rungs (names from a fixed pool, so the
    /// interned names stay few), each with its own proposers, acceptors and
    /// escalators (bit masks over [`WHO`]); the last rung escalates nowhere.
    fn any_document() -> impl Strategy<Value = String> {
        (2usize..=6).prop_flat_map(|n| {
            proptest::collection::vec((1u8..64, 0usize..4, 1u8..64), n).prop_map(move |rungs| {
                let names: Vec<String> = (0..n).map(|i| format!("gen_rung_{i}")).collect();
                let who = |mask: u8| {
                    let list: Vec<String> = WHO
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, w)| format!("\"{w}\""))
                        .collect();
                    format!("[{}]", list.join(", "))
                };
                let mut doc = format!(
                    "version = \"generated\"\ntitle = \"generated\"\n\n[entry]\nrung = \"{first}\"\n\
                     many_parties = 3\nmany_parties_rung = \"{second}\"\ncomplex_rung = \"{second}\"\n\n\
                     [roles]\nmediation_rung = \"{second}\"\nchief_officers_from = \"{last}\"\n",
                    first = names[0],
                    second = names[1],
                    last = names[n - 1],
                );
                for (i, (propose, accept, escalate)) in rungs.iter().enumerate() {
                    let last = i == n - 1;
                    doc.push_str(&format!(
                        "\n[[rung]]\nname = \"{}\"\npropose = {}\naccept = {}\nescalate = {}\n\
                         target_working_days = {}\nurgent_target_working_hours = {}\n",
                        names[i],
                        who(*propose),
                        ACCEPT[*accept],
                        if last { "[]".to_string() } else { who(*escalate) },
                        if last { 0 } else { 5 },
                        if last { 0 } else { 8 },
                    ));
                }
                doc
            })
        })
    }

    /// Random commands by random callers on a dispute under `policy`: every
    /// `escalated` event goes from the rung the dispute is on to the next one,
    /// a closed dispute refuses everything, at most one proposal is open.
    fn walk(
        policy: &Policy,
        three: bool,
        complex: bool,
        steps: &[(Actor, u8)],
    ) -> Result<crate::core::ladder::Dispute, TestCaseError> {
        let parties: Vec<String> = if three {
            vec!["a", "b", "c"]
        } else {
            vec!["a", "b"]
        }
        .into_iter()
        .map(str::to_string)
        .collect();
        let raiser = actor(Role::Agency, Some("a"), None);
        let raised = raise(policy, &raiser, &parties, false, complex, false)
            .map_err(|e| TestCaseError::fail(format!("raise: {e:?}")))?;
        let mut d = start("d", &raiser, &raised).map_err(TestCaseError::fail)?;
        for (n, (who, c)) in steps.iter().enumerate() {
            let last = d.proposals.last().map(|p| p.id.clone()).unwrap_or_default();
            let cmd = match c {
                0 => Command::Propose {
                    proposal_id: format!("p{n}"),
                },
                1 | 2 => Command::Accept { proposal_id: last },
                3 => Command::Reject { proposal_id: last },
                4 => Command::Escalate,
                _ => Command::Withdraw,
            };
            let outcome = decide(policy, &d, who, &cmd);
            if d.status != Status::Open {
                prop_assert!(outcome.is_err(), "a closed dispute took {cmd:?}");
                continue;
            }
            let Ok(events) = outcome else { continue };
            for e in &events {
                if let Event::Escalated { from, to, .. } = e {
                    prop_assert_eq!(*from, d.rung);
                    prop_assert_eq!(Some(*to), policy.next(*from), "from {}", from);
                }
                apply(&mut d, who, e).map_err(TestCaseError::fail)?;
            }
            prop_assert!(
                d.proposals
                    .iter()
                    .filter(|p| p.status == ProposalStatus::Open)
                    .count()
                    <= 1
            );
        }
        Ok(d)
    }

    fn any_steps() -> impl Strategy<Value = Vec<(Actor, u8)>> {
        proptest::collection::vec((any_actor(), 0u8..6), 0..80)
    }

    proptest! {
        #[test]
        fn no_shipped_policy_skips_a_rung(
            which in 0usize..SHIPPED.len(),
            three in any::<bool>(),
            complex in any::<bool>(),
            steps in any_steps(),
        ) {
            let policy = parse(SHIPPED[which].1).expect("shipped");
            walk(&policy, three, complex, &steps)?;
        }

        #[test]
        fn no_generated_policy_skips_a_rung(
            doc in any_document(),
            three in any::<bool>(),
            complex in any::<bool>(),
            steps in any_steps(),
        ) {
            let policy = parse(&doc).unwrap_or_else(|e| panic!("{e}\n{doc}"));
            walk(&policy, three, complex, &steps)?;
        }
    }

    /// The walk does climb: the escalations it checks are reached.
    #[test]
    fn the_walk_climbs_the_ladder() {
        let p = parse(SHIPPED[0].1).expect("krscp");
        let steps = [
            (actor(Role::Agency, Some("a"), None), 4),
            (actor(Role::Slg, None, None), 4),
        ];
        let d = walk(&p, false, false, &steps).expect("walk");
        assert_eq!(d.rung, p.rungs[2].rung);
    }
}
