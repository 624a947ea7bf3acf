//! The console's OpenID Connect sign-in against a real (fake) issuer: an
//! actix server on 127.0.0.1:0 in the test serving discovery, a JWKS (the
//! committed RSA fixture key), an authorisation endpoint that sends the
//! browser back with a code, and a token endpoint that checks the PKCE
//! verifier against the challenge and returns an RS256 ID token. The browser
//! is awc with redirects off and its cookies carried by hand, so every hop is
//! seen. Refusals (state, PKCE, audience, expiry, nonce, no role) start no
//! session and write nothing to the ledger.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use escalation_ledger::app::Settings;
use escalation_ledger::http::console::oidc::OidcConfig;
use escalation_ledger::http::console::ConsoleConfig;
use escalation_ledger::http::jwks::ClaimsMap;
use escalation_ledger::store::console::counts;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const CLIENT_ID: &str = "console-client-id";
const AGENCY: &str = "kingston-council";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwks")
        .join(name)
}

/// How the next ID token differs from a good one.
#[derive(Debug, Clone, Default)]
struct Plan {
    aud: Option<String>,
    /// Seconds from now to `exp` (default an hour).
    exp_in: Option<i64>,
    /// A nonce other than the one the authorisation request sent.
    nonce: Option<String>,
    /// Claims beside the standard ones (default: a scrutineer).
    extra: Option<Value>,
    /// Another `iss`.
    iss: Option<String>,
    /// Sign with this fixture key (still naming `kid` rsa-1).
    key: Option<&'static str>,
}

/// A code the authorisation endpoint handed out, and what it was asked with.
#[derive(Debug, Clone)]
struct Pending {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

#[derive(Default)]
struct IssuerState {
    plan: Plan,
    codes: HashMap<String, Pending>,
    /// Token requests refused because the verifier did not fit the challenge.
    pkce_refusals: u32,
}

struct Issuer {
    url: String,
    state: Arc<Mutex<IssuerState>>,
}

impl Issuer {
    fn plan(&self, plan: Plan) {
        self.state.lock().expect("lock").plan = plan;
    }
    fn pkce_refusals(&self) -> u32 {
        self.state.lock().expect("lock").pkce_refusals
    }
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

fn id_token(iss: &str, p: &Pending, plan: &Plan) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "iss": plan.iss.clone().unwrap_or_else(|| iss.to_string()),
        "sub": "oidc-user-1",
        "aud": plan.aud.clone().unwrap_or_else(|| CLIENT_ID.into()),
        "iat": now,
        "exp": now + plan.exp_in.unwrap_or(3600),
        "nonce": plan.nonce.clone().unwrap_or_else(|| p.nonce.clone()),
    });
    let extra = plan
        .extra
        .clone()
        .unwrap_or_else(|| json!({"roles": ["Ladder.Scrutineer"]}));
    for (k, v) in extra.as_object().expect("object") {
        c[k] = v.clone();
    }
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("rsa-1".into());
    let key = plan.key.unwrap_or("rsa-1");
    let pem = std::fs::read(fixture(&format!("{key}.pem"))).expect("pem");
    jsonwebtoken::encode(&h, &c, &EncodingKey::from_rsa_pem(&pem).expect("rsa key")).expect("sign")
}

/// The fake issuer, at `http://127.0.0.1:PORT/tenant/v2.0` (shaped like Entra ID's).
fn issuer() -> Issuer {
    let state = Arc::new(Mutex::new(IssuerState::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let iss = format!("http://127.0.0.1:{port}/tenant/v2.0");
    let all: Value =
        serde_json::from_slice(&std::fs::read(fixture("jwks-all.json")).expect("jwks"))
            .expect("json");
    let keys: Vec<Value> = all["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter(|k| k["kid"] == "rsa-1")
        .cloned()
        .collect();
    let jwks = json!({ "keys": keys }).to_string();
    let (s, i) = (state.clone(), iss.clone());
    let server = HttpServer::new(move || {
        let (s, i, jwks) = (s.clone(), i.clone(), jwks.clone());
        let discovery = {
            let i = i.clone();
            move || {
                let i = i.clone();
                async move {
                    HttpResponse::Ok().json(json!({
                        "issuer": i,
                        "authorization_endpoint": format!("{i}/authorize"),
                        "token_endpoint": format!("{i}/token"),
                        "jwks_uri": format!("{i}/keys"),
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"],
                    }))
                }
            }
        };
        let keys = move || {
            let jwks = jwks.clone();
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(jwks)
            }
        };
        let authorize = {
            let s = s.clone();
            move |req: HttpRequest| {
                let s = s.clone();
                async move {
                    let q = query(&req);
                    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
                    let fine = get("response_type") == "code"
                        && get("client_id") == CLIENT_ID
                        && get("code_challenge_method") == "S256"
                        && !get("code_challenge").is_empty()
                        && !get("nonce").is_empty()
                        && get("scope").split(' ').any(|x| x == "openid");
                    if !fine {
                        return HttpResponse::BadRequest().body(format!("bad request: {q:?}"));
                    }
                    let code = uuid::Uuid::new_v4().to_string();
                    s.lock().expect("lock").codes.insert(
                        code.clone(),
                        Pending {
                            challenge: get("code_challenge"),
                            nonce: get("nonce"),
                            redirect_uri: get("redirect_uri"),
                        },
                    );
                    let back = format!(
                        "{}?code={code}&state={}",
                        get("redirect_uri"),
                        form_urlencoded::byte_serialize(get("state").as_bytes())
                            .collect::<String>()
                    );
                    HttpResponse::Found()
                        .insert_header(("location", back))
                        .finish()
                }
            }
        };
        let token = move |body: web::Bytes| {
            let (s, i) = (s.clone(), i.clone());
            async move {
                let f: HashMap<String, String> =
                    form_urlencoded::parse(&body).into_owned().collect();
                let get = |k: &str| f.get(k).cloned().unwrap_or_default();
                let mut st = s.lock().expect("lock");
                let Some(p) = st.codes.remove(&get("code")) else {
                    return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
                };
                let verifier = get("code_verifier");
                let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
                if verifier.is_empty() || challenge != p.challenge {
                    st.pkce_refusals += 1;
                    return HttpResponse::BadRequest().json(json!({
                        "error": "invalid_grant",
                        "error_description": "PKCE verification failed"
                    }));
                }
                if get("grant_type") != "authorization_code"
                    || get("redirect_uri") != p.redirect_uri
                {
                    return HttpResponse::BadRequest().json(json!({"error": "invalid_request"}));
                }
                let id = id_token(&i, &p, &st.plan);
                HttpResponse::Ok().json(json!({
                    "access_token": "opaque-access-token",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "id_token": id,
                }))
            }
        };
        App::new()
            .route(
                "/tenant/v2.0/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/tenant/v2.0/keys", web::get().to(keys))
            .route("/tenant/v2.0/authorize", web::get().to(authorize))
            .route("/tenant/v2.0/token", web::post().to(token))
    })
    .workers(1)
    .listen(listener)
    .expect("listen");
    actix_web::rt::spawn(server.run());
    Issuer { url: iss, state }
}

/// The claims map of an Entra ID set-up: app roles to our roles.
fn claims_map() -> ClaimsMap {
    toml::from_str(&format!(
        r#"
roles_claim = "roles"
[map."Ladder.Scrutineer"]
role = "scrutineer"
[map."Ladder.Lead.Kingston"]
role = "agency"
agency = "{AGENCY}"
"#
    ))
    .expect("claims map")
}

async fn app_with_issuer(backend: Backend, issuer: &Issuer) -> TestApp {
    // PUBLIC_BASE_URL stays the default: the app's port is known only once
    // it is bound, so the browser is sent to the real port by
    // `to_the_issuer_and_back` (the redirect_uri the issuer checks is the
    // configured one, as in production).
    let settings = Settings {
        console: ConsoleConfig {
            oidc: Some(OidcConfig {
                issuer: issuer.url.clone(),
                client_id: CLIENT_ID.into(),
                client_secret: Some("console-client-secret".into()),
                scopes: vec!["profile".into()],
                claims: claims_map(),
            }),
            ..ConsoleConfig::default()
        },
        ..Settings::default()
    };
    TestApp::spawn_with_settings(backend, settings).await
}

fn nofollow() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(std::time::Duration::from_secs(60))
        .finish()
}

/// One hop: status, `Location`, `Set-Cookie` values, body.
async fn get(url: &str, cookie: Option<&str>) -> (u16, String, Vec<String>, String) {
    let mut req = nofollow().get(url);
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", c.to_string()));
    }
    let mut res = req.send().await.expect("request");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let body = String::from_utf8_lossy(&res.body().limit(1 << 22).await.expect("body")).to_string();
    (res.status().as_u16(), location, cookies, body)
}

fn cookie(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|c| {
        let v = c.strip_prefix(&format!("{name}="))?;
        let v = v.split(';').next()?;
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// Start a sign-in in a fresh browser: the flow cookie and the callback URL
/// the issuer sends that browser back to.
async fn to_the_issuer_and_back(app: &TestApp, next: &str) -> (String, String) {
    let start = format!(
        "{}/console/oidc/start?next={}",
        app.base,
        form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    let (s, to_issuer, cookies, body) = get(&start, None).await;
    assert_eq!(s, 303, "{body}");
    let flow = cookie(&cookies, "console_oidc").expect("flow cookie");
    let flow_cookie = cookies
        .iter()
        .find(|c| c.starts_with("console_oidc="))
        .expect("flow cookie");
    for flag in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/console/oidc",
        "Max-Age=600",
    ] {
        assert!(flow_cookie.contains(flag), "{flag}: {flow_cookie}");
    }
    assert!(
        to_issuer.contains("code_challenge_method=S256"),
        "{to_issuer}"
    );
    let (s, back, _, body) = get(&to_issuer, None).await;
    assert_eq!(s, 302, "{body}");
    assert!(
        back.starts_with("http://127.0.0.1:8080/console/oidc/callback?"),
        "{back}"
    );
    let query = back.split_once('?').expect("query").1.to_string();
    (
        format!("console_oidc={flow}"),
        format!("{}/console/oidc/callback?{query}", app.base),
    )
}

fn sessions(app: &TestApp) -> usize {
    counts(&mut app.conn()).expect("counts").sessions
}

async fn signed_in_with_the_mapped_role_on_the_page_asked_for(backend: Backend) {
    let issuer = issuer();
    let app = app_with_issuer(backend, &issuer).await;

    // The sign-in page offers it, carrying `next` on.
    let (s, _, _, page) = get(
        &format!("{}/console/sign-in?next=%2Fconsole%2Fdisputes", app.base),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert!(page.contains("Sign in with your organisation"), "{page}");
    assert!(page.contains("action=\"/console/oidc/start\""), "{page}");
    assert!(page.contains("value=\"/console/disputes\""), "{page}");

    let (flow, callback) = to_the_issuer_and_back(&app, "/console/disputes").await;
    let (s, to, cookies, body) = get(&callback, Some(&flow)).await;
    assert_eq!((s, to.as_str()), (303, "/console/disputes"), "{body}");
    let session = cookie(&cookies, "console_session").expect("session cookie");
    let cleared = cookies
        .iter()
        .find(|c| c.starts_with("console_oidc="))
        .expect("the flow cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    let (s, _, _, page) = get(
        &format!("{}/console/disputes", app.base),
        Some(&format!("console_session={session}")),
    )
    .await;
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("oidc-user-1"), "{page}");
    assert!(page.contains("scrutineer"), "{page}");

    // The flow is single use: the same callback again is refused.
    let (s, _, cookies, body) = get(&callback, Some(&flow)).await;
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("This sign-in has expired"), "{body}");
    assert!(cookie(&cookies, "console_session").is_none());
    assert_eq!(sessions(&app), 1);

    // An agency lead: the agency comes from the mapping.
    issuer.plan(Plan {
        extra: Some(json!({"roles": ["Ladder.Lead.Kingston", "Unrelated.Role"]})),
        ..Plan::default()
    });
    let (flow, callback) = to_the_issuer_and_back(&app, "/console/").await;
    let (s, to, cookies, body) = get(&callback, Some(&flow)).await;
    assert_eq!((s, to.as_str()), (303, "/console/"), "{body}");
    let session = cookie(&cookies, "console_session").expect("session");
    let (s, _, _, page) = get(
        &format!("{}/console/", app.base),
        Some(&format!("console_session={session}")),
    )
    .await;
    assert_eq!(s, 200);
    assert!(page.contains(AGENCY), "{page}");
}

/// A refused callback: a 4xx console page, no session cookie, no session
/// row, nothing in the ledger.
async fn refused(app: &TestApp, flow: &str, callback: &str, status: u16, words: &str) {
    let before = (sessions(app), app.size().await);
    let (s, _, cookies, body) = get(callback, Some(flow)).await;
    assert_eq!(s, status, "{body}");
    assert!(body.contains(words), "{words:?} not in {body}");
    assert!(body.contains("<h1"), "a console page: {body}");
    assert!(cookie(&cookies, "console_session").is_none(), "{cookies:?}");
    assert_eq!((sessions(app), app.size().await), before);
}

async fn each_bad_answer_is_refused_and_writes_nothing(backend: Backend) {
    let issuer = issuer();
    let app = app_with_issuer(backend, &issuer).await;

    // Wrong state: refused, and the flow is spent (the right state after it fails too).
    let (flow, callback) = to_the_issuer_and_back(&app, "/console/").await;
    let forged = with_state(&callback, "forged-state");
    refused(&app, &flow, &forged, 403, "does not belong to this sign-in").await;
    refused(&app, &flow, &callback, 400, "This sign-in has expired").await;

    // No flow cookie (a callback URL replayed in another browser).
    let (_, callback) = to_the_issuer_and_back(&app, "/console/").await;
    refused(&app, "other=1", &callback, 400, "This sign-in has expired").await;

    // Bad PKCE: browser A's code delivered to browser B's callback (code
    // injection). B's verifier does not fit A's challenge: the issuer refuses.
    let (_, callback_a) = to_the_issuer_and_back(&app, "/console/").await;
    let (flow_b, callback_b) = to_the_issuer_and_back(&app, "/console/").await;
    let code_a = param(&callback_a, "code");
    let state_b = param(&callback_b, "state");
    let injected = format!(
        "{}/console/oidc/callback?code={code_a}&state={}",
        app.base,
        form_urlencoded::byte_serialize(state_b.as_bytes()).collect::<String>()
    );
    let pkce_before = issuer.pkce_refusals();
    refused(
        &app,
        &flow_b,
        &injected,
        403,
        "authorisation code was not accepted",
    )
    .await;
    assert_eq!(
        issuer.pkce_refusals(),
        pkce_before + 1,
        "the issuer saw a bad verifier"
    );

    // ID tokens that must not be accepted.
    let cases = [
        (
            Plan {
                aud: Some("some-other-client".into()),
                ..Plan::default()
            },
            "ID token was not accepted: Invalid audiences",
        ),
        (
            Plan {
                exp_in: Some(-120),
                ..Plan::default()
            },
            "ID token was not accepted: Expired",
        ),
        (
            Plan {
                nonce: Some("a-replayed-nonce".into()),
                ..Plan::default()
            },
            "ID token was not accepted: Invalid nonce",
        ),
        (
            Plan {
                key: Some("rsa-2"),
                ..Plan::default()
            },
            "ID token was not accepted: Signature verification failed",
        ),
        (
            Plan {
                iss: Some("https://login.example.test/another-tenant/v2.0".into()),
                ..Plan::default()
            },
            "ID token was not accepted: Invalid issuer",
        ),
        (
            Plan {
                extra: Some(json!({"roles": ["Nothing.We.Map"]})),
                ..Plan::default()
            },
            "no role in this service",
        ),
        (
            Plan {
                extra: Some(json!({"groups": ["Ladder.Scrutineer"]})),
                ..Plan::default()
            },
            "no role in this service",
        ),
    ];
    for (plan, words) in cases {
        issuer.plan(plan.clone());
        let (flow, callback) = to_the_issuer_and_back(&app, "/console/").await;
        refused(&app, &flow, &callback, 403, words).await;
    }
    // The issuer saying no (the user cancelled): refused, plainly.
    issuer.plan(Plan::default());
    let (flow, callback) = to_the_issuer_and_back(&app, "/console/").await;
    let state = param(&callback, "state");
    let cancelled = format!(
        "{}/console/oidc/callback?error=access_denied&error_description=cancelled&state={}",
        app.base,
        form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()
    );
    refused(&app, &flow, &cancelled, 403, "access_denied").await;
    assert_eq!(sessions(&app), 0);
}

/// A query parameter of a URL.
fn param(url: &str, name: &str) -> String {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// `url` with its `state` replaced.
fn with_state(url: &str, state: &str) -> String {
    let (base, q) = url.split_once('?').expect("query");
    let kept: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .map(|(k, v)| {
            if k == "state" {
                (k, state.to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{base}?{q}")
}

async fn an_email_link_lands_on_its_page_after_oidc_sign_in(backend: Backend) {
    let issuer = issuer();
    let app = app_with_issuer(backend, &issuer).await;
    let id = app.raise(&[AGENCY, "metropolitan-police"], false).await;
    // What an email links to (service::email): the dispute's console page.
    let page = format!("/console/disputes/{id}");
    let (s, to, _, _) = get(&format!("{}{page}", app.base), None).await;
    assert_eq!(s, 303);
    let next = param(&format!("{}{to}", app.base), "next");
    assert_eq!(next, page);
    issuer.plan(Plan {
        extra: Some(json!({"roles": ["Ladder.Lead.Kingston"]})),
        ..Plan::default()
    });
    let (flow, callback) = to_the_issuer_and_back(&app, &next).await;
    let (s, to, cookies, body) = get(&callback, Some(&flow)).await;
    assert_eq!((s, to.as_str()), (303, page.as_str()), "{body}");
    let session = cookie(&cookies, "console_session").expect("session");
    let (s, _, _, body) = get(
        &format!("{}{page}", app.base),
        Some(&format!("console_session={session}")),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body.contains(&id[..8]), "{body}");

    // A `next` that is not a console page is ignored: home instead.
    for bad in [
        "https://evil.example/",
        "//evil.example/console/",
        "/v1/disputes",
    ] {
        let (flow, callback) = to_the_issuer_and_back(&app, bad).await;
        let (s, to, _, body) = get(&callback, Some(&flow)).await;
        assert_eq!((s, to.as_str()), (303, "/console/"), "{bad}: {body}");
    }
}

async fn without_oidc_the_page_offers_links_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, _, _, page) = get(&format!("{}/console/sign-in", app.base), None).await;
    assert_eq!(s, 200);
    assert!(!page.contains("Sign in with your organisation"), "{page}");
    let (s, _, cookies, body) = get(&format!("{}/console/oidc/start", app.base), None).await;
    assert_eq!(s, 404, "{body}");
    assert!(body.contains("not set up"), "{body}");
    assert!(cookie(&cookies, "console_oidc").is_none());
    let (s, _, _, body) = get(
        &format!("{}/console/oidc/callback?code=x&state=y", app.base),
        Some("console_oidc=abc"),
    )
    .await;
    assert_eq!(s, 404, "{body}");
}

both_backends!(
    signed_in_with_the_mapped_role_on_the_page_asked_for,
    each_bad_answer_is_refused_and_writes_nothing,
    an_email_link_lands_on_its_page_after_oidc_sign_in,
    without_oidc_the_page_offers_links_only,
);
