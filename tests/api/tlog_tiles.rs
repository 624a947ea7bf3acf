//! The C2SP tlog-tiles read API under `/tlog/` (issue 14, point 1), checked
//! by an independent client: `tests/go/tiles`, built on Go's
//! `golang.org/x/mod/sumdb/tlog` and `sumdb/note` (Debian's
//! `golang-golang-x-mod-dev`; `.ci/run` installs Go and it). It verifies the
//! checkpoint's signature, recomputes the root from the hash tiles, rebuilds
//! the leaves and the tree from the entry bundles, and checks inclusion
//! proofs built from the tiles, at tree sizes on and off tile boundaries
//! (255, 256, 257 and 65537). A missing `go` fails these tests; it never skips them.
//!
//! The entries are written through the real append (`store::ledger::append`,
//! chained and added to the tree, as `forged.rs` does) but are not ladder
//! events: tiles carry whatever the ledger holds.

use escalation_ledger::core::ladder::{Actor, Role};
use escalation_ledger::core::ledger::NewEntry;
use escalation_ledger::store::db::write_tx;
use escalation_ledger::store::error::StoreError;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// Append entries (through the real append, in one transaction) until the
/// ledger holds `size`.
async fn fill_to(app: &TestApp, size: i64) {
    let pool = app.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("conn");
        write_tx(&mut conn, |c| -> Result<_, StoreError> {
            let have = escalation_ledger::store::tree::leaves(c)?;
            for i in have..size {
                escalation_ledger::store::ledger::append(
                    c,
                    NewEntry {
                        dispute_id: None,
                        event: "webhook_deactivated".into(),
                        actor: Actor {
                            sub: "admin@krscp".into(),
                            role: Role::PartnershipAdmin,
                            agency: None,
                            partner: None,
                        },
                        facts: json!({"id": format!("tiles-{i}")}),
                        payload: json!({}),
                    },
                )?;
            }
            Ok(())
        })
        .expect("append entries");
    })
    .await
    .expect("join");
    assert_eq!(size_of(app).await, size);
}

/// Forge entries straight into the tables (as `tamper.rs` writes rows), in
/// multi-row INSERTs, until the ledger holds `size`: each correctly sealed and
/// chained, and its leaf and the perfect subtrees it completes added to
/// `merkle_nodes` exactly as `store::tree::add_leaf` would. The real append
/// (one entry at a time, `fill_to`) takes minutes for 65537 entries on PostgreSQL.
async fn forge_to(app: &TestApp, size: i64) {
    use escalation_ledger::core::ledger::{canonical_json, seal};
    use escalation_ledger::core::merkle::{node_hash, nodes_completed_by_append, NodeId};
    use std::collections::HashMap;
    let have = size_of(app).await;
    let known = entry_hashes(app, have).await;
    let pool = app.pool.clone();
    let recorded_at = actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("conn");
        escalation_ledger::store::ledger::entries(&mut conn, None, have - 1, 1)
            .expect("head")
            .remove(0)
            .entry
            .recorded_at
    })
    .await
    .expect("join");
    // Every node of the tree so far, then the new ones, in append order.
    let mut nodes: HashMap<NodeId, [u8; 32]> = HashMap::new();
    let mut new_nodes = Vec::new();
    let mut add = |seq: u64, leaf: [u8; 32], keep: bool, nodes: &mut HashMap<_, _>| {
        let mut last = leaf;
        for id in nodes_completed_by_append(seq) {
            if id.level > 0 {
                let left: &[u8; 32] = &nodes[&NodeId {
                    level: id.level - 1,
                    index: 2 * id.index,
                }];
                last = node_hash(left, &last);
            }
            nodes.insert(id, last);
            if keep {
                new_nodes.push((id, last));
            }
        }
    };
    let mut head = None;
    for (seq, h) in known.iter().enumerate() {
        let leaf: [u8; 32] = hex::decode(h).unwrap().try_into().unwrap();
        add(seq as u64, leaf, false, &mut nodes);
        head = Some((seq as i64, leaf));
    }
    let mut entries = Vec::new();
    for i in have..size {
        let sealed = seal(
            NewEntry {
                dispute_id: None,
                event: "webhook_deactivated".into(),
                actor: Actor {
                    sub: "admin@krscp".into(),
                    role: Role::PartnershipAdmin,
                    agency: None,
                    partner: None,
                },
                facts: json!({"id": format!("tiles-{i}")}),
                payload: json!({}),
            },
            head,
            recorded_at + chrono::Duration::microseconds(i),
        )
        .expect("seal");
        add(i as u64, sealed.entry.entry_hash, true, &mut nodes);
        head = Some((sealed.entry.seq, sealed.entry.entry_hash));
        entries.push(sealed);
    }
    // Hex literals: X'..' for SQLite, '\x..'::bytea for PostgreSQL.
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mut texts = Vec::new();
    for pg in [false, true] {
        let blob = |b: &[u8]| {
            if pg {
                format!("'\\x{}'::bytea", hex::encode(b))
            } else {
                format!("X'{}'", hex::encode(b))
            }
        };
        let mut sql = String::new();
        for chunk in entries.chunks(500) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|s| {
                    let e = &s.entry;
                    format!(
                        "({}, {}, NULL, {}, {}, {}, NULL, NULL, {}, {}, {}, {})",
                        e.seq,
                        q(&e.recorded_at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()),
                        q(&e.event),
                        q(&e.actor.sub),
                        q(e.actor.role.as_str()),
                        q(&canonical_json(&e.facts).unwrap()),
                        blob(&e.payload_hash),
                        blob(&e.prev_hash),
                        blob(&e.entry_hash)
                    )
                })
                .collect();
            sql += &format!(
                "INSERT INTO ledger_entries (seq, recorded_at, dispute_id, event, actor_sub, actor_role, actor_agency, actor_partner, facts, payload_hash, prev_hash, entry_hash) VALUES {};\n",
                rows.join(",")
            );
            let rows: Vec<String> = chunk
                .iter()
                .map(|s| format!("({}, {})", s.entry.seq, q(&s.payload)))
                .collect();
            sql += &format!(
                "INSERT INTO ledger_payloads (seq, payload) VALUES {};\n",
                rows.join(",")
            );
        }
        for chunk in new_nodes.chunks(1000) {
            let rows: Vec<String> = chunk
                .iter()
                .map(|(id, h)| format!("({}, {}, {})", id.level, id.index, blob(h)))
                .collect();
            sql += &format!(
                "INSERT INTO merkle_nodes (level, idx, hash) VALUES {};\n",
                rows.join(",")
            );
        }
        texts.push(format!("BEGIN;\n{sql}COMMIT;"));
    }
    app.sql(&texts[0], &texts[1]).expect("forge the entries");
    assert_eq!(size_of(app).await, size);
}

/// The ledger's size, from the database.
async fn size_of(app: &TestApp) -> i64 {
    let pool = app.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        escalation_ledger::store::tree::leaves(&mut pool.get().expect("conn")).expect("size")
    })
    .await
    .expect("join")
}

/// Sign (or reuse) the checkpoint of the whole ledger, as `GET
/// /v1/ledger/checkpoint` does; its note with cosignatures.
async fn sign(app: &TestApp) -> String {
    let pool = app.pool.clone();
    let key = app.log.clone();
    actix_web::rt::task::spawn_blocking(move || {
        escalation_ledger::service::ledger::checkpoint_note(&mut pool.get().expect("conn"), &key)
            .expect("sign")
    })
    .await
    .expect("join")
}

/// Every entry's `entry_hash`, hex, by `seq`.
async fn entry_hashes(app: &TestApp, size: i64) -> Vec<String> {
    let pool = app.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("conn");
        escalation_ledger::store::ledger::entries(&mut conn, None, 0, size)
            .expect("entries")
            .into_iter()
            .map(|e| hex::encode(e.entry.entry_hash))
            .collect()
    })
    .await
    .expect("join")
}

/// What the Go client saw.
struct Checked {
    size: i64,
    root: String,
    proofs: usize,
    leaves: Vec<String>,
}

/// Run the Go client against `app`, checking inclusion proofs of `indexes`
/// (or `["all"]`).
async fn go_client(app: &TestApp, indexes: Vec<String>) -> Checked {
    let dir = format!("{}/tests/go/tiles", env!("CARGO_MANIFEST_DIR"));
    let mut args = vec![
        "run".to_string(),
        ".".into(),
        app.base.clone(),
        app.log.verifier_key(),
    ];
    args.extend(indexes);
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new("go")
            .args(&args)
            .current_dir(dir)
            // Everything it imports is Debian's copy (go.mod's replace): no proxy.
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .output()
    })
    .await
    .expect("join")
    .unwrap_or_else(|e| {
        panic!("`go` must be installed for this test (apt-get install golang-go golang-golang-x-mod-dev): {e}")
    });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the Go tiles client failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    let head: Vec<&str> = lines.next().expect("a summary line").split(' ').collect();
    assert_eq!(head[0], "ok", "{stdout}");
    let leaves = lines
        .enumerate()
        .map(|(i, l)| {
            let (seq, leaf) = l.split_once(' ').expect("seq leaf");
            assert_eq!(seq, i.to_string());
            leaf.to_string()
        })
        .collect();
    Checked {
        size: head[1].parse().expect("size"),
        root: head[2].to_string(),
        proofs: head[3].parse().expect("proofs"),
        leaves,
    }
}

/// GET without a token: status, headers we check, body.
async fn fetch(app: &TestApp, path: &str) -> (u16, String, String, Vec<u8>) {
    // A fresh client each time: these tests sit idle for many seconds between
    // requests (forging, the Go client), past the server's keep-alive, and a
    // pooled connection the server has closed would fail the request.
    let mut res = crate::helpers::client()
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("request");
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (ct, cache) = (header("content-type"), header("cache-control"));
    let body = res.body().limit(16 << 20).await.expect("body").to_vec();
    (res.status().as_u16(), ct, cache, body)
}

/// The signed root (hex) of the newest checkpoint, from the database.
async fn signed_root(app: &TestApp) -> (i64, String) {
    let pool = app.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().expect("conn");
        let c = escalation_ledger::store::checkpoints::latest(&mut conn)
            .expect("read")
            .expect("a checkpoint");
        (c.size, hex::encode(c.root))
    })
    .await
    .expect("join")
}

/// Sign the checkpoint of the whole ledger, then check it all with Go.
async fn sign_and_check(app: &TestApp, size: i64, indexes: Vec<String>) -> Checked {
    sign(app).await;
    let checked = go_client(app, indexes).await;
    let (signed, root) = signed_root(app).await;
    assert_eq!((checked.size, &checked.root), (size, &root));
    assert_eq!(signed, size);
    assert_eq!(
        checked.leaves,
        entry_hashes(app, size).await,
        "leaves from the bundles"
    );
    checked
}

async fn tiles_verify_at_tile_boundaries(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // No checkpoint signed yet: nothing to serve.
    let (s, ct, _, _) = fetch(&app, "/tlog/checkpoint").await;
    assert_eq!((s, ct.as_str()), (404, "application/problem+json"));
    let (s, _, _, _) = fetch(&app, "/tlog/tile/0/000.p/1").await;
    assert_eq!(s, 404);

    for size in [255, 256, 257] {
        fill_to(&app, size).await;
        // Appended but not yet signed: the new leaf's tiles are not served.
        let last = Tile::for_leaf(size - 1);
        for path in [last.hashes(), last.entries()] {
            let (s, ct, _, body) = fetch(&app, &path).await;
            assert_eq!(
                (s, ct.as_str()),
                (404, "application/problem+json"),
                "{path} before its checkpoint: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let checked = sign_and_check(&app, size, vec!["all".into()]).await;
        assert_eq!(checked.proofs, size as usize);
        for path in [last.hashes(), last.entries()] {
            let (s, _, _, _) = fetch(&app, &path).await;
            assert_eq!(s, 200, "{path} after its checkpoint");
        }
    }

    // The checkpoint: the note /v1/ledger/checkpoint serves, no token, briefly cached.
    let note = sign(&app).await;
    let (s, ct, cache, body) = fetch(&app, "/tlog/checkpoint").await;
    assert_eq!(s, 200);
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert_eq!(cache, "public, max-age=5");
    assert_eq!(String::from_utf8(body).unwrap(), note);

    // A full tile: 8192 bytes, immutable; partial tiles: briefly cached.
    let (s, ct, cache, full) = fetch(&app, "/tlog/tile/0/000").await;
    assert_eq!(
        (s, ct.as_str(), full.len()),
        (200, "application/octet-stream", 8192)
    );
    assert_eq!(cache, "public, max-age=31536000, immutable");
    let (s, _, cache, part) = fetch(&app, "/tlog/tile/0/000.p/7").await;
    assert_eq!((s, part.len()), (200, 7 * 32));
    assert_eq!(cache, "public, max-age=60");
    assert_eq!(
        part,
        full[..7 * 32],
        "a partial tile is the full tile's prefix"
    );
    let (s, _, cache, bundle) = fetch(&app, "/tlog/tile/entries/000").await;
    assert_eq!(s, 200);
    assert_eq!(cache, "public, max-age=31536000, immutable");
    let (s, _, _, part_bundle) = fetch(&app, "/tlog/tile/entries/000.p/3").await;
    assert_eq!(s, 200);
    assert!(bundle.starts_with(&part_bundle));
    // The first entry's bytes hash (RFC 9162 leaf) to its entry_hash.
    let len = usize::from(u16::from_be_bytes([bundle[0], bundle[1]]));
    let first = &bundle[2..2 + len];
    assert_eq!(
        hex::encode(escalation_ledger::core::ledger::leaf_hash(first)),
        entry_hashes(&app, 1).await[0]
    );
    // The one hash of level 1 at size 257 is the root of the first 256 leaves,
    // which the checkpoint of size 256 signed.
    let (s, _, _, l1) = fetch(&app, "/tlog/tile/1/000.p/1").await;
    assert_eq!((s, l1.len()), (200, 32));
    let pool = app.pool.clone();
    let root256 = actix_web::rt::task::spawn_blocking(move || {
        escalation_ledger::service::checkpoint::root_at(&mut pool.get().unwrap(), 256).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(l1, root256);

    // The ledger grows past the checkpoint: /tlog/ still serves the checkpoint of 257.
    fill_to(&app, 258).await;
    let (_, _, _, body) = fetch(&app, "/tlog/checkpoint").await;
    assert_eq!(String::from_utf8(body).unwrap(), note);

    // Malformed, non-canonical or beyond the checkpoint: a 404 problem, never a 500.
    for bad in [
        "/tlog/tile/0/x000/000",
        "/tlog/tile/0/0",
        "/tlog/tile/0/0000",
        "/tlog/tile/00/000",
        "/tlog/tile/64/000",
        "/tlog/tile/99999999999999999999/000",
        "/tlog/tile/-1/000",
        "/tlog/tile/0/000.p/0",
        "/tlog/tile/0/000.p/256",
        "/tlog/tile/0/000.p/07",
        "/tlog/tile/0/000.p/",
        "/tlog/tile/0/000.p/1/2",
        "/tlog/tile/0/002",
        "/tlog/tile/0/001",
        "/tlog/tile/0/001.p/2",
        "/tlog/tile/1/000",
        "/tlog/tile/1/000.p/2",
        "/tlog/tile/2/000.p/1",
        "/tlog/tile/7/000.p/1",
        "/tlog/tile/63/000.p/1",
        "/tlog/tile/0/x018/x446/x744/x073/x709/x551/615",
        "/tlog/tile/0/x999/x999/x999/x999/x999/x999/x999/999",
        "/tlog/tile/entries/001",
        "/tlog/tile/entries/001.p/2",
        "/tlog/tile/entries/abc",
        "/tlog/tile/entries/x000/001",
        "/tlog/tile/data/000",
        "/tlog/tile/0/%2e%2e/000",
        "/tlog/tile/0/000%00",
        "/tlog/tile",
        "/tlog/tile/",
        "/tlog/tile/0",
    ] {
        let (s, ct, _, body) = fetch(&app, bad).await;
        // A control character is refused at the edge, before any route.
        let want = if bad.contains("%00") { 400 } else { 404 };
        assert_eq!(
            (s, ct.as_str()),
            (want, "application/problem+json"),
            "{bad}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Public reads sign nothing and append nothing.
    assert_eq!(size_of(&app).await, 258);
    assert_eq!(signed_root(&app).await.0, 257);
}

/// The tiles holding leaf `i`: its level-0 hash tile and entry bundle, each
/// as wide as a tree of `i + 1` leaves makes them.
struct Tile {
    index: i64,
    width: i64,
}

impl Tile {
    fn for_leaf(i: i64) -> Tile {
        Tile {
            index: i / 256,
            width: i % 256 + 1,
        }
    }
    fn suffix(&self) -> String {
        let partial = if self.width == 256 {
            String::new()
        } else {
            format!(".p/{}", self.width)
        };
        // Small indexes only here: one 3-digit group.
        format!("{:03}{partial}", self.index)
    }
    fn hashes(&self) -> String {
        format!("/tlog/tile/0/{}", self.suffix())
    }
    fn entries(&self) -> String {
        format!("/tlog/tile/entries/{}", self.suffix())
    }
}

async fn tiles_verify_past_two_levels(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let size: i64 = 65537;
    let started = std::time::Instant::now();
    forge_to(&app, size).await;
    eprintln!(
        "{backend:?}: {size} entries forged in {:?}",
        started.elapsed()
    );
    // Proofs across every tile edge the size has, and a spread in between.
    let mut idx: Vec<i64> = vec![
        0, 1, 254, 255, 256, 257, 511, 512, 65279, 65280, 65534, 65535, 65536,
    ];
    idx.extend((0..100).map(|k| k * 655 + 7));
    let started = std::time::Instant::now();
    let checked = sign_and_check(&app, size, idx.iter().map(|i| i.to_string()).collect()).await;
    eprintln!(
        "{backend:?}: Go client checked {size} in {:?}",
        started.elapsed()
    );
    assert_eq!(checked.proofs, idx.len());
    // At this size: one hash at level 2, one full tile at level 1, 256 full
    // level-0 tiles and a level-0 tile of width 1.
    for (path, len) in [
        ("/tlog/tile/2/000.p/1", 32),
        ("/tlog/tile/1/000", 8192),
        ("/tlog/tile/0/256.p/1", 32),
        ("/tlog/tile/entries/255", 0),
    ] {
        let (s, _, _, body) = fetch(&app, path).await;
        assert_eq!(s, 200, "{path}");
        if len > 0 {
            assert_eq!(body.len(), len, "{path}");
        }
    }
    // Level 1 has exactly 256 hashes at this size: nothing in its tile 1 yet.
    let (s, _, _, _) = fetch(&app, "/tlog/tile/1/001.p/1").await;
    assert_eq!(s, 404);
}

both_backends!(
    tiles_verify_at_tile_boundaries,
    tiles_verify_past_two_levels
);
