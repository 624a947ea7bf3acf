//! C2SP `tlog-witness`: the `add-checkpoint` exchange, both sides, as pure
//! functions. The log builds the request body ([`encode_request`]) and reads
//! the witness's answer ([`classify`]); a witness parses the body
//! ([`parse_request`]) and decides it against its stored view of the log
//! ([`check_add`]). No I/O: the push worker and `witness serve` do that.
//!
//! The body is `old <size>\n`, up to 63 base64 consistency proof lines, an
//! empty line, then the signed checkpoint note. A 409 answer carries the
//! witness's size as `<size>\n` with `Content-Type: text/x.tlog.size`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::core::checkpoint::{self, Checkpoint};
use crate::core::ledger::Hash;
use crate::core::merkle;
use crate::core::note::{Note, Verifier};

/// The content type of a 409 answer's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";
/// The path under a witness's submission prefix.
pub const ADD_CHECKPOINT: &str = "add-checkpoint";
/// At most this many consistency proof lines.
pub const MAX_PROOF_LINES: usize = 63;
/// The signature line prefix (U+2014 and a space).
const DASH: &str = "\u{2014} ";

/// The `add-checkpoint` body for the signed checkpoint `note`, claiming the
/// witness last cosigned size `old`, with the consistency proof from it.
pub fn encode_request(old: u64, proof: &[Hash], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&B64.encode(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// A parsed `add-checkpoint` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint note, exactly as sent.
    pub note: String,
}

/// Parse an `add-checkpoint` body strictly (every line ends in `\n`, the old
/// size in canonical decimal, each proof line the base64 of 32 bytes).
pub fn parse_request(body: &str) -> Result<Request, String> {
    let (first, mut rest) = body
        .split_once('\n')
        .ok_or("the body has no old size line")?;
    let old = first
        .strip_prefix("old ")
        .ok_or("the first line is not 'old <size>'")?;
    let old = parse_decimal(old).ok_or("the old size is not a canonical decimal")?;
    let mut proof = Vec::new();
    loop {
        let (line, tail) = rest
            .split_once('\n')
            .ok_or("the proof lines are not followed by an empty line")?;
        rest = tail;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(format!(
                "more than {MAX_PROOF_LINES} consistency proof lines"
            ));
        }
        let h = B64
            .decode(line)
            .ok()
            .and_then(|v| Hash::try_from(v).ok())
            .ok_or("a consistency proof line is not the base64 of 32 bytes")?;
        proof.push(h);
    }
    Ok(Request {
        old,
        proof,
        note: rest.to_string(),
    })
}

/// An ASCII decimal with no leading zero (except `0` itself).
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A 409 answer's body.
pub fn encode_size(size: u64) -> String {
    format!("{size}\n")
}

/// What the log does with a witness's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: the signature lines (without their newlines), to be checked and stored.
    Cosigned(Vec<String>),
    /// 409 with a size: resend with that old size and the proof from it.
    Resend(u64),
    /// Do not retry this checkpoint: 403 (the witness does not trust our key),
    /// 422 (it rejects our consistency proof), 400 (it finds our request
    /// malformed), a 409 without a size (a different root at the same size),
    /// or a 200 that is not signature lines. Someone must look.
    Alert(String),
    /// Anything else (5xx, 404 while the witness is being configured, 429,
    /// other codes): try again later with backoff.
    Retry(String),
}

/// Read a witness's answer to `add-checkpoint`.
pub fn classify(status: u16, content_type: Option<&str>, body: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(body);
    let short: String = text.trim().chars().take(200).collect();
    let short = crate::core::input::escape_controls(&short);
    match status {
        200 => match cosignature_lines(&text) {
            Some(lines) => Answer::Cosigned(lines),
            None => Answer::Alert("200 but the body is not note signature lines".into()),
        },
        409 => {
            let sized = content_type
                .and_then(|c| c.split(';').next())
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(SIZE_CONTENT_TYPE));
            match text.strip_suffix('\n').and_then(parse_decimal) {
                Some(size) if sized => Answer::Resend(size),
                _ => Answer::Alert(format!(
                    "409 without a {SIZE_CONTENT_TYPE} size (a different root at the same size?): {short}"
                )),
            }
        }
        400 | 403 | 422 => Answer::Alert(format!("{status}: {short}")),
        _ => Answer::Retry(format!("{status}: {short}")),
    }
}

/// The lines of a 200 body: one or more, each `— ...` ending in `\n`.
fn cosignature_lines(body: &str) -> Option<Vec<String>> {
    let lines = body.strip_suffix('\n')?.split('\n');
    let lines: Vec<String> = lines.map(str::to_string).collect();
    if lines.is_empty() || lines.iter().any(|l| !l.starts_with(DASH)) {
        return None;
    }
    Some(lines)
}

/// Why a witness refuses an `add-checkpoint`, by the status the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: malformed, or the old size is larger than the checkpoint's.
    BadRequest(String),
    /// 404: not the origin this witness follows.
    UnknownOrigin,
    /// 403: no signature by the trusted log key verifies.
    Forbidden(String),
    /// 409 with our size: the old size is not the size we last cosigned.
    SizeMismatch(u64),
    /// 409: the same size as we last cosigned, but another root.
    RootMismatch,
    /// 422: the consistency proof does not verify.
    BadProof(String),
}

impl Refusal {
    /// The HTTP status the spec gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::UnknownOrigin => 404,
            Refusal::Forbidden(_) => 403,
            Refusal::SizeMismatch(_) | Refusal::RootMismatch => 409,
            Refusal::BadProof(_) => 422,
        }
    }
}

/// A witness's decision on `req`, trusting `log` for its origin, having last
/// cosigned the tree of `size` with `root` (`None` before the first). `Ok` is
/// the checkpoint to cosign (the caller then persists its new view before
/// answering).
pub fn check_add(
    req: &Request,
    log: &Verifier,
    size: u64,
    root: Option<&Hash>,
) -> Result<Checkpoint, Refusal> {
    let note = Note::parse(&req.note)
        .map_err(|e| Refusal::BadRequest(format!("not a signed note: {e}")))?;
    let cp = Checkpoint::parse(note.text())
        .map_err(|e| Refusal::BadRequest(format!("not a checkpoint: {e}")))?;
    if cp.origin() != log.name() {
        return Err(Refusal::UnknownOrigin);
    }
    checkpoint::open_checkpoint(&req.note, std::slice::from_ref(log), &[])
        .map_err(|e| Refusal::Forbidden(format!("no trusted log signature verifies: {e}")))?;
    if req.old > cp.size() {
        return Err(Refusal::BadRequest(format!(
            "old size {} is larger than the checkpoint's size {}",
            req.old,
            cp.size()
        )));
    }
    if req.old != size {
        return Err(Refusal::SizeMismatch(size));
    }
    match root {
        None if size > 0 => {
            return Err(Refusal::BadRequest(
                "the witness's state has no root".into(),
            ))
        }
        None => {
            if !req.proof.is_empty() {
                return Err(Refusal::BadProof("old size 0 takes no proof".into()));
            }
        }
        Some(old_root) if size == cp.size() => {
            if old_root != cp.root_hash() {
                return Err(Refusal::RootMismatch);
            }
            if !req.proof.is_empty() {
                return Err(Refusal::BadProof("equal sizes take no proof".into()));
            }
        }
        Some(old_root) => {
            merkle::verify_consistency(size, cp.size(), &req.proof, old_root, cp.root_hash())
                .map_err(|e| Refusal::BadProof(e.to_string()))?;
        }
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::merkle::MemTree;
    use crate::core::note::{sign_note, Signer};

    fn leaf(i: u8) -> Hash {
        crate::core::ledger::leaf_hash(&[i])
    }

    fn tree(n: u8) -> MemTree {
        let mut t = MemTree::new();
        for i in 0..n {
            t.push(leaf(i));
        }
        t
    }

    fn signed(signer: &Signer, t: &mut MemTree) -> (Checkpoint, String) {
        let size = t.size();
        let root = merkle::root(t, size).unwrap();
        let cp = Checkpoint::new(signer.name(), size, root).unwrap();
        let note = sign_note(&cp.to_string(), &[signer]).unwrap();
        (cp, note)
    }

    #[test]
    fn request_round_trips_and_is_strict() {
        let proof = vec![[1u8; 32], [2u8; 32]];
        let body = encode_request(5, &proof, "o\n7\nAAAA\n\n\u{2014} o x\n");
        assert!(body.starts_with("old 5\nAQEB"));
        let r = parse_request(&body).unwrap();
        assert_eq!((r.old, r.proof.clone()), (5, proof));
        assert_eq!(r.note, "o\n7\nAAAA\n\n\u{2014} o x\n");
        for bad in [
            "old 05\n\nx",
            "old -1\n\nx",
            "old 1",
            "new 1\n\nx",
            "old 1\nnot base64\n\nx",
            "old 1\nAQEB\n",
        ] {
            assert!(parse_request(bad).is_err(), "{bad:?}");
        }
        let many = encode_request(1, &[[0u8; 32]; 64], "x");
        assert!(parse_request(&many).unwrap_err().contains("63"));
    }

    #[test]
    fn answers_are_classified_by_the_spec() {
        let line = "\u{2014} w AAAA";
        assert_eq!(
            classify(200, Some("text/plain"), format!("{line}\n").as_bytes()),
            Answer::Cosigned(vec![line.into()])
        );
        assert!(matches!(classify(200, None, b"ok"), Answer::Alert(_)));
        assert_eq!(
            classify(409, Some("text/x.tlog.size; charset=utf-8"), b"12\n"),
            Answer::Resend(12)
        );
        assert!(matches!(
            classify(409, Some("text/plain"), b"12\n"),
            Answer::Alert(_)
        ));
        assert!(matches!(classify(403, None, b"no"), Answer::Alert(_)));
        assert!(matches!(classify(422, None, b"no"), Answer::Alert(_)));
        assert!(matches!(classify(503, None, b""), Answer::Retry(_)));
        assert!(matches!(classify(404, None, b""), Answer::Retry(_)));
    }

    #[test]
    fn a_witness_checks_signature_size_and_consistency() {
        let log = Signer::generate("example.org/log").unwrap();
        let other = Signer::generate("example.org/log").unwrap();
        let v = log.verifier();
        let mut t = tree(5);
        let (cp5, n5) = signed(&log, &mut t);
        let req = |old, proof: Vec<Hash>, note: &str| Request {
            old,
            proof,
            note: note.into(),
        };
        assert_eq!(
            check_add(&req(0, vec![], &n5), &v, 0, None),
            Ok(cp5.clone())
        );
        let (_, forged) = signed(&other, &mut t);
        assert!(matches!(
            check_add(&req(0, vec![], &forged), &v, 0, None),
            Err(Refusal::Forbidden(_))
        ));
        let stranger = Signer::generate("example.org/else").unwrap();
        let (_, n_else) = signed(&stranger, &mut t);
        assert_eq!(
            check_add(&req(0, vec![], &n_else), &v, 0, None),
            Err(Refusal::UnknownOrigin)
        );
        assert_eq!(
            check_add(&req(0, vec![], &n5), &v, 3, Some(&[0; 32])),
            Err(Refusal::SizeMismatch(3))
        );
        assert_eq!(
            check_add(&req(5, vec![], &n5), &v, 5, Some(&[0; 32])),
            Err(Refusal::RootMismatch)
        );
        assert!(matches!(
            check_add(&req(6, vec![], &n5), &v, 6, Some(&[0; 32])),
            Err(Refusal::BadRequest(_))
        ));
        let mut t8 = tree(8);
        let (cp8, n8) = signed(&log, &mut t8);
        let proof = merkle::consistency_proof(&mut t8, 5, 8).unwrap();
        let r5 = cp5.root_hash();
        assert_eq!(
            check_add(&req(5, proof.clone(), &n8), &v, 5, Some(r5)),
            Ok(cp8)
        );
        let mut bad = proof;
        bad[0][0] ^= 1;
        assert!(matches!(
            check_add(&req(5, bad, &n8), &v, 5, Some(r5)),
            Err(Refusal::BadProof(_))
        ));
        assert_eq!(Refusal::BadProof(String::new()).status(), 422);
        assert_eq!(Refusal::SizeMismatch(1).status(), 409);
    }
}
