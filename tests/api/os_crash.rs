//! An OS-level crash under load (issue 15): the service's SQLite file on an
//! ext4 loop device, 16 clients raising disputes, then `EXT4_IOC_SHUTDOWN`
//! with `EXT4_GOING_FLAGS_NOLOGFLUSH` (the filesystem stops as if the machine
//! lost power: nothing more reaches the device, the journal is not flushed).
//! After unmounting and mounting again, every dispute answered 201 must be
//! there and `verify` must pass. With `SQLITE_SYNCHRONOUS=normal` this loses
//! the last acknowledged actions; the default (`full`) must lose none.
//!
//! Needs root and a free loop device. Where there is none the test says so;
//! under `CI=true` it fails instead of passing without having run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use serde_json::json;

use crate::helpers::{Served, SECRET};

/// `_IOR('X', 125, __u32)`.
const EXT4_IOC_SHUTDOWN: u64 = (2 << 30) | (4 << 16) | ((b'X' as u64) << 8) | 125;
const EXT4_GOING_FLAGS_NOLOGFLUSH: u32 = 2;

fn sh(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// An ext4 filesystem in a file, on a loop device, mounted; undone on drop
/// (unmounted, detached, the file removed with its temp dir).
struct LoopFs {
    _dir: tempfile::TempDir,
    dev: String,
    mnt: PathBuf,
    mounted: bool,
}

impl LoopFs {
    fn new() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let img = dir.path().join("fs.img");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).map_err(|e| e.to_string())?;
        let f = std::fs::File::create(&img).map_err(|e| e.to_string())?;
        f.set_len(256 << 20).map_err(|e| e.to_string())?;
        drop(f);
        let dev = sh("losetup", &["--find", "--show", &img.display().to_string()])?;
        let mut fs = LoopFs {
            _dir: dir,
            dev,
            mnt,
            mounted: false,
        };
        sh("mkfs.ext4", &["-q", "-F", &fs.dev])?;
        fs.mount()?;
        Ok(fs)
    }

    fn mount(&mut self) -> Result<(), String> {
        sh(
            "mount",
            &["-t", "ext4", &self.dev, &self.mnt.display().to_string()],
        )?;
        self.mounted = true;
        Ok(())
    }

    fn unmount(&mut self) -> Result<(), String> {
        sh("umount", &[&self.mnt.display().to_string()])?;
        self.mounted = false;
        Ok(())
    }

    /// The power cut: the filesystem refuses every further write, and what
    /// was not yet on the device is gone.
    fn shutdown(&self) -> Result<(), String> {
        use std::os::fd::AsRawFd;
        let d = std::fs::File::open(&self.mnt).map_err(|e| e.to_string())?;
        let flags: u32 = EXT4_GOING_FLAGS_NOLOGFLUSH;
        // SAFETY: the ioctl reads one u32 through a pointer to a live local.
        let rc =
            unsafe { libc::ioctl(d.as_raw_fd(), EXT4_IOC_SHUTDOWN as _, &flags as *const u32) };
        if rc != 0 {
            return Err(format!(
                "EXT4_IOC_SHUTDOWN: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(())
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        if self.mounted {
            let _ = sh("umount", &["-l", &self.mnt.display().to_string()]);
        }
        let _ = sh("losetup", &["-d", &self.dev]);
    }
}

fn loop_fs_or_say_why() -> Option<LoopFs> {
    match LoopFs::new() {
        Ok(fs) => Some(fs),
        Err(e) => {
            let why = format!("the OS-crash test needs root and a loop device with ext4: {e}");
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why} (CI=true: failing, not skipping)");
            }
            eprintln!("NOT RUN: {why}");
            None
        }
    }
}

async fn raise_once(client: &awc::Client, base: &str, token: &str) -> Result<Option<String>, ()> {
    let mut res = client
        .post(format!("{base}/v1/disputes"))
        .bearer_auth(token)
        .send_json(&json!({
            "parties": ["kingston-council", "richmond-council"],
            "summary": "Threshold for a strategy meeting",
            "child_ref": "KR-2026-0001",
            "complex": false
        }))
        .await
        .map_err(|_| ())?;
    let status = res.status().as_u16();
    let body = res.body().await.map_err(|_| ())?;
    if status == 201 {
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let id = v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("a 201 without an id: {v}"));
        Ok(Some(id.to_string()))
    } else {
        Ok(None)
    }
}

#[actix_web::test]
async fn an_os_crash_loses_no_acknowledged_action() {
    let Some(mut fs) = loop_fs_or_say_why() else {
        return;
    };
    // The level under test; `normal` shows what the test catches.
    let sync = std::env::var("OS_CRASH_SQLITE_SYNCHRONOUS").unwrap_or_else(|_| "full".into());
    let data = tempfile::tempdir().expect("data dir");
    let db_path = fs.mnt.join("ledger.db");
    let url = format!("sqlite://{}", db_path.display());
    let log = data.path().join("stderr.log");
    let stderr = std::fs::File::create(&log).expect("log file");
    let (u, d, s) = (url.clone(), data.path().to_path_buf(), sync.clone());
    let served = actix_web::rt::task::spawn_blocking(move || {
        Served::spawn(
            &u,
            &d,
            "warn",
            &[
                ("SQLITE_SYNCHRONOUS", s.as_str()),
                ("RATE_LIMIT_PER_SUBJECT", "0"),
                ("RATE_LIMIT_PER_ADDRESS", "0"),
                ("CHECKPOINT_INTERVAL", "0s"),
                ("DEADLINE_SWEEP", "0s"),
                ("DB_POOL_SIZE", "8"),
            ],
            stderr.into(),
        )
    })
    .await
    .expect("join");
    let base = served.base.clone();
    let token = Keys::from_secret(SECRET.as_bytes())
        .mint(&Claims {
            sub: "user@kingston-council".into(),
            role: Role::Agency,
            agency: Some("kingston-council".into()),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .expect("mint");

    let crashed = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (base, token, crashed) = (base.clone(), token.clone(), crashed.clone());
            let acked = acked.clone();
            actix_web::rt::spawn(async move {
                let client = awc::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .finish();
                let (mut created, mut failed_after) = (Vec::new(), 0usize);
                let until = Instant::now() + Duration::from_secs(40);
                while Instant::now() < until && failed_after < 3 {
                    let after = crashed.load(Ordering::SeqCst);
                    match raise_once(&client, &base, &token).await {
                        Ok(Some(id)) => {
                            created.push(id);
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        _ if after => failed_after += 1,
                        _ => {}
                    }
                }
                (created, failed_after)
            })
        })
        .collect();

    // Cut the power under load, once some hundreds of actions were acknowledged.
    let start = Instant::now();
    while acked.load(Ordering::SeqCst) < 300 && start.elapsed() < Duration::from_secs(20) {
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    fs.shutdown().expect("shut the filesystem down");
    crashed.store(true, Ordering::SeqCst);
    let (mut created, mut refused) = (Vec::new(), 0);
    for c in clients {
        let (c, f) = c.await.expect("client");
        created.extend(c);
        refused += f;
    }
    // The crash came under load: the clients saw the filesystem go.
    assert!(refused > 0, "no request failed after the shutdown");
    drop(served);
    fs.unmount().expect("unmount after the crash");
    fs.mount().expect("mount again (the journal replays)");

    assert!(
        created.len() >= 50,
        "load too light: {} created",
        created.len()
    );
    let pool = escalation_ledger::store::db::pool(&url, 1).expect("open after the crash");
    let mut conn = pool.get().expect("conn");
    let report = escalation_ledger::service::verify::verify(&mut conn).expect("verify runs");
    assert!(report.ok, "{report:?}");
    let lost: Vec<&String> = created
        .iter()
        .filter(|id| {
            escalation_ledger::store::disputes::load_dispute(&mut conn, id)
                .expect("load")
                .is_none()
        })
        .collect();
    eprintln!(
        "SQLITE_SYNCHRONOUS={sync}: {} acknowledged before the crash, {} lost, {} entries after remount",
        created.len(),
        lost.len(),
        report.size
    );
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged disputes lost with synchronous={sync}: {:?}",
        lost.len(),
        created.len(),
        &lost[..lost.len().min(5)]
    );
    drop(conn);
    drop(pool);
}
