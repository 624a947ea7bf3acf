//! An online copy of a SQLite database through SQLite's backup API
//! (`sqlite3_backup_*`): one consistent snapshot, WAL contents included,
//! taken while `serve` keeps writing.

use std::ffi::CString;
use std::path::Path;
use std::time::Duration;

use libsqlite3_sys as ffi;

/// An open `sqlite3*`, closed on drop.
struct Handle(*mut ffi::sqlite3);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful `sqlite3_open_v2` and is closed once.
        unsafe {
            ffi::sqlite3_close(self.0);
        }
    }
}

fn open(path: &Path, flags: i32) -> Result<Handle, String> {
    let c = CString::new(path.to_string_lossy().as_bytes())
        .map_err(|_| format!("{}: a path with a NUL byte", path.display()))?;
    let mut db: *mut ffi::sqlite3 = std::ptr::null_mut();
    // SAFETY: `c` is a valid C string; `db` receives a handle (possibly on error too).
    let rc = unsafe { ffi::sqlite3_open_v2(c.as_ptr(), &mut db, flags, std::ptr::null()) };
    let handle = Handle(db);
    if rc != ffi::SQLITE_OK {
        return Err(format!("{}: {}", path.display(), message(&handle, rc)));
    }
    // SAFETY: a valid handle. Wait for a writer rather than fail at once.
    unsafe {
        ffi::sqlite3_busy_timeout(handle.0, 5000);
    }
    Ok(handle)
}

fn message(h: &Handle, rc: i32) -> String {
    if h.0.is_null() {
        return format!("SQLite error {rc}");
    }
    // SAFETY: a valid handle; SQLite owns the returned string.
    unsafe {
        let m = ffi::sqlite3_errmsg(h.0);
        if m.is_null() {
            format!("SQLite error {rc}")
        } else {
            std::ffi::CStr::from_ptr(m).to_string_lossy().into_owned()
        }
    }
}

/// Copy the database at `src` to a new file `out` (which must not exist);
/// returns the pages copied.
pub fn sqlite_backup(src: &Path, out: &Path) -> Result<i32, String> {
    if !src.exists() {
        return Err(format!("{}: no such database", src.display()));
    }
    if out.exists() {
        return Err(format!(
            "{} exists: a backup never overwrites a file",
            out.display()
        ));
    }
    let source = open(src, ffi::SQLITE_OPEN_READWRITE)?;
    let dest = open(out, ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE)?;
    let main = c"main";
    // SAFETY: both handles are open; `main` outlives the call.
    let backup =
        unsafe { ffi::sqlite3_backup_init(dest.0, main.as_ptr(), source.0, main.as_ptr()) };
    if backup.is_null() {
        return Err(format!("backup: {}", message(&dest, 0)));
    }
    let mut rc;
    let mut tries = 0;
    loop {
        // SAFETY: `backup` is live until `sqlite3_backup_finish` below. All
        // pages in one step: one read transaction, so one consistent snapshot.
        rc = unsafe { ffi::sqlite3_backup_step(backup, -1) };
        match rc {
            ffi::SQLITE_DONE => break,
            ffi::SQLITE_OK => continue,
            ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED if tries < 600 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            _ => break,
        }
    }
    // SAFETY: finishes and frees `backup`, once.
    let pages = unsafe { ffi::sqlite3_backup_pagecount(backup) };
    let finished = unsafe { ffi::sqlite3_backup_finish(backup) };
    if rc != ffi::SQLITE_DONE || finished != ffi::SQLITE_OK {
        let m = message(&dest, rc);
        drop(dest);
        let _ = std::fs::remove_file(out);
        return Err(format!("backup failed: {m}"));
    }
    Ok(pages)
}
