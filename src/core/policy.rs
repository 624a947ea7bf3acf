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
}
