use escalation_ledger::core::ladder::Role;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

async fn python_verify(app: &TestApp) -> std::process::Output {
    app.python("verify_chain.py", app.role(Role::PartnershipAdmin))
        .await
}

/// The stand-alone Python script recomputes our chain from the API, and
/// catches an entry whose stored hash was rewritten.
async fn python_script_recomputes_the_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let tok = app.agency("cafcass");
    // Free text with quotes, the control characters free text may hold (tab,
    // newline, carriage return; the others are refused at the edge) and
    // non-ASCII, to exercise canonical JSON.
    let (s, _) = app
        .post(
            &tok,
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "\"Quoted\"\ttab\nline\r é ✓ 𝄞"}),
        )
        .await;
    assert_eq!(s, 201);
    app.raise(&["richmond-council", "sw-london-icb", "cafcass"], true)
        .await;

    let out = python_verify(&app).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, head) = app.get(&app.role(Role::Auditor), "/v1/ledger/head").await;
    assert!(
        stdout.contains(&format!(
            "chain intact: 5 entries, head {}",
            head["head_hash"].as_str().unwrap()
        )),
        "{stdout}"
    );

    app.sql(
        "DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET event = 'withdrawn' WHERE seq = 3",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update; \
         UPDATE ledger_entries SET event = 'withdrawn' WHERE seq = 3",
    )
    .unwrap();
    let out = python_verify(&app).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("chain broken at seq 3"), "{stdout}");
}

/// Entries come back in order with their hashes linked; the auditor sees no free text.
async fn ledger_endpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let (s, head) = app
        .get(&app.role(Role::Scrutineer), "/v1/ledger/head")
        .await;
    assert_eq!(s, 200);
    assert_eq!(head["size"], 3);
    let (s, list) = app
        .get(
            &app.role(Role::Scrutineer),
            "/v1/ledger/entries?from=2&limit=5",
        )
        .await;
    assert_eq!(s, 200);
    let e = &list["items"][0];
    assert_eq!(e["seq"], 2);
    assert_eq!(e["event"], "raised");
    assert_eq!(e["dispute_id"], id.as_str());
    assert_eq!(e["actor"]["agency"], "kingston-council");
    assert_eq!(e["payload"]["child_ref"], "KR-2026-0001");
    assert_eq!(e["entry_hash"], head["head_hash"]);
    let h = e["entry_hash"].as_str().unwrap();
    assert!(
        h.len() == 64
            && h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let (_, first) = app
        .get(&app.role(Role::Scrutineer), "/v1/ledger/entries?limit=2")
        .await;
    let first = &first["items"];
    assert_eq!(first.as_array().map(Vec::len), Some(2));
    assert_eq!(first[0]["prev_hash"], "0".repeat(64));
    assert_eq!(first[0]["event"], "registry_seeded");
    assert_eq!(first[1]["event"], "policy_activated");
    assert_eq!(first[1]["facts"]["version"], "krscp-2024-02");
    assert_eq!(first[1]["prev_hash"], first[0]["entry_hash"]);
    assert_eq!(first[1]["entry_hash"], e["prev_hash"]);

    let (_, list) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/entries?from=2")
        .await;
    assert!(list["items"][0]["payload"].is_null());
    assert_eq!(list["items"][0]["payload_hash"], e["payload_hash"]);
    let (s, v) = app.get(&app.role(Role::Auditor), "/v1/ledger/verify").await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], true);
    assert_eq!(v["size"], 3);
    assert_eq!(v["head_hash"], head["head_hash"]);
}

/// `verify_chain.py --file` (README) on a saved entries array, and seen to
/// fail: an edited payload, an edited `prev_hash`, a gap; a null payload is
/// reported, never skipped in silence.
async fn python_script_checks_a_saved_file_and_fails_on_each_fault(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let (s, _) = app
        .post(
            &app.agency("cafcass"),
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "meet on Monday"}),
        )
        .await;
    assert_eq!(s, 201);
    app.raise(&["richmond-council", "cafcass"], false).await;
    let (s, saved) = app
        .get(&app.role(Role::PartnershipAdmin), "/v1/ledger/entries")
        .await;
    assert_eq!(s, 200, "{saved}");
    let entries = saved["items"].as_array().expect("entries").clone();
    assert_eq!(entries.len(), 5);
    assert!(
        entries.iter().all(|e| e["payload"].is_object()),
        "partnership_admin reads every payload: {saved}"
    );
    let dir = tempfile::tempdir().expect("dir");
    let check = |name: &str, entries: Vec<serde_json::Value>| {
        let file = dir.path().join(name);
        std::fs::write(&file, serde_json::to_vec(&entries).unwrap()).expect("write");
        let args = vec!["--file".to_string(), file.display().to_string()];
        async move {
            let out = crate::helpers::python_run("verify_chain.py", args, vec![]).await;
            (
                out.status.code(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        }
    };

    let (code, out) = check("intact.json", entries.clone()).await;
    assert_eq!(code, Some(0), "{out}");
    let head = entries[4]["entry_hash"].as_str().unwrap();
    assert_eq!(
        out.trim(),
        format!("chain intact: 5 entries, head {head}"),
        "no payload skipped"
    );

    let mut edited = entries.clone();
    edited[3]["payload"]["resolution"] = json!("meet on Tuesday");
    let (code, out) = check("payload.json", edited).await;
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        out.trim(),
        "chain broken at seq 3: payload does not match payload_hash"
    );

    let mut edited = entries.clone();
    edited[4]["prev_hash"] = json!("0".repeat(64));
    let (code, out) = check("prev.json", edited).await;
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        out.trim(),
        "chain broken at seq 4: prev_hash does not match the previous entry_hash"
    );

    let mut gap = entries.clone();
    gap.remove(2);
    let (code, out) = check("gap.json", gap).await;
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        out.trim(),
        "chain broken at seq 2: entry 2 is missing (found seq 3 next)"
    );

    // A payload withheld (null) cannot be hashed: the chain still holds, and
    // the script names the entry it could not check.
    let mut withheld = entries.clone();
    withheld[3]["payload"] = serde_json::Value::Null;
    let (code, out) = check("null.json", withheld).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("null payloads (erased, or withheld from this token; payload_hash not checked): 1 at seq 3"),
        "{out}"
    );
}

both_backends!(
    python_script_recomputes_the_chain,
    ledger_endpoints,
    python_script_checks_a_saved_file_and_fails_on_each_fault,
);
