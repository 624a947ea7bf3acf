//! C2SP `tlog-policy` files: which logs and witnesses a verifier trusts, and
//! the quorum of cosignatures a checkpoint needs. Pure: no I/O.
//!
//! [c2sp.org/tlog-policy]: lines `log <vkey> [<url>]`, `witness <name> <vkey>
//! [<url>]`, `group <name> all|any|<k> <name>...` and exactly one `quorum
//! <name>` (or `quorum none`); names are defined before they are used, each
//! member listed once, `1 <= k <= n`; `#` comments and blank lines ignored;
//! only tab, newline, 0x20-0x7E and bytes >= 0x80; no two logs and no two
//! witnesses wrapping the same public key.
//!
//! Keys: a log is Ed25519 (`0x01`) or ML-DSA-44 (`0x06`, `core::pq`); a
//! witness is Ed25519 `cosignature/v1` (`0x04`) or ML-DSA-44 (`0x06`).
//! [`Policy::verify`] opens a checkpoint note: at least one listed log's
//! signature must verify and none may fail, the origin must be that log
//! key's name, every known witness's line must verify, and the quorum must be met.
//!
//! [c2sp.org/tlog-policy]: https://c2sp.org/tlog-policy

use std::collections::BTreeSet;

use crate::core::checkpoint::{Checkpoint, Cosignature, CosignatureVerifier};
use crate::core::note::{Note, NoteError, NoteSignature, Verifier};
use crate::core::pq::{vkey_type, MlDsaVerifier, ALG_MLDSA44};

/// The implementation limits (tlog-policy §Implementation limits asks for at
/// least 32 of each).
pub const MAX_ENTRIES: usize = 256;

/// A log's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogKey {
    Ed25519(Verifier),
    MlDsa44(MlDsaVerifier),
}

impl LogKey {
    pub fn name(&self) -> &str {
        match self {
            LogKey::Ed25519(v) => v.name(),
            LogKey::MlDsa44(v) => v.name(),
        }
    }

    fn key_id(&self) -> u32 {
        match self {
            LogKey::Ed25519(v) => v.key_id(),
            LogKey::MlDsa44(v) => v.key_id(),
        }
    }

    fn raw(&self) -> Vec<u8> {
        match self {
            LogKey::Ed25519(v) => v.public_key().to_vec(),
            LogKey::MlDsa44(v) => v.public_key().to_vec(),
        }
    }

    pub fn key_string(&self) -> String {
        match self {
            LogKey::Ed25519(v) => v.key_string(),
            LogKey::MlDsa44(v) => v.key_string(),
        }
    }
}

/// A witness's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessKey {
    CosignatureV1(CosignatureVerifier),
    MlDsa44(MlDsaVerifier),
}

impl WitnessKey {
    /// Parses a witness vkey of type 0x04 or 0x06.
    pub fn from_key_string(vkey: &str) -> Result<Self, String> {
        match vkey_type(vkey) {
            Some(ALG_MLDSA44) => MlDsaVerifier::from_key_string(vkey)
                .map(WitnessKey::MlDsa44)
                .map_err(|e| e.to_string()),
            _ => CosignatureVerifier::from_key_string(vkey)
                .map(WitnessKey::CosignatureV1)
                .map_err(|e| e.to_string()),
        }
    }

    pub fn key_string(&self) -> String {
        match self {
            WitnessKey::CosignatureV1(v) => v.key_string(),
            WitnessKey::MlDsa44(v) => v.key_string(),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            WitnessKey::CosignatureV1(v) => v.name(),
            WitnessKey::MlDsa44(v) => v.name(),
        }
    }

    fn key_id(&self) -> u32 {
        match self {
            WitnessKey::CosignatureV1(v) => v.key_id(),
            WitnessKey::MlDsa44(v) => v.key_id(),
        }
    }

    fn raw(&self) -> Vec<u8> {
        match self {
            WitnessKey::CosignatureV1(v) => v.public_key().to_vec(),
            WitnessKey::MlDsa44(v) => v.public_key().to_vec(),
        }
    }

    /// Checks one cosignature line by this key over `cp` (either type); the
    /// parsed line and its timestamp. [`NoteError::UnknownSigner`] when the
    /// line is by another key.
    pub fn verify_line(
        &self,
        cp: &Checkpoint,
        line: &str,
    ) -> Result<(NoteSignature, u64), NoteError> {
        let sig = NoteSignature::from_line(line)?;
        if sig.name() != self.name() || sig.key_id() != self.key_id() {
            return Err(NoteError::UnknownSigner);
        }
        let timestamp = match self {
            WitnessKey::CosignatureV1(v) => {
                let c = Cosignature::from_note_signature(&sig)?;
                v.verify(cp, &c)?;
                c.timestamp()
            }
            WitnessKey::MlDsa44(v) => v.verify_checkpoint(&cp.head(), &sig)?,
        };
        Ok((sig, timestamp))
    }

    /// Whether `sig` is this witness's line and verifies over `cp`; the
    /// cosignature's timestamp. `Err` for a line of this key that fails.
    fn check(&self, cp: &Checkpoint, sig: &NoteSignature) -> Result<Option<u64>, String> {
        if sig.name() != self.name() || sig.key_id() != self.key_id() {
            return Ok(None);
        }
        match self {
            WitnessKey::CosignatureV1(v) => {
                let c = Cosignature::from_note_signature(sig).map_err(|e| e.to_string())?;
                v.verify(cp, &c).map_err(|e| e.to_string())?;
                Ok(Some(c.timestamp()))
            }
            WitnessKey::MlDsa44(v) => v
                .verify_checkpoint(&cp.head(), sig)
                .map(Some)
                .map_err(|e| e.to_string()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Log {
    pub key: LogKey,
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witness {
    pub name: String,
    pub key: WitnessKey,
    pub url: Option<String>,
}

/// A defined name: a witness (index into `witnesses`) or a group (into `groups`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ref {
    Witness(usize),
    Group(usize),
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Ref>,
}

/// A parsed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub logs: Vec<Log>,
    pub witnesses: Vec<Witness>,
    groups: Vec<Group>,
    quorum: Ref,
}

/// A checkpoint the policy accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub checkpoint: Checkpoint,
    /// The log keys whose signatures verified (vkey strings).
    pub log_keys: Vec<String>,
    /// The policy names of the witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
}

/// `WITNESS_QUORUM`: how many cosignatures make a checkpoint fully
/// witnessed, or a tlog-policy whose quorum (k-of-n groups, nested) must be
/// met by the witnesses that cosigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessQuorum {
    Count(u32),
    Policy(std::sync::Arc<Policy>),
}

impl WitnessQuorum {
    /// The fewest cosignatures that can meet it (shown beside the names).
    pub fn min_cosignatures(&self) -> u32 {
        match self {
            WitnessQuorum::Count(n) => *n,
            WitnessQuorum::Policy(p) => u32::try_from(p.min_cosignatures()).unwrap_or(u32::MAX),
        }
    }

    /// Whether the witnesses with keys `cosigned` (already verified) meet it.
    pub fn met_by(&self, cosigned: &[String]) -> bool {
        match self {
            WitnessQuorum::Count(n) => cosigned.len() as u64 >= u64::from(*n),
            WitnessQuorum::Policy(p) => p.quorum_met_by(cosigned),
        }
    }
}

fn err(line: usize, msg: impl std::fmt::Display) -> String {
    format!("policy line {line}: {msg}")
}

impl Policy {
    /// Parses a policy file (tlog-policy §Policy file syntax and structure).
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(at) = text
            .bytes()
            .position(|b| (b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f)
        {
            return Err(format!(
                "policy byte {at}: only tab and newline may be control characters"
            ));
        }
        let mut p = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: Ref::None,
        };
        let mut quorum_seen = false;
        let mut names: Vec<(String, Ref)> = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            let words: Vec<&str> = raw.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            let Some(&keyword) = words.first() else {
                continue;
            };
            if keyword.starts_with('#') {
                continue;
            }
            if p.logs.len() + p.witnesses.len() + p.groups.len() >= MAX_ENTRIES {
                return Err(err(n, "too many entries"));
            }
            let lookup = |names: &[(String, Ref)], name: &str| {
                if name == "none" {
                    return Some(Ref::None);
                }
                names.iter().find(|(m, _)| m == name).map(|(_, r)| *r)
            };
            let define = |names: &[(String, Ref)], name: &str| {
                if name == "none" || lookup(names, name).is_some() {
                    Err(err(n, format!("name {name:?} is already defined")))
                } else {
                    Ok(())
                }
            };
            match (keyword, words.len()) {
                ("log", 2 | 3) => {
                    let vkey = words[1];
                    let key = match vkey_type(vkey) {
                        Some(ALG_MLDSA44) => MlDsaVerifier::from_key_string(vkey)
                            .map(LogKey::MlDsa44)
                            .map_err(|e| err(n, e))?,
                        _ => Verifier::from_key_string(vkey)
                            .map(LogKey::Ed25519)
                            .map_err(|e| err(n, e))?,
                    };
                    if p.logs.iter().any(|l| l.key.raw() == key.raw()) {
                        return Err(err(n, "duplicate log key"));
                    }
                    p.logs.push(Log {
                        key,
                        url: words.get(2).map(|s| s.to_string()),
                    });
                }
                ("witness", 3 | 4) => {
                    let name = words[1];
                    define(&names, name)?;
                    let key = WitnessKey::from_key_string(words[2]).map_err(|e| err(n, e))?;
                    if p.witnesses.iter().any(|w| w.key.raw() == key.raw()) {
                        return Err(err(n, "duplicate witness key"));
                    }
                    names.push((name.to_string(), Ref::Witness(p.witnesses.len())));
                    p.witnesses.push(Witness {
                        name: name.to_string(),
                        key,
                        url: words.get(3).map(|s| s.to_string()),
                    });
                }
                ("group", len) if len >= 4 => {
                    let name = words[1];
                    define(&names, name)?;
                    let mut members = Vec::new();
                    for m in &words[3..] {
                        let r = match lookup(&names, m) {
                            Some(Ref::None) => return Err(err(n, "none cannot be a group member")),
                            Some(r) => r,
                            None => return Err(err(n, format!("{m:?} is not defined above"))),
                        };
                        if members.contains(&r) {
                            return Err(err(n, format!("{m:?} is listed twice")));
                        }
                        members.push(r);
                    }
                    let threshold = match words[2] {
                        "all" => members.len(),
                        "any" => 1,
                        k => {
                            let ok = !k.is_empty()
                                && k.bytes().all(|b| b.is_ascii_digit())
                                && (k == "0" || !k.starts_with('0'));
                            let k: usize =
                                k.parse().ok().filter(|_| ok).ok_or_else(|| {
                                    err(n, "threshold must be all, any or a decimal")
                                })?;
                            if k < 1 || k > members.len() {
                                return Err(err(n, "threshold must be between 1 and the members"));
                            }
                            k
                        }
                    };
                    names.push((name.to_string(), Ref::Group(p.groups.len())));
                    p.groups.push(Group {
                        name: name.to_string(),
                        threshold,
                        members,
                    });
                }
                ("quorum", 2) => {
                    if quorum_seen {
                        return Err(err(n, "a second quorum line"));
                    }
                    quorum_seen = true;
                    p.quorum = lookup(&names, words[1])
                        .ok_or_else(|| err(n, format!("{:?} is not defined above", words[1])))?;
                }
                _ => return Err(err(n, format!("cannot read {keyword:?} line"))),
            }
        }
        if !quorum_seen {
            return Err("policy has no quorum line".into());
        }
        Ok(p)
    }

    /// Writes the policy back as a file (comments dropped).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for l in &self.logs {
            out.push_str(&format!("log {}", l.key.key_string()));
            if let Some(u) = &l.url {
                out.push_str(&format!(" {u}"));
            }
            out.push('\n');
        }
        for w in &self.witnesses {
            out.push_str(&format!("witness {} {}", w.name, w.key.key_string()));
            if let Some(u) = &w.url {
                out.push_str(&format!(" {u}"));
            }
            out.push('\n');
        }
        for g in &self.groups {
            let members: Vec<&str> = g.members.iter().map(|r| self.name_of(*r)).collect();
            out.push_str(&format!(
                "group {} {} {}\n",
                g.name,
                g.threshold,
                members.join(" ")
            ));
        }
        out.push_str(&format!("quorum {}\n", self.name_of(self.quorum)));
        out
    }

    fn name_of(&self, r: Ref) -> &str {
        match r {
            Ref::Witness(i) => &self.witnesses[i].name,
            Ref::Group(i) => &self.groups[i].name,
            Ref::None => "none",
        }
    }

    /// Whether the witnesses `cosigned` (indices into `witnesses`) meet the quorum.
    fn met(&self, r: Ref, cosigned: &BTreeSet<usize>) -> bool {
        match r {
            Ref::None => true,
            Ref::Witness(i) => cosigned.contains(&i),
            Ref::Group(g) => {
                let g = &self.groups[g];
                g.members.iter().filter(|m| self.met(**m, cosigned)).count() >= g.threshold
            }
        }
    }

    /// The fewest cosignatures that can meet the quorum.
    pub fn min_cosignatures(&self) -> usize {
        self.min_of(self.quorum)
    }

    fn min_of(&self, r: Ref) -> usize {
        match r {
            Ref::None => 0,
            Ref::Witness(_) => 1,
            Ref::Group(g) => {
                let g = &self.groups[g];
                let mut costs: Vec<usize> = g.members.iter().map(|m| self.min_of(*m)).collect();
                costs.sort_unstable();
                costs.iter().take(g.threshold).sum()
            }
        }
    }

    /// Whether cosignatures by the witness keys `cosigned` (verifier key
    /// strings, each already checked over the checkpoint) meet the quorum,
    /// groups and nesting included. Keys the policy does not list count for
    /// nothing.
    pub fn quorum_met_by(&self, cosigned: &[String]) -> bool {
        let set: BTreeSet<usize> = self
            .witnesses
            .iter()
            .enumerate()
            .filter(|(_, w)| cosigned.contains(&w.key.key_string()))
            .map(|(i, _)| i)
            .collect();
        self.met(self.quorum, &set)
    }

    /// Whether `sig` is by a log or witness key the policy lists (name and key ID).
    pub fn knows(&self, sig: &NoteSignature) -> bool {
        self.logs
            .iter()
            .any(|l| l.key.name() == sig.name() && l.key.key_id() == sig.key_id())
            || self
                .witnesses
                .iter()
                .any(|w| w.key.name() == sig.name() && w.key.key_id() == sig.key_id())
    }

    /// Opens a checkpoint note under this policy (see the module comment).
    pub fn verify(&self, note: &str) -> Result<Accepted, String> {
        let parsed = Note::parse(note).map_err(|e| e.to_string())?;
        let checkpoint = Checkpoint::parse(parsed.text()).map_err(|e| e.to_string())?;
        let mut log_keys = Vec::new();
        for sig in parsed.signatures() {
            for log in &self.logs {
                if sig.name() != log.key.name() || sig.key_id() != log.key.key_id() {
                    continue;
                }
                let ok = match &log.key {
                    LogKey::Ed25519(v) => v.verify_signature(parsed.text(), sig),
                    LogKey::MlDsa44(v) => v.verify_checkpoint(&checkpoint.head(), sig).is_ok(),
                };
                if !ok {
                    return Err(format!(
                        "the log signature by {}+{:08x} does not verify",
                        sig.name(),
                        sig.key_id()
                    ));
                }
                if checkpoint.origin() != log.key.name() {
                    return Err(format!(
                        "the checkpoint's origin {:?} is not the log key's name {:?}",
                        checkpoint.origin(),
                        log.key.name()
                    ));
                }
                let k = log.key.key_string();
                if !log_keys.contains(&k) {
                    log_keys.push(k);
                }
            }
        }
        if log_keys.is_empty() {
            return Err("no signature by a log the policy lists".into());
        }
        let mut cosigned = BTreeSet::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            for sig in parsed.signatures() {
                if w.key
                    .check(&checkpoint, sig)
                    .map_err(|e| format!("witness {}: {e}", w.name))?
                    .is_some()
                {
                    cosigned.insert(i);
                }
            }
        }
        if !self.met(self.quorum, &cosigned) {
            return Err(format!(
                "the quorum {} is not met: cosigned by {}",
                self.name_of(self.quorum),
                if cosigned.is_empty() {
                    "no witness".to_string()
                } else {
                    cosigned
                        .iter()
                        .map(|i| self.witnesses[*i].name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ));
        }
        Ok(Accepted {
            checkpoint,
            log_keys,
            witnesses: cosigned
                .iter()
                .map(|i| self.witnesses[*i].name.clone())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::checkpoint::Cosigner;
    use crate::core::note::Signer;
    use crate::core::pq::MlDsaSigner;

    struct Fixture {
        log: Signer,
        log_pq: MlDsaSigner,
        partners: Vec<Cosigner>,
        scrutineer: MlDsaSigner,
    }

    fn fixture() -> Fixture {
        Fixture {
            log: Signer::from_seed("krscp.example/ledger", &[1; 32]).unwrap(),
            log_pq: MlDsaSigner::from_seed("krscp.example/ledger", &[2; 32]).unwrap(),
            partners: (0..3)
                .map(|i| {
                    Cosigner::from_seed(&format!("partner{i}.example/w"), &[10 + i; 32]).unwrap()
                })
                .collect(),
            scrutineer: MlDsaSigner::from_seed("scrutineer.example/w", &[20; 32]).unwrap(),
        }
    }

    fn policy_text(f: &Fixture) -> String {
        format!(
            "# the KRSCP partnership\nlog {}\nlog {}\n\nwitness police {}\nwitness health {}\n\
             witness council {} https://council.example/w\nwitness scrutineer {}\n\
             group partners 2 police health council\ngroup all-of-it all partners scrutineer\n\
             quorum all-of-it\n",
            f.log.verifier_key(),
            f.log_pq.verifier_key(),
            f.partners[0].verifier_key(),
            f.partners[1].verifier_key(),
            f.partners[2].verifier_key(),
            f.scrutineer.verifier_key(),
        )
    }

    fn note(f: &Fixture, partners: &[usize], scrutineer: bool) -> String {
        let cp = Checkpoint::new("krscp.example/ledger", 9, [3; 32]).unwrap();
        let mut n = Note::new(&cp.to_string()).unwrap();
        n.sign(&f.log).unwrap();
        n.push(f.log_pq.sign_checkpoint(&cp.head(), 0).unwrap())
            .unwrap();
        for i in partners {
            n.push(
                f.partners[*i]
                    .cosign(&cp, 1_700_000_000)
                    .unwrap()
                    .to_note_signature(),
            )
            .unwrap();
        }
        if scrutineer {
            n.push(
                f.scrutineer
                    .sign_checkpoint(&cp.head(), 1_700_000_001)
                    .unwrap(),
            )
            .unwrap();
        }
        n.to_string()
    }

    #[test]
    fn two_of_three_partners_and_the_scrutineer() {
        let f = fixture();
        let p = Policy::parse(&policy_text(&f)).unwrap();
        assert_eq!(p.min_cosignatures(), 3);
        let ok = p.verify(&note(&f, &[0, 2], true)).unwrap();
        assert_eq!(ok.witnesses, vec!["police", "council", "scrutineer"]);
        assert_eq!(ok.log_keys.len(), 2);
        assert!(p.verify(&note(&f, &[0, 1, 2], false)).is_err());
        assert!(p.verify(&note(&f, &[1], true)).is_err());
        // Round trip through the text form.
        assert_eq!(Policy::parse(&p.to_text()).unwrap(), p);
    }

    #[test]
    fn the_service_quorum_follows_the_groups_not_a_count() {
        let f = fixture();
        let p = std::sync::Arc::new(Policy::parse(&policy_text(&f)).unwrap());
        let q = WitnessQuorum::Policy(p);
        let partner = |i: usize| f.partners[i].verifier_key();
        let scrutineer = f.scrutineer.verifier_key();
        assert_eq!(q.min_cosignatures(), 3);
        // Three cosignatures, but no scrutineer: not met (a count of 3 would be).
        let three = [partner(0), partner(1), partner(2)];
        assert!(!q.met_by(&three));
        assert!(WitnessQuorum::Count(3).met_by(&three));
        assert!(q.met_by(&[partner(0), partner(2), scrutineer.clone()]));
        assert!(!q.met_by(&[partner(1), scrutineer.clone()]));
        // A key the policy does not list counts for nothing.
        let stranger = Cosigner::from_seed("partner0.example/w", &[99; 32]).unwrap();
        assert!(!q.met_by(&[partner(0), stranger.verifier_key(), scrutineer]));
    }

    #[test]
    fn only_the_ed25519_log_key_still_accepts() {
        let f = fixture();
        let text = format!("log {}\nquorum none\n", f.log.verifier_key());
        let p = Policy::parse(&text).unwrap();
        assert!(p.verify(&note(&f, &[], false)).is_ok());
        let text = format!("log {}\nquorum none\n", f.log_pq.verifier_key());
        let p = Policy::parse(&text).unwrap();
        assert!(p.verify(&note(&f, &[], false)).is_ok());
    }

    #[test]
    fn refuses_malformed_policies() {
        let f = fixture();
        let w = f.partners[0].verifier_key();
        for bad in [
            String::new(),
            "quorum x\n".to_string(),
            "quorum none\nquorum none\n".to_string(),
            format!("witness a {w}\nwitness b {w}\nquorum a\n"),
            format!("witness a {w}\ngroup g 2 a\nquorum g\n"),
            format!("witness a {w}\ngroup g 0 a\nquorum g\n"),
            format!("witness a {w}\ngroup g any a a\nquorum g\n"),
            format!("witness a {w}\ngroup g any none\nquorum g\n"),
            format!("witness none {w}\nquorum none\n"),
            "frobnicate\nquorum none\n".to_string(),
            "quorum none\r\n".to_string(),
        ] {
            assert!(Policy::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
