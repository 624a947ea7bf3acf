//! SIGTERM under load: the real binary stops accepting, finishes what it has
//! started and exits within `SHUTDOWN_GRACE`. Every raise either came back
//! 201 with its dispute and ledger entry written, or was refused (no
//! connection, no response) and left nothing behind: none acknowledged and
//! lost, none half-done.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use escalation_ledger::service::verify;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, Served, TestDb, SECRET};

/// What one request came to.
#[derive(Debug)]
enum Outcome {
    Created(String),
    Status(u16),
    Refused,
}

async fn raise_once(client: &awc::Client, base: &str, token: &str) -> Outcome {
    let sent = client
        .post(format!("{base}/v1/disputes"))
        .bearer_auth(token)
        .send_json(&json!({
            "parties": ["kingston-council", "richmond-council"],
            "summary": "Threshold for a strategy meeting",
            "child_ref": "KR-2026-0001",
            "complex": false
        }))
        .await;
    let mut res = match sent {
        Ok(r) => r,
        Err(_) => return Outcome::Refused,
    };
    let status = res.status().as_u16();
    let body = match res.body().await {
        Ok(b) => b,
        Err(_) => return Outcome::Refused,
    };
    if status == 201 {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match v["id"].as_str() {
            Some(id) => Outcome::Created(id.to_string()),
            None => panic!("a 201 without an id: {v}"),
        }
    } else {
        Outcome::Status(status)
    }
}

async fn sigterm_under_load_loses_nothing(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("stderr.log");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let (url, data) = (db.url.clone(), dir.path().to_path_buf());
    let mut served = actix_web::rt::task::spawn_blocking(move || {
        Served::spawn(
            &url,
            &data,
            "info",
            &[
                ("SHUTDOWN_GRACE", "10s"),
                ("RATE_LIMIT_PER_SUBJECT", "0"),
                ("RATE_LIMIT_PER_ADDRESS", "0"),
                ("DEADLINE_SWEEP", "200ms"),
                ("CHECKPOINT_INTERVAL", "200ms"),
                ("DB_POOL_SIZE", "8"),
            ],
            log_file.into(),
        )
    })
    .await
    .expect("join");
    let base = served.base.clone();
    // The image's HEALTHCHECK: `probe` exits 0 on a ready service.
    let probe = |url: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
            .args(["probe", "--url", &url])
            .output()
            .expect("probe runs")
            .status
            .code()
    };
    assert_eq!(probe(format!("{base}/readyz")), Some(0));
    assert_eq!(probe(format!("{base}/no/such/route")), Some(1));
    let token = Keys::from_secret(SECRET.as_bytes())
        .mint(&Claims {
            sub: "user@kingston-council".into(),
            role: Role::Agency,
            agency: Some("kingston-council".into()),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .expect("mint");

    // 16 clients raising as fast as they can, each for at most 20 s or 400 requests.
    let stop = Arc::new(AtomicBool::new(false));
    let created = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (base, token, stop, created) =
                (base.clone(), token.clone(), stop.clone(), created.clone());
            actix_web::rt::spawn(async move {
                let client = awc::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .finish();
                let mut out = Vec::new();
                let until = Instant::now() + Duration::from_secs(20);
                let mut refused_in_a_row = 0;
                while out.len() < 400 && Instant::now() < until && !stop.load(Ordering::SeqCst) {
                    let o = raise_once(&client, &base, &token).await;
                    if matches!(o, Outcome::Created(_)) {
                        created.fetch_add(1, Ordering::SeqCst);
                    }
                    refused_in_a_row = if matches!(o, Outcome::Refused) {
                        refused_in_a_row + 1
                    } else {
                        0
                    };
                    out.push(o);
                    if refused_in_a_row >= 3 {
                        break;
                    }
                }
                out
            })
        })
        .collect();

    // Let the load build (every client's first answers in: a state reached,
    // not a time waited), then SIGTERM while requests are in flight.
    let built = Instant::now() + Duration::from_secs(20);
    while created.load(Ordering::SeqCst) < 32 {
        assert!(Instant::now() < built, "the load never built");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let signalled = Instant::now();
    let (status, served) = actix_web::rt::task::spawn_blocking(move || {
        let status = served.terminate(Duration::from_secs(15));
        (status, served)
    })
    .await
    .expect("join");
    let took = signalled.elapsed();
    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for c in clients {
        outcomes.extend(c.await.expect("client task"));
    }
    drop(served);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("still running 15 s after SIGTERM\n{log}"));
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(took < Duration::from_secs(12), "took {took:?} (grace 10 s)");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("stopped cleanly"), "{log}");
    assert_eq!(
        probe(format!("{base}/readyz")),
        Some(1),
        "a stopped service is not ready"
    );

    let created: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Created(id) => Some(id),
            _ => None,
        })
        .collect();
    let others: Vec<u16> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Status(s) => Some(*s),
            _ => None,
        })
        .collect();
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Refused))
        .count();
    eprintln!(
        "{backend:?}: {} created, {} refused, {} other; exited {took:?} after SIGTERM",
        created.len(),
        refused,
        others.len()
    );
    assert!(
        created.len() >= 16,
        "load too light: {} created",
        created.len()
    );
    assert!(
        refused > 0,
        "no request was refused: SIGTERM came after the load"
    );
    // A refusal with a status is clean only as a 503 (nothing written).
    assert!(
        others.iter().all(|s| *s == 503),
        "unexpected statuses {others:?}"
    );

    // The ledger checks out, every 201 is there, and nothing else was raised.
    let pool = escalation_ledger::store::db::pool(&db.url, 1).expect("pool");
    let mut conn = pool.get().expect("conn");
    let report = verify::verify(&mut conn).expect("verify runs");
    assert!(report.ok, "{report:?}");
    for id in &created {
        let d = escalation_ledger::store::disputes::load_dispute(&mut conn, id).expect("load");
        assert!(d.is_some(), "acknowledged and lost: {id}");
    }
    let all = escalation_ledger::store::disputes::all_disputes(&mut conn).expect("all");
    assert_eq!(
        all.len(),
        created.len(),
        "disputes written without a 201 reaching the client ({} refused)",
        refused
    );
}

both_backends!(sigterm_under_load_loses_nothing);
