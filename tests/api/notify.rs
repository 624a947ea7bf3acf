//! Notifications: webhook endpoints get signed, id-only bodies for the right
//! events; failures are retried under the same `webhook-id`; nothing is lost
//! when the process dies before delivering; a deadline's approach is told once.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use escalation_ledger::core::ladder::{Policy, Role};
use escalation_ledger::service::deadline::{self, Swept};
use escalation_ledger::workers::sender::{self, SenderConfig};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::both_backends;
use crate::helpers::{Backend, Served, TestApp, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");
const SUMMARY: &str = "Threshold for a strategy meeting";
const CHILD_REF: &str = "KR-2026-0001";

/// One request the receiver saw.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
}

/// A webhook receiver: records every request; fails the first `fail_first` with 500.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Got>>>,
    fail_first: Arc<AtomicUsize>,
}

impl Receiver {
    fn start(listener: TcpListener, fail_first: usize) -> (Receiver, String) {
        let rx = Receiver::default();
        rx.fail_first.store(fail_first, Ordering::SeqCst);
        let base = format!("http://{}", listener.local_addr().unwrap());
        let data = web::Data::new(rx.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        actix_web::rt::spawn(server);
        (rx, base)
    }

    fn on(&self, path: &str) -> Vec<Got> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.path == path)
            .cloned()
            .collect()
    }

    fn all(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, rx: web::Data<Receiver>) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let fail = rx
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answered = if fail { 500 } else { 204 };
    rx.got.lock().unwrap().push(Got {
        path: req.path().to_string(),
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered,
    });
    if fail {
        HttpResponse::InternalServerError().finish()
    } else {
        HttpResponse::NoContent().finish()
    }
}

/// The receiver's side of Standard Webhooks: recompute and compare.
fn signature_ok(secret: &str, g: &Got) -> bool {
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", g.id, g.timestamp, g.body).as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    g.signature.split(' ').any(|s| s == expected)
}

fn fast_sender() -> SenderConfig {
    SenderConfig {
        poll: Duration::from_millis(50),
        backoff: Duration::from_millis(100),
        max_attempts: 4,
        ..Default::default()
    }
}

async fn wait_until(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn free_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// A body carries the event and ids only: never summary text or `child_ref`.
fn check_body(g: &Got) -> Value {
    assert!(!g.body.contains(SUMMARY), "{}", g.body);
    assert!(!g.body.contains(CHILD_REF), "{}", g.body);
    let v: Value = serde_json::from_str(&g.body).expect("JSON body");
    let keys: BTreeSet<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut want = BTreeSet::from(["type", "dispute_id", "seq", "rung", "status", "recorded_at"]);
    // A resolution's notice links to the dispute's tlog-proof file.
    if v["type"] == "resolved" {
        want.insert("proof");
        assert_eq!(
            v["proof"],
            format!("/v1/disputes/{}/proof", v["dispute_id"].as_str().unwrap()),
            "{v}"
        );
    }
    assert_eq!(keys, want, "{v}");
    v
}

async fn register(
    app: &TestApp,
    target: Value,
    url: &str,
    secret: Option<&str>,
) -> (String, String) {
    let mut body = json!({"target": target, "url": url});
    if let Some(s) = secret {
        body["secret"] = json!(s);
    }
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/webhooks",
            body,
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let secret = v["secret"]
        .as_str()
        .expect("secret returned once")
        .to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (v["id"].as_str().unwrap().to_string(), secret)
}

/// Wait until no delivery is pending on any endpoint, and return each
/// endpoint's deliveries listing. Rows are written in their entry's
/// transaction, so once none is pending nothing more can arrive: what the
/// receiver holds then is final (no fixed sleep stands in for "nothing else").
async fn settled(app: &TestApp) -> BTreeMap<String, Vec<Value>> {
    let admin = app.role(Role::PartnershipAdmin);
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, list) = app.get(&admin, "/v1/admin/webhooks").await;
        assert_eq!(s, 200, "{list}");
        let mut all = BTreeMap::new();
        for w in list["items"].as_array().unwrap() {
            let id = w["id"].as_str().unwrap();
            let (s, d) = app
                .get(&admin, &format!("/v1/admin/webhooks/{id}/deliveries"))
                .await;
            assert_eq!(s, 200, "{d}");
            all.insert(id.to_string(), d["items"].as_array().unwrap().clone());
        }
        if all.values().flatten().all(|d| d["status"] != "pending") {
            return all;
        }
        assert!(Instant::now() < end, "deliveries still pending: {all:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Party agency endpoints hear every step, the `slg` role only once the dispute
/// reaches its rung, a non-party agency nothing; every body is signed.
async fn the_right_endpoints_get_signed_id_only_notifications(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    sender::spawn_sender(app.pool.clone(), fast_sender());
    let (rx, base) = Receiver::start(free_listener(), 0);
    let admin = app.role(Role::PartnershipAdmin);

    // Refusals write nothing.
    let size = app.size().await;
    let url = format!("{base}/kingston");
    for (tok, body, want) in [
        (
            app.agency("kingston-council"),
            json!({"target": {"agency": "kingston-council"}, "url": url}),
            403,
        ),
        (
            admin.clone(),
            json!({"target": {"agency": "kingston-council"}, "url": "ftp://x/y"}),
            422,
        ),
        (
            admin.clone(),
            json!({"target": {"agency": "nowhere"}, "url": url}),
            422,
        ),
        (
            admin.clone(),
            json!({"target": {"agency": "kingston-council"}, "url": url, "secret": "c2hvcnQ="}),
            422,
        ),
        (
            admin.clone(),
            json!({"target": {"role": "king"}, "url": url}),
            400,
        ),
    ] {
        let (s, v) = app.post(&tok, "/v1/admin/webhooks", body).await;
        assert_eq!(s, want, "{v}");
    }
    assert_eq!(app.size().await, size);

    let given = format!("whsec_{}", B64.encode([42u8; 32]));
    let (kingston, k_secret) = register(
        &app,
        json!({"agency": "kingston-council"}),
        &format!("{base}/kingston?token=PATHSECRET"),
        Some(&given),
    )
    .await;
    assert_eq!(k_secret, given);
    let (slg, slg_secret) =
        register(&app, json!({"role": "slg"}), &format!("{base}/slg"), None).await;
    let (richmond, _) = register(
        &app,
        json!({"agency": "richmond-council"}),
        &format!("{base}/richmond"),
        None,
    )
    .await;

    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let (s, v) = app
        .post(
            &app.agency("kingston-council"),
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": "no agreement"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    wait_until("two kingston and one slg notification", 30, || {
        rx.on("/kingston").len() >= 2 && !rx.on("/slg").is_empty()
    })
    .await;
    let queued = settled(&app).await;
    assert_eq!(queued[&kingston].len(), 2, "{queued:?}");
    assert_eq!(queued[&slg].len(), 1, "{queued:?}");
    assert!(
        queued[&richmond].is_empty(),
        "nothing queued for a non-party: {queued:?}"
    );

    let k = rx.on("/kingston");
    assert_eq!(k.len(), 2, "{k:?}");
    let bodies: Vec<Value> = k.iter().map(check_body).collect();
    assert_eq!(bodies[0]["type"], "raised");
    assert_eq!(bodies[0]["rung"], "agencies");
    assert_eq!(bodies[1]["type"], "escalated");
    assert_eq!(bodies[1]["rung"], "slg");
    for (b, g) in bodies.iter().zip(&k) {
        assert_eq!(b["dispute_id"], id.as_str());
        assert_eq!(b["status"], "open");
        assert_eq!(g.id, format!("msg_{}_{kingston}", b["seq"]));
        assert!(signature_ok(&k_secret, g), "{g:?}");
        assert!(
            !signature_ok(&slg_secret, g),
            "a wrong secret does not verify"
        );
        let ts: i64 = g.timestamp.parse().expect("unix seconds");
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    }
    let s_got = rx.on("/slg");
    assert_eq!(s_got.len(), 1, "{s_got:?}");
    assert_eq!(check_body(&s_got[0])["type"], "escalated");
    assert!(signature_ok(&slg_secret, &s_got[0]));
    assert!(
        rx.on("/richmond").is_empty(),
        "a non-party agency hears nothing"
    );

    // The listing shows the delivery status; the secret never appears again.
    let (s, list) = app.get(&admin, "/v1/admin/webhooks").await;
    assert_eq!(s, 200, "{list}");
    let by_id: BTreeMap<String, Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["id"].as_str().unwrap().to_string(), w.clone()))
        .collect();
    assert_eq!(by_id[&kingston]["deliveries"]["delivered"], 2);
    assert_eq!(by_id[&slg]["deliveries"]["delivered"], 1);
    assert_eq!(by_id[&richmond]["deliveries"]["delivered"], 0);
    assert!(!list.to_string().contains(&k_secret[6..]));
    let (s, _) = app
        .get(&app.role(Role::Auditor), "/v1/admin/webhooks")
        .await;
    assert_eq!(s, 403);

    // The ledger records the origin, never the path's secret or the signing secret.
    let entries = app
        .all(&app.role(Role::Auditor), "/v1/ledger/entries?limit=200")
        .await;
    let text = Value::Array(entries).to_string();
    assert!(text.contains("webhook_registered"), "{text}");
    assert!(!text.contains("PATHSECRET") && !text.contains(&k_secret[6..]));

    // Deactivation: a ledger entry; again is 409; unknown is 404.
    let del = |path: String| {
        let c = app
            .client
            .delete(format!("{}{path}", app.base))
            .bearer_auth(&admin);
        async move {
            let mut r = c.send().await.unwrap();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            (r.status().as_u16(), v)
        }
    };
    let (s, v) = del(format!("/v1/admin/webhooks/{richmond}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["active"], false);
    assert_eq!(del(format!("/v1/admin/webhooks/{richmond}")).await.0, 409);
    assert_eq!(del("/v1/admin/webhooks/wh_nope".into()).await.0, 404);
    let (s, _) = app
        .get(&admin, "/v1/admin/webhooks/wh_nope/deliveries")
        .await;
    assert_eq!(s, 404);

    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// A receiver that fails twice gets the same `webhook-id` three times; the
/// listing shows the attempts; an endpoint that never answers ends `failed`.
async fn failures_are_retried_under_the_same_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    sender::spawn_sender(app.pool.clone(), fast_sender());
    let (rx, base) = Receiver::start(free_listener(), 2);
    let admin = app.role(Role::PartnershipAdmin);
    let (hook, secret) = register(
        &app,
        json!({"agency": "kingston-council"}),
        &format!("{base}/k"),
        None,
    )
    .await;
    // A dead receiver that keeps its port for the whole test (no port released
    // and bound again): it accepts each connection and closes it unanswered.
    let dead_listener = free_listener();
    let dead = format!("http://{}/gone", dead_listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in dead_listener.incoming() {
            drop(conn);
        }
    });
    let (dead_hook, _) = register(&app, json!({"agency": "cafcass"}), &dead, None).await;
    app.raise(&["kingston-council", "cafcass"], false).await;

    let path = format!("/v1/admin/webhooks/{hook}/deliveries");
    let mut last = Value::Null;
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        let (s, v) = app.get(&admin, &path).await;
        assert_eq!(s, 200, "{v}");
        last = v;
        if last["items"][0]["status"] == "delivered" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["items"][0]["status"], "delivered", "{last}");
    assert_eq!(last["items"][0]["attempts"], 3, "{last}");
    assert_eq!(last["items"][0]["last_error"], "HTTP 500", "{last}");
    let got = rx.on("/k");
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        got.iter().map(|g| g.answered).collect::<Vec<_>>(),
        vec![500, 500, 204]
    );
    let ids: BTreeSet<&str> = got.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids.len(), 1, "one webhook-id across retries");
    assert_eq!(got[0].id, last["items"][0]["id"].as_str().unwrap());
    assert!(got.iter().all(|g| signature_ok(&secret, g)));

    let path = format!("/v1/admin/webhooks/{dead_hook}/deliveries");
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = app.get(&admin, &path).await;
        if v["items"][0]["status"] == "failed" {
            assert_eq!(v["items"][0]["attempts"], 4, "{v}");
            assert!(v["items"][0]["last_error"].as_str().is_some(), "{v}");
            break;
        }
        assert!(Instant::now() < end, "never failed: {v}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, list) = app.get(&admin, "/v1/admin/webhooks").await;
    let dead_row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == dead_hook.as_str())
        .cloned()
        .unwrap();
    assert_eq!(dead_row["deliveries"]["failed"], 1, "{dead_row}");
    assert!(
        dead_row["deliveries"]["last_error"].is_string(),
        "{dead_row}"
    );
}

fn serve(url: &str, data_dir: &std::path::Path) -> Served {
    let env = [("OUTBOX_POLL", "100ms"), ("OUTBOX_BACKOFF", "200ms")];
    Served::spawn(url, data_dir, "error", &env, Stdio::null())
}

fn mint(role: Role, agency: Option<&str>) -> String {
    crate::helpers::served_token(&format!("{role}-user"), role, agency)
}

async fn call(method: &str, url: String, tok: &str, body: Value) -> (u16, Value) {
    crate::helpers::served_call(method, url, tok, body).await
}

/// Events recorded while the receiver is down, by a process that is then
/// killed, are all delivered by the next process: each `webhook-id` once at least.
async fn nothing_is_lost_across_a_kill_and_restart(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    // The receiver is up throughout (no port released and bound again) and
    // refuses everything until the first process is gone.
    let (rx, base) = Receiver::start(free_listener(), usize::MAX);
    let hook_url = format!("{base}/hook");
    let admin = mint(Role::PartnershipAdmin, None);
    let kingston = mint(Role::Agency, Some("kingston-council"));

    let (url, d) = (db.url.clone(), dir.path().to_path_buf());
    let first = actix_web::rt::task::spawn_blocking(move || serve(&url, &d))
        .await
        .unwrap();
    let (s, v) = call(
        "POST",
        format!("{}/v1/admin/webhooks", first.base),
        &admin,
        json!({"target": {"agency": "kingston-council"}, "url": hook_url}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let hook = v["id"].as_str().unwrap().to_string();
    let secret = v["secret"].as_str().unwrap().to_string();
    let mut disputes = Vec::new();
    for _ in 0..3 {
        let (s, v) = call(
            "POST",
            format!("{}/v1/disputes", first.base),
            &kingston,
            json!({"parties": ["kingston-council", "cafcass"], "summary": SUMMARY, "child_ref": CHILD_REF}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        disputes.push(v["id"].as_str().unwrap().to_string());
    }
    let (s, v) = call(
        "POST",
        format!("{}/v1/disputes/{}/escalate", first.base, disputes[0]),
        &kingston,
        json!({"reason": "no agreement"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Let the first process try (and fail) against the dead receiver, then
    // kill it: wait for the state (every row attempted), not for a time.
    let end = Instant::now() + Duration::from_secs(30);
    let pending = loop {
        let (s, v) = call(
            "GET",
            format!("{}/v1/admin/webhooks/{hook}/deliveries", first.base),
            &admin,
            Value::Null,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        let rows = v["items"].as_array().unwrap();
        if rows.len() == 4 && rows.iter().all(|d| d["attempts"].as_i64() >= Some(1)) {
            break v;
        }
        assert!(Instant::now() < end, "never attempted: {v}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    let expected: BTreeSet<String> = pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(expected.len(), 4, "{pending}");
    assert!(pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "pending"));
    drop(first);

    assert!(
        !rx.all().is_empty(),
        "the receiver was tried before the kill"
    );
    assert!(
        rx.all().iter().all(|g| g.answered == 500),
        "nothing was accepted before the kill"
    );
    rx.fail_first.store(0, Ordering::SeqCst);
    let (url, d) = (db.url.clone(), dir.path().to_path_buf());
    let second = actix_web::rt::task::spawn_blocking(move || serve(&url, &d))
        .await
        .unwrap();
    let accepted = || -> Vec<Got> { rx.all().into_iter().filter(|g| g.answered < 300).collect() };
    wait_until("every notification after the restart", 60, || {
        let ids: BTreeSet<String> = accepted().into_iter().map(|g| g.id).collect();
        ids.len() >= expected.len()
    })
    .await;
    let got = accepted();
    let ids: BTreeSet<String> = got.iter().map(|g| g.id.clone()).collect();
    assert_eq!(ids, expected);
    for g in &got {
        check_body(g);
        assert!(signature_ok(&secret, g), "{g:?}");
    }
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = call(
            "GET",
            format!("{}/v1/admin/webhooks/{hook}/deliveries", second.base),
            &admin,
            Value::Null,
        )
        .await;
        let list = v["items"].as_array().unwrap();
        // As many as were pending before the restart: all() on an empty list proves nothing.
        if list.len() == expected.len() && list.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        assert!(Instant::now() < end, "not all delivered: {v}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    drop(second);
    let out = Command::new(BIN)
        .args(["verify", "--database-url", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// One sweep at `now` (RFC 3339) warning `hours` working hours ahead.
async fn sweep_at(app: &TestApp, hours: u32, now: &str) -> Swept {
    let pool = app.pool.clone();
    let now = chrono::DateTime::parse_from_rfc3339(now)
        .expect("rfc 3339")
        .with_timezone(&chrono::Utc);
    actix_web::rt::task::spawn_blocking(move || {
        deadline::sweep(
            &mut pool.get().expect("conn"),
            &[Policy::krscp().into()],
            hours,
            now,
        )
        .expect("sweep")
    })
    .await
    .expect("join")
}

/// One working day before a deadline, the parties and those due to act on the
/// rung hear `deadline_approaching` (a ledger entry, like every notification),
/// once even when two sweepers run at once; after it, `deadline_missed`.
async fn a_deadline_approaching_is_told_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    sender::spawn_sender(app.pool.clone(), fast_sender());
    let (rx, base) = Receiver::start(free_listener(), 0);
    let (kingston, k_secret) = register(
        &app,
        json!({"agency": "kingston-council"}),
        &format!("{base}/kingston"),
        None,
    )
    .await;
    let (_, slg_secret) =
        register(&app, json!({"role": "slg"}), &format!("{base}/slg"), None).await;
    let (sp, _) = register(
        &app,
        json!({"role": "statutory_partner"}),
        &format!("{base}/sp"),
        None,
    )
    .await;
    let (richmond, _) = register(
        &app,
        json!({"agency": "richmond-council"}),
        &format!("{base}/richmond"),
        None,
    )
    .await;

    // Complex, so on the SLG rung from Friday 28 August 2026 10:30 UTC: due
    // Monday 7 September at 17:00 BST, 16:00 UTC (Monday 31 August is a bank
    // holiday).
    let id = app
        .raise_at(
            &["kingston-council", "cafcass"],
            false,
            true,
            "2026-08-28 10:30:00",
        )
        .await;
    let none = sweep_at(&app, 8, "2026-09-04T15:59:00Z").await;
    assert_eq!(
        (none.approaching, none.missed),
        (0, 0),
        "nine working hours left"
    );
    let off = sweep_at(&app, 0, "2026-09-07T12:00:00Z").await;
    assert_eq!(off.approaching, 0, "0 turns warnings off");

    // Two sweepers at once, one working day before (17:00 BST on the
    // Friday): one warning between them.
    let total: usize = app
        .sweep_twice_at_once(8, "2026-09-04T16:00:00Z")
        .await
        .iter()
        .map(|s| s.approaching)
        .sum();
    assert_eq!(total, 1, "one warning between the two sweeps");
    assert_eq!(
        sweep_at(&app, 8, "2026-09-07T09:00:00Z").await.approaching,
        0
    );
    let late = sweep_at(&app, 8, "2026-09-07T16:00:01Z").await;
    assert_eq!((late.approaching, late.missed), (0, 1));

    wait_until("three notifications each for kingston and slg", 30, || {
        rx.on("/kingston").len() >= 3 && rx.on("/slg").len() >= 3
    })
    .await;
    let queued = settled(&app).await;
    assert_eq!(queued[&kingston].len(), 3, "{queued:?}");
    assert!(queued[&sp].is_empty(), "{queued:?}");
    assert!(queued[&richmond].is_empty(), "{queued:?}");
    for (path, secret) in [("/kingston", &k_secret), ("/slg", &slg_secret)] {
        let got = rx.on(path);
        let bodies: Vec<Value> = got.iter().map(check_body).collect();
        let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            ["raised", "deadline_approaching", "deadline_missed"],
            "{path}"
        );
        assert_eq!(bodies[1]["dispute_id"], id.as_str());
        assert_eq!(bodies[1]["rung"], "slg");
        assert_eq!(bodies[1]["status"], "open");
        assert!(got.iter().all(|g| signature_ok(secret, g)), "{path}");
        let ids: BTreeSet<&str> = got.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids.len(), 3, "{path}: one webhook-id per entry");
    }
    assert!(
        rx.on("/sp").is_empty(),
        "statutory partners are not due to act on slg"
    );
    assert!(
        rx.on("/richmond").is_empty(),
        "a non-party agency hears nothing"
    );

    // The warning is a ledger entry by the sweeper, with the due_at it warned of.
    let (s, history) = app
        .get(
            &app.agency("kingston-council"),
            &format!("/v1/disputes/{id}/history"),
        )
        .await;
    assert_eq!(s, 200, "{history}");
    let warned: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "deadline_approaching")
        .collect();
    assert_eq!(warned.len(), 1, "{history}");
    assert_eq!(
        warned[0]["facts"],
        json!({"rung": "slg", "due_at": "2026-09-07T16:00:00Z"})
    );
    assert_eq!(warned[0]["actor"]["sub"], "system:deadline-sweeper");
    let (_, deliveries) = app
        .get(
            &app.role(Role::PartnershipAdmin),
            &format!("/v1/admin/webhooks/{kingston}/deliveries"),
        )
        .await;
    assert!(
        deliveries["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["event"] == "deadline_approaching" && d["status"] == "delivered"),
        "{deliveries}"
    );
    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // The warnings table is checked against the ledger.
    app.sql(
        "DELETE FROM deadline_warnings",
        "DELETE FROM deadline_warnings",
    )
    .expect("tamper");
    let r = app.verify();
    assert!(!r.ok);
    assert_eq!(r.mismatched_dispute.as_deref(), Some(id.as_str()), "{r:?}");
}

both_backends!(
    the_right_endpoints_get_signed_id_only_notifications,
    failures_are_retried_under_the_same_id,
    nothing_is_lost_across_a_kill_and_restart,
    a_deadline_approaching_is_told_once
);
