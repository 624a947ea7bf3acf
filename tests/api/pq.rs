//! Issue 14 §3-§6: every checkpoint signed with Ed25519 and ML-DSA-44 in one
//! note; tlog-proof files for a dispute's outcome, verified offline under a
//! tlog-policy (by the library, by `audit --proof --policy`, and their
//! inclusion proofs by Cloudflare's `tlog_tiles`); Cloudflare's `signed_note`
//! reading our notes and ours reading its notes.

use std::process::Command;

use escalation_ledger::core::checkpoint::{Checkpoint, Cosigner, LogKeyHistory};
use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::note::{self, Note, Signer, Verifier};
use escalation_ledger::core::pq::MlDsaVerifier;
use escalation_ledger::core::tlog_policy::Policy;
use escalation_ledger::core::tlog_proof::{self, ProofFile};
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");
const A: &str = "kingston-council";
const B: &str = "metropolitan-police";
const C: &str = "cafcass";

async fn log_keys(app: &TestApp) -> (Verifier, MlDsaVerifier) {
    let (s, keys) = app.get(&app.role(Role::Auditor), "/v1/ledger/keys").await;
    assert_eq!(s, 200, "{keys}");
    let ed = Verifier::from_key_string(keys["log"].as_str().expect("log")).expect("ed25519 vkey");
    let pq = MlDsaVerifier::from_key_string(keys["mldsa44"].as_str().expect("mldsa44"))
        .expect("ML-DSA-44 vkey");
    (ed, pq)
}

/// The checkpoint note has two log signature lines; either key verifies its
/// own; an Ed25519-only verifier (ours, and azul's `signed_note`) accepts the
/// note; altering either signature fails that key's verification.
async fn dual_signed_checkpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ed, pq) = log_keys(&app).await;
    assert_eq!(ed.name(), pq.name(), "both keys are named by the origin");
    let text = app.checkpoint_note().await;
    let parsed = Note::parse(&text).expect("a note");
    let sigs = parsed.signatures();
    assert_eq!(sigs.len(), 2, "{text}");
    assert!(ed.verify_signature(parsed.text(), &sigs[0]));
    let cp = Checkpoint::parse(parsed.text()).expect("checkpoint");
    assert_eq!(
        pq.verify_checkpoint(&cp.head(), &sigs[1]),
        Ok(0),
        "timestamp 0"
    );
    assert_eq!(sigs[1].signature().len(), 8 + 2420);
    // Only the Ed25519 key known: accepted, the ML-DSA-44 line set aside.
    let opened = note::open_note(&text, std::slice::from_ref(&ed)).expect("Ed25519 alone");
    assert_eq!(opened.unverified.len(), 1);
    // Cloudflare's implementation, knowing only the Ed25519 key, agrees.
    let theirs = signed_note::StandardVerifier::new(&ed.key_string()).expect("their vkey parse");
    let list = signed_note::VerifierList::new(vec![Box::new(theirs)]);
    let (ok, unknown) = signed_note::Note::from_bytes(text.as_bytes())
        .expect("their parse")
        .verify(&list)
        .expect("their verify");
    assert_eq!((ok.len(), unknown.len()), (1, 1));
    // Their checkpoint parser reads the body.
    let their_cp = ::tlog_tiles::Checkpoint::from_bytes(parsed.text().as_bytes()).expect("theirs");
    assert_eq!(their_cp.size(), cp.size());
    assert_eq!(&their_cp.hash().0, cp.root_hash());

    // Altering either signature: that key's check fails, the other's holds.
    for (which, at) in [(0usize, 10usize), (1, 100), (1, 8 + 2419)] {
        let mut sigs = parsed.signatures().to_vec();
        let mut raw = sigs[which].signature().to_vec();
        raw[at] ^= 0x40;
        let line = format!(
            "\u{2014} {} {}\n",
            sigs[which].name(),
            base64_line(sigs[which].key_id(), &raw)
        );
        sigs[which] = note::NoteSignature::from_line(&line).unwrap();
        if which == 0 {
            assert!(!ed.verify_signature(parsed.text(), &sigs[0]));
            assert!(pq.verify_checkpoint(&cp.head(), &sigs[1]).is_ok());
        } else {
            assert!(ed.verify_signature(parsed.text(), &sigs[0]));
            assert!(pq.verify_checkpoint(&cp.head(), &sigs[1]).is_err());
        }
    }
    // The log_key_recorded facts name both keys, and a history replaying
    // them checks both signatures of the stored note (and refuses either altered).
    let facts = app.log.facts(None);
    assert_eq!(facts["verifier_key"], json!(ed.key_string()));
    assert_eq!(facts["mldsa44_verifier_key"], json!(pq.key_string()));
    let mut h = LogKeyHistory::default();
    h.record(0, &facts).expect("replays");
    let root = *cp.root_hash();
    h.check(cp.size(), &root, &text)
        .expect("both signatures check");
    let sigs = parsed.signatures();
    let pq_line = sigs[1].to_line();
    let mut raw = sigs[1].signature().to_vec();
    raw[50] ^= 1;
    let bad_line = format!(
        "\u{2014} {} {}\n",
        sigs[1].name(),
        base64_line(sigs[1].key_id(), &raw)
    );
    let tampered = text.replace(&pq_line, &bad_line);
    assert_ne!(tampered, text);
    assert!(h.check(cp.size(), &root, &tampered).is_err());
    let stripped = text.replace(&pq_line, "");
    assert!(
        h.check(cp.size(), &root, &stripped).is_err(),
        "the ML-DSA-44 line is required"
    );
    assert!(app.verify().ok);
}

fn base64_line(key_id: u32, sig: &[u8]) -> String {
    use base64::Engine as _;
    let mut raw = key_id.to_be_bytes().to_vec();
    raw.extend_from_slice(sig);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Raise a dispute between A and B and resolve it: A proposes, B accepts.
async fn resolved_dispute(app: &TestApp) -> String {
    let id = app.raise(&[A, B], false).await;
    let (s, v) = app
        .post(
            &app.agency(A),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "joint visit"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pid = v["id"].as_str().unwrap().to_string();
    let accept = format!("/v1/disputes/{id}/proposals/{pid}/accept");
    let (s, v) = app.post(&app.agency(B), &accept, json!({})).await;
    assert_eq!(s, 200, "{v}");
    if v["status"] != "resolved" {
        let (s, v) = app.post(&app.agency(A), &accept, json!({})).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["status"], "resolved", "{v}");
    }
    id
}

async fn get_proof(app: &TestApp, token: &str, id: &str) -> (u16, String, Option<String>) {
    let mut res = app
        .client
        .get(format!("{}/v1/disputes/{id}/proof", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let body = res.body().limit(1 << 20).await.expect("body");
    let cosigned = res
        .headers()
        .get("x-proof-cosigned")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (
        res.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
        cosigned,
    )
}

/// A witness cosigns; a party fetches its outcome's proof file; it verifies
/// offline under "the log, and the witness", with the library, with the CLI,
/// and its inclusion proof with `tlog_tiles`; every changed byte in a sample
/// fails; a non-party and the auditor (who sees no dispute) get a 404.
async fn proof_files(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (ed, pq) = log_keys(&app).await;
    let witness = Cosigner::generate("partner.example/w1").unwrap();
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/witnesses",
            json!({"name": witness.name(), "key": witness.verifier_key()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = resolved_dispute(&app).await;

    // Before any cosignature: the file is against the log's signatures only.
    let (s, text, cosigned) = get_proof(&app, &app.agency(A), &id).await;
    assert_eq!(s, 200, "{text}");
    assert_eq!(cosigned.as_deref(), Some("false"));
    let log_only = Policy::parse(&format!(
        "log {}\nlog {}\nquorum none\n",
        ed.key_string(),
        pq.key_string()
    ))
    .unwrap();
    tlog_proof::verify_text(&text, &log_only).expect("log-only policy");

    // The witness cosigns the newest checkpoint.
    let note_text = app.checkpoint_note().await;
    let cp = Checkpoint::parse(Note::parse(&note_text).unwrap().text()).unwrap();
    let line = witness.cosign(&cp, 1_800_000_000).unwrap().to_line();
    let (s, v) = app
        .post(
            &app.role(Role::Scrutineer),
            "/v1/ledger/cosignatures",
            json!({"size": cp.size(), "cosignature": line}),
        )
        .await;
    assert!((200..300).contains(&s), "{s} {v}");

    let (s, text, cosigned) = get_proof(&app, &app.agency(B), &id).await;
    assert_eq!(s, 200, "{text}");
    assert_eq!(cosigned.as_deref(), Some("true"));
    let policy_text = format!(
        "# the log (both keys) and one partner's witness\nlog {}\nlog {}\nwitness w1 {}\nquorum w1\n",
        ed.key_string(),
        pq.key_string(),
        witness.verifier_key()
    );
    let policy = Policy::parse(&policy_text).unwrap();
    let v = tlog_proof::verify_text(&text, &policy).expect("verifies");
    let entry: serde_json::Value = serde_json::from_slice(&v.entry).unwrap();
    assert_eq!(entry["event"], "resolved");
    assert_eq!(entry["dispute_id"], json!(id));
    assert_eq!(v.accepted.witnesses, ["w1"]);
    // Only the Ed25519 log key in the policy: still accepted.
    let ed_only = Policy::parse(&format!(
        "log {}\nwitness w1 {}\nquorum w1\n",
        ed.key_string(),
        witness.verifier_key()
    ))
    .unwrap();
    assert!(
        ProofFile::parse(&text).unwrap().verify(&ed_only).is_err(),
        "strict: the ML-DSA-44 line is by a key this policy does not list"
    );
    assert!(ed_only
        .verify(&ProofFile::parse(&text).unwrap().checkpoint)
        .is_ok());

    // Cloudflare's tlog_tiles checks the same inclusion proof.
    let f = ProofFile::parse(&text).unwrap();
    let proof: Vec<::tlog_tiles::Hash> = f.proof.iter().map(|h| ::tlog_tiles::Hash(*h)).collect();
    let cp = &v.accepted.checkpoint;
    ::tlog_tiles::check_record(
        &proof,
        cp.size(),
        ::tlog_tiles::Hash(*cp.root_hash()),
        f.index,
        ::tlog_tiles::record_hash(&v.entry),
    )
    .expect("tlog_tiles accepts our inclusion proof");

    // Any changed byte: a sample of positions across the file.
    let bytes = text.as_bytes();
    let step = (bytes.len() / 300).max(1);
    for at in (0..bytes.len()).step_by(step) {
        let mut b = bytes.to_vec();
        b[at] ^= 0x01;
        if let Ok(t) = String::from_utf8(b) {
            assert!(
                tlog_proof::verify_text(&t, &policy).is_err(),
                "byte {at} changed, still verifies"
            );
        }
    }

    // The CLI, offline: exit 0, then 1 for a changed file.
    let dir = tempfile::tempdir().unwrap();
    let (proof_path, policy_path) = (
        dir.path().join("outcome.tlog-proof"),
        dir.path().join("policy"),
    );
    std::fs::write(&proof_path, &text).unwrap();
    std::fs::write(&policy_path, &policy_text).unwrap();
    let audit = |p: &std::path::Path| {
        Command::new(BIN)
            .args(["audit", "--proof"])
            .arg(p)
            .arg("--policy")
            .arg(&policy_path)
            .output()
            .expect("run audit")
    };
    let out = audit(&proof_path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(": OK: entry"), "{stdout}");
    let bad = dir.path().join("bad.tlog-proof");
    std::fs::write(&bad, text.replacen("index ", "index 1", 1)).unwrap();
    assert_eq!(audit(&bad).status.code(), Some(1));

    // The CLI writes the same file from the database.
    let key_file = dir.path().join("log-key");
    std::fs::write(&key_file, app.log.signer.key_string()).unwrap();
    std::fs::write(
        dir.path().join("log-key.mldsa44"),
        app.log.pq.as_ref().expect("ML-DSA-44 key").key_string(),
    )
    .unwrap();
    let out = Command::new(BIN)
        .args([
            "proof",
            "--seq",
            &v.index.to_string(),
            "--database-url",
            &app.db.url,
        ])
        .arg("--log-key-file")
        .arg(&key_file)
        .env("LOG_ORIGIN", &app.log.origin)
        .env("DATA_DIR", dir.path())
        .output()
        .expect("run proof");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);

    // Who may fetch it.
    assert_eq!(get_proof(&app, &app.agency(C), &id).await.0, 404);
    assert_eq!(get_proof(&app, &app.role(Role::Auditor), &id).await.0, 404);
    assert_eq!(get_proof(&app, &app.role(Role::Slg), &id).await.0, 200);
    assert!(app.verify().ok);
}

/// A note signed by Cloudflare's signer from our key string opens with ours.
#[test]
fn their_signatures_verify_with_ours() {
    let ours = Signer::from_seed("example.org/log", &[9; 32]).unwrap();
    let theirs = signed_note::StandardSigner::new(&ours.key_string()).expect("their signer");
    let body = Checkpoint::new("example.org/log", 3, [5; 32])
        .unwrap()
        .to_string();
    let mut n = signed_note::Note::new(body.as_bytes(), &[]).unwrap();
    n.add_sigs(&[&theirs]).unwrap();
    let text = String::from_utf8(n.to_bytes()).unwrap();
    let opened = note::open_note(&text, &[ours.verifier()]).expect("ours opens theirs");
    assert_eq!(opened.text, body);
    // And byte for byte what we write (Ed25519 is deterministic).
    assert_eq!(note::sign_note(&body, &[&ours]).unwrap(), text);
}

async fn fetch_bytes(app: &TestApp, path: &str) -> (u16, Vec<u8>) {
    let mut res = crate::helpers::client()
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    let body = res.body().limit(16 << 20).await.expect("body").to_vec();
    (res.status().as_u16(), body)
}

/// Tiles fetched beforehand, served to `tlog_tiles` by their paths.
struct Prefetched(std::collections::BTreeMap<String, Vec<u8>>);

impl ::tlog_tiles::TileReader for Prefetched {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(
        &self,
        tiles: &[::tlog_tiles::Tile],
    ) -> Result<Vec<Vec<u8>>, ::tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                // Theirs: tile/8/L/N[.p/W]; the C2SP path has no height.
                let path = t.path().replacen("tile/8/", "/tlog/tile/", 1);
                self.0
                    .get(&path)
                    .cloned()
                    .ok_or(::tlog_tiles::Error::InvalidTile)
            })
            .collect()
    }

    fn save_tiles(&self, _: &[::tlog_tiles::Tile], _: &[Vec<u8>]) {}
}

/// Cloudflare's `tlog_tiles` reads our served checkpoint, hash tiles and
/// entry bundle: it recomputes the root from the tiles, proves every entry
/// from them, and the proofs check against the signed root and the entries'
/// bytes.
async fn azul_reads_our_tiles(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..4 {
        app.raise(&[A, B], false).await;
    }
    let _ = app.checkpoint_note().await;
    let (s, note_bytes) = fetch_bytes(&app, "/tlog/checkpoint").await;
    assert_eq!(s, 200);
    let text = String::from_utf8(note_bytes).unwrap();
    let (ed, pq) = log_keys(&app).await;
    let theirs = signed_note::StandardVerifier::new(&ed.key_string()).unwrap();
    let n = signed_note::Note::from_bytes(text.as_bytes()).unwrap();
    n.verify(&signed_note::VerifierList::new(vec![Box::new(theirs)]))
        .expect("their signed_note verifies the served checkpoint");
    let cp = ::tlog_tiles::Checkpoint::from_bytes(n.text()).expect("their checkpoint parse");
    let ours = Checkpoint::parse(Note::parse(&text).unwrap().text()).unwrap();
    assert_eq!(
        pq.verify_checkpoint(&ours.head(), &Note::parse(&text).unwrap().signatures()[1]),
        Ok(0)
    );
    let size = cp.size();
    assert!(size > 4 && size < 256, "{size}");
    let tile = format!("/tlog/tile/0/000.p/{size}");
    let (s, hashes) = fetch_bytes(&app, &tile).await;
    assert_eq!(s, 200);
    let mut map = std::collections::BTreeMap::new();
    map.insert(tile, hashes);
    let reader = Prefetched(map);
    let thr = ::tlog_tiles::TileHashReader::new(size, *cp.hash(), &reader);
    assert_eq!(
        ::tlog_tiles::tree_hash(size, &thr).expect("root from the tiles"),
        *cp.hash()
    );
    let (s, bundle) = fetch_bytes(&app, &format!("/tlog/tile/entries/000.p/{size}")).await;
    assert_eq!(s, 200);
    let entries = escalation_ledger::core::tiles::split_bundle(&bundle).expect("bundle");
    assert_eq!(entries.len() as u64, size);
    for (i, e) in entries.iter().enumerate() {
        let proof = ::tlog_tiles::prove_record(size, i as u64, &thr).expect("their proof");
        ::tlog_tiles::check_record(
            &proof,
            size,
            *cp.hash(),
            i as u64,
            ::tlog_tiles::record_hash(e),
        )
        .expect("the entry is in the tree");
    }
}

both_backends!(dual_signed_checkpoints, proof_files, azul_reads_our_tiles);
