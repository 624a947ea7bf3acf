//! `WITNESS_QUORUM` as a C2SP tlog-policy file: the service's "fully
//! witnessed" follows the policy's groups ("2 of the 3 partners, and the
//! scrutineer"), not a count, with real cosignatures of both types.

use std::sync::Arc;

use escalation_ledger::app::Settings;
use escalation_ledger::core::checkpoint::{Checkpoint, Cosigner};
use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::note::{Note, Signer};
use escalation_ledger::core::pq::MlDsaSigner;
use escalation_ledger::core::tlog_policy::{Policy, WitnessQuorum};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

enum Key {
    Ed(Cosigner),
    Pq(MlDsaSigner),
}

impl Key {
    fn vkey(&self) -> String {
        match self {
            Key::Ed(c) => c.verifier_key(),
            Key::Pq(s) => s.verifier_key(),
        }
    }

    fn line(&self, cp: &Checkpoint) -> String {
        let now = chrono::Utc::now().timestamp() as u64;
        match self {
            Key::Ed(c) => c.cosign(cp, now).unwrap().to_line(),
            Key::Pq(s) => s.sign_checkpoint(&cp.head(), now).unwrap().to_line(),
        }
    }
}

async fn post(app: &TestApp, key: &Key, cp: &Checkpoint) {
    let (s, v) = app
        .post(
            &app.role(Role::Scrutineer),
            "/v1/ledger/cosignatures",
            json!({"size": cp.size(), "cosignature": key.line(cp)}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
}

async fn witnessed(app: &TestApp) -> Value {
    let (s, v) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/checkpoint/witnessed")
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Three partners (Ed25519) and the scrutineer (ML-DSA-44); the policy wants
/// two partners and the scrutineer. Three partner cosignatures (enough for
/// a count of 3) are not enough; two and the scrutineer are.
async fn the_quorum_follows_the_policy_groups(backend: Backend) {
    let keys = [
        ("la", Key::Ed(Cosigner::generate("la.example/w").unwrap())),
        ("icb", Key::Ed(Cosigner::generate("icb.example/w").unwrap())),
        (
            "police",
            Key::Ed(Cosigner::generate("police.example/w").unwrap()),
        ),
        (
            "scrutineer",
            Key::Pq(MlDsaSigner::generate("scrutineer.example/w").unwrap()),
        ),
    ];
    // The policy's own witness names differ from the registered ones: the
    // keys are what match.
    let log = Signer::generate("krscp.example/ledger").unwrap();
    let text = format!(
        "log {}\nwitness la {}\nwitness icb {}\nwitness police {}\nwitness scrutineer {}\n\
         group partners 2 la icb police\ngroup krscp all partners scrutineer\nquorum krscp\n",
        log.verifier_key(),
        keys[0].1.vkey(),
        keys[1].1.vkey(),
        keys[2].1.vkey(),
        keys[3].1.vkey(),
    );
    let policy = Policy::parse(&text).expect("the policy parses");
    let app = TestApp::spawn_with_settings(
        backend,
        Settings {
            witness_quorum: WitnessQuorum::Policy(Arc::new(policy)),
            ..Settings::default()
        },
    )
    .await;
    for (_, k) in &keys {
        let name = k.vkey().split('+').next().unwrap().to_string();
        let (s, v) = app
            .post(
                &app.role(Role::PartnershipAdmin),
                "/v1/admin/witnesses",
                json!({"name": name, "key": k.vkey()}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    app.raise(&["kingston-council", "cafcass"], false).await;
    let note = app.checkpoint_note().await;
    let cp = Checkpoint::parse(Note::parse(&note).unwrap().text()).unwrap();

    let w = witnessed(&app).await;
    assert_eq!(
        (w["quorum"].clone(), w["fully_witnessed"].clone()),
        (json!(3), json!(false)),
        "{w}"
    );
    // Every partner, no scrutineer: three cosignatures, quorum not met.
    for (_, key) in &keys[..3] {
        post(&app, key, &cp).await;
    }
    let w = witnessed(&app).await;
    assert_eq!(w["cosigned_by"].as_array().unwrap().len(), 3, "{w}");
    assert_eq!(w["fully_witnessed"], false, "{w}");

    // A new checkpoint: one partner and the scrutineer is not enough either ...
    app.raise(&["richmond-council", "kingston-hospital"], false)
        .await;
    let note = app.checkpoint_note().await;
    let cp = Checkpoint::parse(Note::parse(&note).unwrap().text()).unwrap();
    post(&app, &keys[3].1, &cp).await;
    post(&app, &keys[1].1, &cp).await;
    let w = witnessed(&app).await;
    assert_eq!(w["fully_witnessed"], false, "{w}");
    // ... two partners and the scrutineer is.
    post(&app, &keys[2].1, &cp).await;
    let w = witnessed(&app).await;
    assert_eq!(w["cosigned_by"].as_array().unwrap().len(), 3, "{w}");
    assert_eq!(w["fully_witnessed"], true, "{w}");
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

both_backends!(the_quorum_follows_the_policy_groups);
