//! Email: address lists per agency and role are ledgered registry changes
//! (addresses in the erasable payload only); every notification event sends
//! the parties and the roles due to act an email through the outbox's email
//! side, naming the event and linking to the console, with no free text and
//! no child reference; a real SMTP server (aiosmtpd) receives them, and a
//! kill -9 while mail is pending loses none; a stand-in for GOV.UK Notify's
//! API checks the request and the JWT; bad settings stop the start.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use escalation_ledger::core::ladder::Role;
use escalation_ledger::workers::mailer::{
    self, Backend, MailerConfig, NotifyApi, NotifyKey, SmtpSettings, SmtpTls,
};
use escalation_ledger::workers::sender::SenderConfig;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend as Db, Served, TestApp, TestDb, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");
const SUMMARY: &str = "Threshold for a strategy meeting";
const CHILD_REF: &str = "KR-2026-0001";
const REASON: &str = "no agreement on the threshold";
const PUBLIC: &str = "https://ladder.example.org";

const KINGSTON: &str = "lead@kingston.example.org";
const KINGSTON_2: &str = "deputy@kingston.example.org";
const CAFCASS: &str = "lead@cafcass.example.org";
const SLG: &str = "chair@slg.example.org";
const RICHMOND: &str = "lead@richmond.example.org";

// ---- the SMTP receiver ----

/// One message the SMTP server accepted.
#[derive(Debug, Clone)]
struct Got {
    to: Vec<String>,
    message_id: String,
    subject: String,
    /// The decoded body.
    body: String,
    raw: String,
}

/// `tests/fixtures/smtp_sink.py`: a real SMTP server (aiosmtpd) on 127.0.0.1;
/// refuses (451) while its flag file exists. Killed when dropped.
struct Sink {
    child: Child,
    port: u16,
    out: PathBuf,
    refuse: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sink {
    fn start(refusing: bool) -> Sink {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "python3 with aiosmtpd is needed (`python3 -m pip install aiosmtpd`, see .ci/run)"
        );
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("mail.jsonl");
        let refuse = dir.path().join("refuse");
        if refusing {
            std::fs::write(&refuse, b"1").unwrap();
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(&out)
            .arg(&refuse)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("SMTP sink printed {line:?}"));
        Sink {
            child,
            port,
            out,
            refuse,
            _dir: dir,
        }
    }

    fn accept(&self) {
        std::fs::remove_file(&self.refuse).unwrap();
    }

    fn got(&self) -> Vec<Got> {
        let Ok(text) = std::fs::read_to_string(&self.out) else {
            return Vec::new();
        };
        text.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                parse_message(&v)
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Quoted-printable, as RFC 2045 writes it (soft breaks and `=XX`).
fn unquote(s: &str) -> String {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
            if let Ok(x) = u8::from_str_radix(hex, 16) {
                out.push(x);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_message(v: &Value) -> Got {
    let raw = v["data"].as_str().unwrap().to_string();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .expect("headers and body");
    let header = |name: &str| -> String {
        head.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let qp = header("Content-Transfer-Encoding").eq_ignore_ascii_case("quoted-printable");
    Got {
        to: v["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_lowercase())
            .collect(),
        message_id: header("Message-ID"),
        subject: header("Subject"),
        body: if qp { unquote(body) } else { body.to_string() },
        raw,
    }
}

/// An email names the event and links to the dispute's console page; it
/// carries no summary, no reason and no child reference.
fn check_mail(g: &Got, dispute: &str) {
    let link = format!("{PUBLIC}/console/disputes/{dispute}");
    assert!(g.body.contains(&link), "no link in {g:?}");
    for secret in [SUMMARY, CHILD_REF, REASON] {
        assert!(!g.raw.contains(secret), "{secret} in {}", g.raw);
        assert!(!g.body.contains(secret), "{secret} in {}", g.body);
    }
    assert!(g.subject.starts_with("Escalation: "), "{g:?}");
    assert!(g.message_id.starts_with("<mail_"), "{g:?}");
}

fn smtp_backend(port: u16) -> Backend {
    Backend::smtp(&SmtpSettings {
        url: None,
        host: Some("127.0.0.1".into()),
        port: Some(port),
        tls: SmtpTls::None,
        user: None,
        password: None,
        from: "Escalations <escalations@example.org>".into(),
        timeout: Duration::from_secs(10),
    })
    .unwrap()
}

fn fast() -> SenderConfig {
    SenderConfig {
        poll: Duration::from_millis(50),
        backoff: Duration::from_millis(100),
        max_attempts: 4,
        ..Default::default()
    }
}

/// The email deliveries listing, once nothing in it is pending.
async fn settled(app: &TestApp) -> Vec<Value> {
    let admin = app.role(Role::PartnershipAdmin);
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let all = app
            .all(&admin, "/v1/admin/email/deliveries?limit=200")
            .await;
        if all.iter().all(|d| d["status"] != "pending") {
            return all;
        }
        assert!(Instant::now() < end, "emails still pending: {all:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_list(app: &TestApp, target: Value, addresses: &[&str]) -> Value {
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/email/recipients",
            json!({"target": target, "addresses": addresses}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Raise a dispute (kingston and cafcass) with free text and a child
/// reference, then escalate it with a reason: the dispute's id.
async fn raise_and_escalate(app: &TestApp) -> String {
    let (s, v) = app
        .post(
            &app.agency("kingston-council"),
            "/v1/disputes",
            json!({"parties": ["kingston-council", "cafcass"], "summary": SUMMARY, "child_ref": CHILD_REF}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, v) = app
        .post(
            &app.agency("kingston-council"),
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": REASON}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    id
}

/// Who gets email is a ledgered change by the partnership team; the addresses
/// are in the payload, not the facts; refusals write nothing.
async fn address_lists_are_ledgered_registry_changes(backend: Db) {
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let size = app.size().await;
    for (tok, body, want) in [
        (
            app.agency("kingston-council"),
            json!({"target": {"agency": "kingston-council"}, "addresses": [KINGSTON]}),
            403,
        ),
        (
            app.role(Role::Scrutineer),
            json!({"target": {"role": "slg"}, "addresses": [SLG]}),
            403,
        ),
        (
            admin.clone(),
            json!({"target": {"agency": "kingston-council"}, "addresses": ["not-an-address"]}),
            422,
        ),
        (
            admin.clone(),
            json!({"target": {"agency": "nowhere"}, "addresses": [KINGSTON]}),
            422,
        ),
        (
            admin.clone(),
            json!({"target": {"role": "king"}, "addresses": [KINGSTON]}),
            400,
        ),
        (
            admin.clone(),
            json!({"target": {"agency": "kingston-council"}, "addresses": (0..51).map(|i| format!("u{i}@x.org")).collect::<Vec<_>>()}),
            422,
        ),
    ] {
        let (s, v) = app.post(&tok, "/v1/admin/email/recipients", body).await;
        assert_eq!(s, want, "{v}");
    }
    assert_eq!(app.size().await, size, "refusals write nothing");

    let v = set_list(
        &app,
        json!({"agency": "kingston-council"}),
        &["Lead@Kingston.example.org", KINGSTON_2, KINGSTON],
    )
    .await;
    assert_eq!(v["addresses"], json!([KINGSTON_2, KINGSTON]), "{v}");
    let seq = v["seq"].as_i64().unwrap();
    set_list(&app, json!({"role": "slg"}), &[SLG]).await;
    // Replacing a list: the newest entry wins.
    let v = set_list(&app, json!({"role": "slg"}), &[]).await;
    assert_eq!(v["addresses"], json!([]));
    let v = set_list(&app, json!({"role": "slg"}), &[SLG]).await;
    let slg_seq = v["seq"].as_i64().unwrap();

    let (s, list) = app.get(&admin, "/v1/admin/email/recipients").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        list["items"],
        json!([
            {"target": {"agency": "kingston-council"}, "addresses": [KINGSTON_2, KINGSTON], "seq": seq},
            {"target": {"role": "slg"}, "addresses": [SLG], "seq": slg_seq},
        ])
    );
    for role in [Role::Auditor, Role::Slg, Role::Scrutineer] {
        let (s, _) = app.get(&app.role(role), "/v1/admin/email/recipients").await;
        assert_eq!(s, 403, "{role}");
        let (s, _) = app.get(&app.role(role), "/v1/admin/email/deliveries").await;
        assert_eq!(s, 403, "{role}");
    }

    // The entry: the target in the hashed facts, the addresses only in the payload.
    let entries = app
        .all(&app.role(Role::Auditor), "/v1/ledger/entries?limit=200")
        .await;
    let set: Vec<&Value> = entries
        .iter()
        .filter(|e| e["event"] == "email_recipients_set")
        .collect();
    assert_eq!(set.len(), 4, "{entries:?}");
    assert_eq!(
        set[0]["facts"],
        json!({"target": {"agency": "kingston-council"}})
    );
    let text = Value::Array(entries.clone()).to_string();
    assert!(!text.contains(KINGSTON) && !text.contains(SLG), "{text}");
    let mut conn = app.conn();
    let payload: Option<String> = {
        use diesel::prelude::*;
        use escalation_ledger::store::schema::ledger_payloads;
        ledger_payloads::table
            .find(seq)
            .select(ledger_payloads::payload)
            .first(&mut conn)
            .unwrap()
    };
    assert_eq!(
        serde_json::from_str::<Value>(&payload.unwrap()).unwrap(),
        json!({"addresses": [KINGSTON_2, KINGSTON]})
    );
    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // Erasing the list's payload (a staff member's request) empties the list
    // email reads; verify still passes.
    let redact = format!("/v1/admin/ledger/entries/{seq}/redact");
    let (s, v) = app
        .post(&admin, &redact, json!({"reason": "staff erasure request"}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &app.token("scrutineer-1", Role::Scrutineer, None, None),
            &redact,
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, list) = app.get(&admin, "/v1/admin/email/recipients").await;
    assert_eq!(list["items"][0]["addresses"], json!([]), "{list}");
    assert!(!list.to_string().contains(KINGSTON), "{list}");
    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // verify sees a list changed behind the ledger's back.
    {
        use diesel::prelude::*;
        use escalation_ledger::store::schema::email_recipients;
        diesel::update(email_recipients::table.filter(email_recipients::target.eq("slg")))
            .set(email_recipients::addresses.eq(r#"["evil@example.org"]"#))
            .execute(&mut conn)
            .unwrap();
    }
    let r = app.verify();
    assert!(!r.ok, "{r:?}");
    assert!(
        r.problem.as_deref().unwrap_or("").contains("email list"),
        "{r:?}"
    );
}

/// The parties' lists get every step, the `slg` list only once it is due to
/// act, a non-party nothing; each email names the event and links to the
/// console page, with no free text; one address on two lists gets one email.
async fn emails_reach_the_parties_and_whoever_is_due(backend: Db) {
    let sink = Sink::start(false);
    let app = TestApp::spawn(backend).await;
    mailer::spawn_mailer(
        app.pool.clone(),
        MailerConfig {
            backend: smtp_backend(sink.port),
            public_base_url: PUBLIC.into(),
            sender: fast(),
        },
    );
    set_list(&app, json!({"agency": "kingston-council"}), &[KINGSTON]).await;
    // On two lists: one email per entry all the same.
    set_list(&app, json!({"agency": "cafcass"}), &[CAFCASS, SLG]).await;
    set_list(&app, json!({"role": "slg"}), &[SLG]).await;
    set_list(&app, json!({"agency": "richmond-council"}), &[RICHMOND]).await;

    let id = raise_and_escalate(&app).await;
    let rows = settled(&app).await;
    let by_to: BTreeMap<String, Vec<String>> = rows.iter().fold(BTreeMap::new(), |mut m, r| {
        m.entry(r["recipient"].as_str().unwrap().to_string())
            .or_default()
            .push(r["event"].as_str().unwrap().to_string());
        m
    });
    assert_eq!(
        by_to,
        BTreeMap::from([
            (
                CAFCASS.to_string(),
                vec!["raised".to_string(), "escalated".to_string()]
            ),
            (
                KINGSTON.to_string(),
                vec!["raised".to_string(), "escalated".to_string()]
            ),
            (
                SLG.to_string(),
                vec!["raised".to_string(), "escalated".to_string()]
            ),
        ]),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r["status"] == "delivered" && r["attempts"] == 1),
        "{rows:?}"
    );

    let got = sink.got();
    assert_eq!(got.len(), 6, "{got:?}");
    let ids: BTreeSet<String> = got.iter().map(|g| g.message_id.clone()).collect();
    let want: BTreeSet<String> = rows
        .iter()
        .map(|r| format!("<{}@escalation-ledger>", r["id"].as_str().unwrap()))
        .collect();
    assert_eq!(ids, want);
    for g in &got {
        check_mail(g, &id);
    }
    let kingston: Vec<&Got> = got.iter().filter(|g| g.to == [KINGSTON]).collect();
    assert_eq!(kingston.len(), 2);
    assert!(kingston
        .iter()
        .any(|g| g.subject == "Escalation: A dispute was raised"));
    assert!(kingston
        .iter()
        .any(|g| g.subject == "Escalation: The dispute was escalated"));
    assert!(!got.iter().any(|g| g.to.contains(&RICHMOND.to_string())));
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

// ---- GOV.UK Notify's API, stood in for ----

#[derive(Debug, Clone)]
struct NotifyCall {
    path: String,
    auth: String,
    content_type: String,
    body: Value,
}

#[derive(Clone, Default)]
struct NotifyStandIn {
    calls: Arc<Mutex<Vec<NotifyCall>>>,
}

async fn notify_receive(
    req: HttpRequest,
    body: web::Bytes,
    rx: web::Data<NotifyStandIn>,
) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    rx.calls.lock().unwrap().push(NotifyCall {
        path: req.path().to_string(),
        auth: h("authorization"),
        content_type: h("content-type"),
        body: v.clone(),
    });
    // Notify answers 201 with the notification it created.
    HttpResponse::Created().json(json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "reference": v["reference"],
        "content": {"subject": "x", "body": "x", "from_email": "x@notifications.service.gov.uk"},
        "uri": "https://api.notifications.service.gov.uk/v2/notifications/x",
        "template": {"id": v["template_id"], "version": 1, "uri": "x"},
    }))
}

const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
const NOTIFY_SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";
const TEMPLATE: &str = "f33517ff-2a88-4f6e-b855-c550268ce08a";
const ESCALATED_TEMPLATE: &str = "9b8e5e4b-1f6c-4c1b-8a6e-2b1c3d4e5f60";

/// Each email is one `POST /v2/notifications/email` with a bearer JWT signed
/// (HS256) with the key's secret, `iss` the service id and `iat` now, and a
/// body of exactly the address, the event's template, the personalisation
/// (event, link, ids) and the delivery id as `reference`.
async fn notify_gets_the_right_request_and_jwt(backend: Db) {
    let rx = NotifyStandIn::default();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let data = web::Data::new(rx.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(notify_receive))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);

    let app = TestApp::spawn(backend).await;
    let key = NotifyKey::parse(&format!("test-{SERVICE_ID}-{NOTIFY_SECRET}")).unwrap();
    mailer::spawn_mailer(
        app.pool.clone(),
        MailerConfig {
            backend: Backend::Notify(NotifyApi {
                base_url: base.clone(),
                key,
                template: TEMPLATE.into(),
                templates: BTreeMap::from([(
                    "escalated".to_string(),
                    ESCALATED_TEMPLATE.to_string(),
                )]),
            }),
            public_base_url: PUBLIC.into(),
            sender: fast(),
        },
    );
    set_list(&app, json!({"agency": "kingston-council"}), &[KINGSTON]).await;
    let id = raise_and_escalate(&app).await;
    let rows = settled(&app).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r["status"] == "delivered"), "{rows:?}");
    let calls = rx.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let now = chrono::Utc::now().timestamp();
    for (c, row) in calls.iter().zip(&rows) {
        assert_eq!(c.path, "/v2/notifications/email");
        assert!(c.content_type.starts_with("application/json"), "{c:?}");
        let token = c.auth.strip_prefix("Bearer ").expect("bearer token");
        // The signature checks with the secret, and only with it.
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        v.required_spec_claims.clear();
        v.validate_exp = false;
        let t = jsonwebtoken::decode::<Value>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(NOTIFY_SECRET.as_bytes()),
            &v,
        )
        .expect("a JWT signed with the key's secret");
        assert_eq!(t.header.alg, jsonwebtoken::Algorithm::HS256);
        assert_eq!(t.header.typ.as_deref(), Some("JWT"));
        let claims = t.claims.as_object().unwrap();
        assert_eq!(
            claims.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            BTreeSet::from(["iss", "iat"])
        );
        assert_eq!(claims["iss"], SERVICE_ID);
        let iat = claims["iat"].as_i64().unwrap();
        assert!((now - iat).abs() < 60, "iat {iat}, now {now}");
        assert!(jsonwebtoken::decode::<Value>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(b"another-secret"),
            &v
        )
        .is_err());

        let b = c.body.as_object().unwrap();
        assert_eq!(
            b.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            BTreeSet::from([
                "email_address",
                "template_id",
                "personalisation",
                "reference"
            ]),
            "{b:?}"
        );
        assert_eq!(b["email_address"], KINGSTON);
        assert_eq!(b["reference"], row["id"]);
        let event = row["event"].as_str().unwrap();
        let template = if event == "escalated" {
            ESCALATED_TEMPLATE
        } else {
            TEMPLATE
        };
        assert_eq!(b["template_id"], template);
        let p = &b["personalisation"];
        assert_eq!(p["link"], format!("{PUBLIC}/console/disputes/{id}"));
        assert_eq!(p["dispute_id"], id.as_str());
        assert_eq!(p["seq"], row["seq"].to_string());
        assert!(p["event"].as_str().unwrap().len() > 5, "{p}");
        let text = c.body.to_string();
        for secret in [SUMMARY, CHILD_REF, REASON] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

// ---- the real binary ----

fn mint(role: Role, agency: Option<&str>) -> String {
    crate::helpers::served_token(&format!("{role}-user"), role, agency)
}

async fn call(method: &str, url: String, tok: &str, body: Value) -> (u16, Value) {
    crate::helpers::served_call(method, url, tok, body).await
}

fn serve(url: &str, dir: &Path, smtp_port: u16) -> Served {
    serve_with(url, dir, smtp_port, &[])
}

/// [`serve`] with extra environment variables.
fn serve_with(url: &str, dir: &Path, smtp_port: u16, extra: &[(&str, &str)]) -> Served {
    let port = smtp_port.to_string();
    let mut env = vec![
        ("OUTBOX_POLL", "100ms"),
        ("OUTBOX_BACKOFF", "200ms"),
        ("EMAIL_BACKEND", "smtp"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", port.as_str()),
        ("SMTP_TLS", "none"),
        ("EMAIL_FROM", "escalations@example.org"),
        ("PUBLIC_BASE_URL", PUBLIC),
    ];
    env.extend_from_slice(extra);
    Served::spawn(url, dir, "error", &env, Stdio::null())
}

async fn deliveries(base: &str, admin: &str) -> Vec<Value> {
    let (s, v) = call(
        "GET",
        format!("{base}/v1/admin/email/deliveries?limit=200"),
        admin,
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// Emails queued by a process killed (SIGKILL) while the SMTP server refuses
/// them are all delivered by the next process: each delivery id at least
/// once, and here, since none was accepted before the kill, exactly once.
async fn no_email_is_lost_across_a_kill_and_restart(backend: Db) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(true);
    let admin = mint(Role::PartnershipAdmin, None);
    let kingston = mint(Role::Agency, Some("kingston-council"));

    let (url, d, port) = (db.url.clone(), dir.path().to_path_buf(), sink.port);
    let first = actix_web::rt::task::spawn_blocking(move || serve(&url, &d, port))
        .await
        .unwrap();
    let (s, v) = call(
        "POST",
        format!("{}/v1/admin/email/recipients", first.base),
        &admin,
        json!({"target": {"agency": "kingston-council"}, "addresses": [KINGSTON, KINGSTON_2]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let mut disputes = Vec::new();
    for _ in 0..2 {
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
        json!({"reason": REASON}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // Wait for the state (every email tried and refused), then kill -9.
    let end = Instant::now() + Duration::from_secs(30);
    let pending = loop {
        let rows = deliveries(&first.base, &admin).await;
        if rows.len() == 6 && rows.iter().all(|d| d["attempts"].as_i64() >= Some(1)) {
            break rows;
        }
        assert!(Instant::now() < end, "never attempted: {rows:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        pending.iter().all(|d| d["status"] == "pending"),
        "{pending:?}"
    );
    assert!(
        pending
            .iter()
            .all(|d| d["last_error"].as_str().unwrap_or("").contains("451")),
        "{pending:?}"
    );
    let expected: BTreeSet<String> = pending
        .iter()
        .map(|d| format!("<{}@escalation-ledger>", d["id"].as_str().unwrap()))
        .collect();
    assert_eq!(expected.len(), 6);
    drop(first); // SIGKILL
    assert!(
        sink.got().is_empty(),
        "nothing was accepted before the kill"
    );

    sink.accept();
    let (url, d, port) = (db.url.clone(), dir.path().to_path_buf(), sink.port);
    let second = actix_web::rt::task::spawn_blocking(move || serve(&url, &d, port))
        .await
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = deliveries(&second.base, &admin).await;
        if rows.len() == 6 && rows.iter().all(|d| d["status"] == "delivered") {
            break;
        }
        assert!(Instant::now() < end, "not all delivered: {rows:?}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    // Settled rows are final: what the server holds now is all there will be.
    let got = sink.got();
    let ids: Vec<String> = got.iter().map(|g| g.message_id.clone()).collect();
    assert_eq!(ids.len(), 6, "each exactly once: {ids:?}");
    assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
    for g in &got {
        let dispute = disputes
            .iter()
            .find(|d| g.body.contains(d.as_str()))
            .expect("names one of the disputes");
        check_mail(g, dispute);
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

/// Bad email settings stop `serve` before it listens, saying what is wrong.
#[test]
fn bad_email_settings_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/e.db", dir.path().display());
    let smtp = [
        ("EMAIL_BACKEND", "smtp"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_TLS", "none"),
    ];
    let notify_key = format!("k-{SERVICE_ID}-{NOTIFY_SECRET}");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (smtp.to_vec(), "EMAIL_FROM"),
        (
            [smtp.as_slice(), &[("EMAIL_FROM", "not an address")]].concat(),
            "EMAIL_FROM",
        ),
        (
            vec![
                ("EMAIL_BACKEND", "smtp"),
                ("SMTP_HOST", "127.0.0.1"),
                ("SMTP_TLS", "ssl"),
                ("EMAIL_FROM", "a@b.org"),
            ],
            "SMTP_TLS",
        ),
        (
            vec![("EMAIL_BACKEND", "smtp"), ("EMAIL_FROM", "a@b.org")],
            "SMTP_URL or SMTP_HOST",
        ),
        (vec![("SMTP_HOST", "127.0.0.1")], "EMAIL_BACKEND"),
        (
            vec![
                ("EMAIL_BACKEND", "notify"),
                ("NOTIFY_API_KEY", "not-a-key"),
                ("NOTIFY_TEMPLATE_ID", TEMPLATE),
            ],
            "NOTIFY_API_KEY",
        ),
        (
            vec![
                ("EMAIL_BACKEND", "notify"),
                ("NOTIFY_API_KEY", notify_key.as_str()),
            ],
            "NOTIFY_TEMPLATE_ID",
        ),
        (
            vec![
                ("EMAIL_BACKEND", "notify"),
                ("NOTIFY_API_KEY", notify_key.as_str()),
                ("NOTIFY_TEMPLATE_ID", TEMPLATE),
                (
                    "NOTIFY_TEMPLATES",
                    "no_such_event=f33517ff-2a88-4f6e-b855-c550268ce08a",
                ),
            ],
            "no_such_event",
        ),
        (
            vec![("PUBLIC_BASE_URL", "ftp://ladder.example.org")],
            "PUBLIC_BASE_URL",
        ),
    ];
    for (env, want) in cases {
        let out = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", &db)
            .env("JWT_SECRET", SECRET)
            .env("DATA_DIR", dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{env:?} started: {stdout}");
        assert!(!stdout.contains("listening"), "{env:?}: {stdout}");
        assert!(stderr.contains(want), "{env:?}: wanted {want} in {stderr}");
    }
}

/// Email and webhooks share one outbox: a step queues both kinds of row in
/// the one `outbox` table, and each worker claims only its own channel, so a
/// webhook round leaves the email pending and an email round leaves the
/// webhook delivery as it was. Both are listed with the same status fields.
async fn one_outbox_each_worker_its_own_channel(backend: Db) {
    use diesel::prelude::*;
    use escalation_ledger::store::schema::outbox;
    use escalation_ledger::workers::sender;

    let sink = Sink::start(false);
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    set_list(&app, json!({"agency": "kingston-council"}), &[KINGSTON]).await;
    // Nobody listens on port 9: every webhook attempt fails.
    let (s, v) = app
        .post(
            &admin,
            "/v1/admin/webhooks",
            json!({"target": {"agency": "kingston-council"}, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let hook = v["id"].as_str().unwrap().to_string();
    app.raise(&["kingston-council", "cafcass"], false).await;

    let channels: Vec<String> = outbox::table
        .select(outbox::channel)
        .order(outbox::channel.asc())
        .load(&mut *app.conn())
        .unwrap();
    assert_eq!(channels, ["email", "webhook"], "one outbox, both channels");

    let client = awc::Client::default();
    // A long backoff: the failed webhook is not due again in this test.
    let slow = SenderConfig {
        backoff: Duration::from_secs(3600),
        ..fast()
    };
    let webhooks = format!("/v1/admin/webhooks/{hook}/deliveries");
    let n = sender::send_due(&app.pool, &client, &slow).await.unwrap();
    assert_eq!(n, 1, "the webhook sender claims the webhook row only");
    let (s, mails) = app.get(&admin, "/v1/admin/email/deliveries").await;
    assert_eq!(s, 200, "{mails}");
    assert_eq!(mails["items"][0]["status"], "pending", "{mails}");
    assert_eq!(mails["items"][0]["attempts"], 0, "{mails}");
    let (_, hooks) = app.get(&admin, &webhooks).await;
    assert_eq!(hooks["items"][0]["status"], "pending", "{hooks}");
    assert_eq!(hooks["items"][0]["attempts"], 1, "{hooks}");
    assert!(hooks["items"][0]["last_error"].is_string(), "{hooks}");

    let cfg = MailerConfig {
        backend: smtp_backend(sink.port),
        public_base_url: PUBLIC.into(),
        sender: slow.clone(),
    };
    let n = mailer::send_due(&app.pool, &client, &cfg).await.unwrap();
    assert_eq!(n, 1, "the mailer claims the email row only");
    assert_eq!(sink.got().len(), 1);
    let (_, mails) = app.get(&admin, "/v1/admin/email/deliveries").await;
    assert_eq!(mails["items"][0]["status"], "delivered", "{mails}");
    assert_eq!(mails["items"][0]["attempts"], 1, "{mails}");
    assert!(mails["items"][0]["delivered_at"].is_string(), "{mails}");
    let (_, after) = app.get(&admin, &webhooks).await;
    assert_eq!(
        after["items"], hooks["items"],
        "the email round left the webhook row alone"
    );
    // Nothing else is due on either channel.
    assert_eq!(
        sender::send_due(&app.pool, &client, &slow).await.unwrap(),
        0
    );
    assert_eq!(mailer::send_due(&app.pool, &client, &cfg).await.unwrap(), 0);
}

/// The mailer reads the process's clock, as the ledger and the webhook
/// sender do: with `TEST_CLOCK` weeks ahead of the system clock, an email
/// queued "now" is due now and is sent (on the system clock it would wait
/// for weeks).
async fn emails_are_due_by_the_process_clock(backend: Db) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(false);
    let admin = mint(Role::PartnershipAdmin, None);
    let kingston = mint(Role::Agency, Some("kingston-council"));
    let ahead = (chrono::Utc::now() + chrono::Duration::days(21))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (url, d, port, at) = (
        db.url.clone(),
        dir.path().to_path_buf(),
        sink.port,
        ahead.clone(),
    );
    let served = actix_web::rt::task::spawn_blocking(move || {
        serve_with(&url, &d, port, &[("TEST_CLOCK", at.as_str())])
    })
    .await
    .unwrap();
    let (s, v) = call(
        "POST",
        format!("{}/v1/admin/email/recipients", served.base),
        &admin,
        json!({"target": {"agency": "kingston-council"}, "addresses": [KINGSTON]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(
        "POST",
        format!("{}/v1/disputes", served.base),
        &kingston,
        json!({"parties": ["kingston-council", "cafcass"], "summary": SUMMARY}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let end = Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = deliveries(&served.base, &admin).await;
        if rows.len() == 1 && rows[0]["status"] == "delivered" {
            break rows;
        }
        assert!(Instant::now() < end, "not sent: {rows:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    let day = &ahead[..10];
    assert!(
        rows[0]["created_at"].as_str().unwrap().starts_with(day),
        "queued on the process clock: {rows:?}"
    );
    assert!(
        rows[0]["delivered_at"].as_str().unwrap().starts_with(day),
        "settled on the process clock: {rows:?}"
    );
    assert_eq!(sink.got().len(), 1);
}

both_backends!(
    address_lists_are_ledgered_registry_changes,
    emails_reach_the_parties_and_whoever_is_due,
    notify_gets_the_right_request_and_jwt,
    no_email_is_lost_across_a_kill_and_restart,
    one_outbox_each_worker_its_own_channel,
    emails_are_due_by_the_process_clock
);
