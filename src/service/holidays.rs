//! The bank holiday feed in use, replaceable at run time without a rebuild.
//!
//! Where `serve` reads the feed ([`FeedSource`]): the file named by
//! `HOLIDAYS_FILE` (`--holidays-file`) if set, which must then exist and be
//! valid; otherwise `DATA_DIR/bank-holidays.json` if one was imported; otherwise
//! the feed embedded in the binary ([`crate::core::calendar::DEFAULT_FEED`]).
//! `escalation-ledger holidays import FILE` checks a file ([`validate`]) and
//! installs it at that same path atomically ([`install`]: a temporary file in
//! the same directory, then a rename), so a reader never sees half a feed.
//!
//! The feed in use is process-wide ([`current`], read by
//! [`crate::service::deadline::calendar`]). A running `serve` re-reads its source every
//! `HOLIDAYS_RELOAD` (`workers::holidays::spawn_watcher`): a changed, valid file replaces the
//! calendar (logged at info); an invalid one is refused with an error log and the
//! feed in use is kept. Nothing recorded depends on the feed: `deadline_missed`
//! and `deadline_approaching` entries carry the `due_at` they were judged
//! against, and `verify` checks those facts, never recomputes them, so a new
//! feed changes future deadlines only.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::core::calendar::{Calendar, DEFAULT_FEED};
use crate::core::ledger::sha256;

/// The file name `holidays import` installs in the data directory.
pub const FILE_NAME: &str = "bank-holidays.json";

use std::sync::atomic::{AtomicBool, Ordering};

static ACTIVE: RwLock<Option<Arc<Calendar>>> = RwLock::new(None);

/// The calendar in use: the last one [`set_current`] installed, else the embedded feed.
pub fn current() -> Arc<Calendar> {
    if let Some(cal) = ACTIVE.read().ok().and_then(|g| g.clone()) {
        return cal;
    }
    let mut slot = match ACTIVE.write() {
        Ok(g) => g,
        // A writer panicked mid-swap: the value is a whole Arc either way.
        Err(poisoned) => poisoned.into_inner(),
    };
    slot.get_or_insert_with(|| Arc::new(Calendar::default_england()))
        .clone()
}

/// Replace the calendar in use, for every later deadline in this process.
pub fn set_current(cal: Calendar) {
    let mut slot = match ACTIVE.write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    *slot = Some(Arc::new(cal));
    FEED_WARNED.store(false, Ordering::Relaxed);
}

static FEED_WARNED: AtomicBool = AtomicBool::new(false);

/// Whether this is the first deadline since the feed in use was installed to
/// rely on computed holidays beyond it: the caller warns once per feed.
pub fn first_computed_use() -> bool {
    !FEED_WARNED.swap(true, Ordering::Relaxed)
}

/// Where the feed comes from, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSource {
    /// The file `serve` reads and `holidays import` writes.
    pub path: PathBuf,
    /// Named by `HOLIDAYS_FILE`: then it must exist. Otherwise it is the data
    /// directory's, and its absence means the embedded feed.
    pub configured: bool,
}

/// What a feed holds, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub first_year: i32,
    pub last_year: i32,
    /// Distinct England and Wales holiday dates.
    pub events: usize,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Years with fewer holidays than the statutory rules give: worth a look.
    pub thin_years: Vec<(i32, usize)>,
}

impl Summary {
    fn of(cal: &Calendar, bytes: &[u8]) -> Self {
        let (first_year, last_year) = cal.feed_years();
        Summary {
            first_year,
            last_year,
            events: cal.feed_len(),
            sha256: hex::encode(sha256(bytes)),
            thin_years: cal.thin_years(),
        }
    }

    /// "2018 to 2027, 83 England and Wales bank holidays".
    pub fn describe(&self) -> String {
        format!(
            "{} to {}, {} England and Wales bank holidays",
            self.first_year, self.last_year, self.events
        )
    }
}

/// A feed that was read and checked.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub calendar: Calendar,
    pub summary: Summary,
    /// Where it came from: a path, or "the embedded feed".
    pub origin: String,
    /// SHA-256 of the file read; `None` for the embedded feed.
    file_digest: Option<[u8; 32]>,
}

/// Check a feed's text: the GOV.UK shape, an `england-and-wales` division,
/// every date a date, no year missing inside its range. The error names what
/// is wrong (and the line, where there is one).
pub fn validate(text: &str) -> Result<(Calendar, Summary), String> {
    let cal = Calendar::from_json(text).map_err(|e| e.to_string())?;
    let summary = Summary::of(&cal, text.as_bytes());
    Ok((cal, summary))
}

impl FeedSource {
    /// `HOLIDAYS_FILE` if given, else `DATA_DIR/bank-holidays.json`.
    pub fn new(configured: Option<PathBuf>, data_dir: &Path) -> Self {
        match configured {
            Some(path) => FeedSource {
                path,
                configured: true,
            },
            None => FeedSource {
                path: data_dir.join(FILE_NAME),
                configured: false,
            },
        }
    }

    /// The feed `serve` would use now: the file, or the embedded feed when the
    /// data directory has none. A configured file that is missing, or any file
    /// that does not check out, is an error: `serve` refuses to start rather
    /// than count deadlines on other holidays than the operator chose.
    pub fn load(&self) -> Result<Loaded, String> {
        let shown = self.path.display();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.configured => {
                let (calendar, summary) = validate(DEFAULT_FEED)?;
                return Ok(Loaded {
                    calendar,
                    summary,
                    origin: "the embedded feed".into(),
                    file_digest: None,
                });
            }
            Err(e) => return Err(format!("bank holiday feed {shown}: {e}")),
        };
        let (calendar, summary) = validate(&text).map_err(|e| format!("{shown}: {e}"))?;
        let origin = if self.configured {
            format!("{shown} (HOLIDAYS_FILE)")
        } else {
            format!("{shown} (imported)")
        };
        Ok(Loaded {
            calendar,
            summary,
            origin,
            file_digest: Some(sha256(text.as_bytes())),
        })
    }
}

/// Check `from` and install it as `to` atomically: written to a temporary
/// file beside `to`, flushed, then renamed over it. Nothing is written if the
/// feed does not check out.
pub fn install(from: &Path, to: &Path) -> Result<Summary, InstallError> {
    let text = std::fs::read_to_string(from)
        .map_err(|e| InstallError::Io(format!("{}: {e}", from.display())))?;
    let (_, summary) =
        validate(&text).map_err(|e| InstallError::Refused(format!("{}: {e}", from.display())))?;
    let dir = match to.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| InstallError::Io(format!("{}: {e}", dir.display())))?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| FILE_NAME.into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, to)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(InstallError::Io(format!("{}: {e}", to.display())));
    }
    Ok(summary)
}

/// Why `holidays import` did not install a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    /// The file is not a usable feed (exit 1).
    #[error("refused: {0}")]
    Refused(String),
    /// It could not be read or written (exit 2).
    #[error("{0}")]
    Io(String),
}

/// What the watcher last saw at the source path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// The file's SHA-256.
    File([u8; 32]),
    Missing,
    Unreadable(String),
}

/// The watcher's state: the digest of the feed in use (None: the embedded
/// one) and what the file held last time, so each change is logged once.
#[derive(Debug)]
pub struct Watch {
    source: FeedSource,
    active: Option<[u8; 32]>,
    seen: Seen,
}

impl Watch {
    /// Start watching `source`, whose feed `loaded` is in use.
    pub fn new(source: FeedSource, loaded: &Loaded) -> Self {
        let seen = match loaded.file_digest {
            Some(d) => Seen::File(d),
            None => Seen::Missing,
        };
        Watch {
            source,
            active: loaded.file_digest,
            seen,
        }
    }

    /// Look at the file once: install a changed, valid feed; log a bad one once
    /// and keep the feed in use. Returns the new summary when it switched.
    pub fn check(&mut self) -> Option<Summary> {
        let path = self.source.path.display().to_string();
        let bytes = match std::fs::read(&self.source.path) {
            Ok(b) => b,
            Err(e) => {
                let now = if e.kind() == std::io::ErrorKind::NotFound {
                    Seen::Missing
                } else {
                    Seen::Unreadable(e.to_string())
                };
                if now != self.seen {
                    match &now {
                        Seen::Missing if self.active.is_none() => {}
                        Seen::Missing => tracing::warn!(
                            %path,
                            "bank holiday feed file removed; keeping the feed in use"
                        ),
                        _ => tracing::error!(
                            %path, error = %e,
                            "bank holiday feed file unreadable; keeping the feed in use"
                        ),
                    }
                    self.seen = now;
                }
                return None;
            }
        };
        let digest = sha256(&bytes);
        if self.seen == Seen::File(digest) {
            return None;
        }
        self.seen = Seen::File(digest);
        if self.active == Some(digest) {
            tracing::info!(%path, "bank holiday feed file holds the feed in use again");
            return None;
        }
        let text = String::from_utf8_lossy(&bytes);
        match validate(&text) {
            Ok((cal, summary)) => {
                let before = current();
                let (f, l) = before.feed_years();
                set_current(cal);
                self.active = Some(digest);
                tracing::info!(
                    %path,
                    covers = %summary.describe(),
                    sha256 = %summary.sha256,
                    previous = %format!("{f} to {l}, {} holidays", before.feed_len()),
                    "bank holiday feed replaced; deadlines now count with it"
                );
                Some(summary)
            }
            Err(e) => {
                tracing::error!(
                    %path, error = %e,
                    "bank holiday feed replacement refused; keeping the feed in use"
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_with(extra: &[&str]) -> String {
        let mut v: serde_json::Value = serde_json::from_str(DEFAULT_FEED).expect("embedded");
        let events = v["england-and-wales"]["events"]
            .as_array_mut()
            .expect("events");
        for d in extra {
            events.push(
                serde_json::json!({"title": "Made up", "date": d, "notes": "", "bunting": false}),
            );
        }
        serde_json::to_string_pretty(&v).expect("json")
    }

    #[test]
    fn sources_and_install() {
        let dir = tempfile::tempdir().expect("dir");
        let src = FeedSource::new(None, dir.path());
        assert_eq!(src.path, dir.path().join(FILE_NAME));
        let l = src.load().expect("embedded");
        assert_eq!(l.origin, "the embedded feed");
        assert_eq!(
            l.summary.describe(),
            "2018 to 2027, 83 England and Wales bank holidays"
        );

        let good = dir.path().join("good.json");
        std::fs::write(&good, feed_with(&["2026-06-10"])).expect("write");
        let s = install(&good, &src.path).expect("installed");
        assert_eq!(s.events, 84);
        let l = src.load().expect("imported");
        assert!(l.origin.ends_with("(imported)"), "{}", l.origin);
        assert!(l
            .calendar
            .is_holiday(chrono::NaiveDate::from_ymd_opt(2026, 6, 10).expect("d")));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\n\"england-and-wales\": \n").expect("write");
        match install(&bad, &src.path) {
            Err(InstallError::Refused(m)) => assert!(m.contains("line 3"), "{m}"),
            other => panic!("{other:?}"),
        }
        // The installed feed is untouched.
        assert_eq!(src.load().expect("still good").summary.events, 84);
        assert!(matches!(
            install(&dir.path().join("nope.json"), &src.path),
            Err(InstallError::Io(_))
        ));

        let configured = FeedSource::new(Some(dir.path().join("missing.json")), dir.path());
        assert!(configured.load().is_err(), "a configured file must exist");
    }
}
