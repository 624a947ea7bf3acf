//! Key files: every secret the service keeps on disk (the log's signing key,
//! the whistleblowing pseudonym key, the token secret).
//!
//! Two ways in. [`load`] only reads: a missing file is [`LoadError::Missing`],
//! and nothing is written. This is what every command uses. [`load_or_create`]
//! is for the first start only: `cli::commands::main` runs it (through
//! `cli::config::Common::provision`) for `serve` and `migrate` and for no other
//! command, before the command itself runs, so a command run from the wrong
//! folder refuses instead of inventing a key.
//!
//! With [`load_or_create`], a key file is read if it exists; if it does not, a fresh key is generated
//! and written there, creating its folder, readable by the owner only (mode
//! 0600 from the moment the file exists) and never overwriting a file that
//! appeared in the meantime. Every error names the path.

use std::path::{Path, PathBuf};

/// Why a key file could not be read or created. Displays as `PATH: reason`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct KeyFileError {
    pub path: PathBuf,
    pub reason: String,
}

impl KeyFileError {
    pub fn new(path: &Path, reason: impl std::fmt::Display) -> Self {
        KeyFileError {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}

/// Why [`load`] found no key.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No file there: the caller says where it looked and how to point elsewhere.
    #[error("{} does not exist", .0.display())]
    Missing(PathBuf),
    #[error(transparent)]
    Unreadable(#[from] KeyFileError),
}

/// Read the key at `path` with `parse` (given the file's text, trimmed).
/// Never creates anything.
pub fn load<T, E>(path: &Path, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, LoadError>
where
    E: std::fmt::Display,
{
    match std::fs::read_to_string(path) {
        Ok(s) => parse(s.trim()).map_err(|e| KeyFileError::new(path, e).into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(LoadError::Missing(path.to_path_buf()))
        }
        Err(e) => Err(KeyFileError::new(path, e).into()),
    }
}

/// Read the key at `path` with `parse` (given the file's text, trimmed), or,
/// when there is no file, make one with `generate` (the key and the text to
/// store) and write that text to `path` (see [`write_secret_file`]).
pub fn load_or_create<T, E1, E2>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, E1>,
    generate: impl FnOnce() -> Result<(T, String), E2>,
) -> Result<T, KeyFileError>
where
    E1: std::fmt::Display,
    E2: std::fmt::Display,
{
    match std::fs::read_to_string(path) {
        Ok(s) => parse(s.trim()).map_err(|e| KeyFileError::new(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, text) = generate().map_err(|e| KeyFileError::new(path, e))?;
            write_secret_file(path, text.as_bytes()).map_err(|e| KeyFileError::new(path, e))?;
            Ok(key)
        }
        Err(e) => Err(KeyFileError::new(path, e)),
    }
}

/// Create `path` (and its folder) holding `bytes`, readable by the owner only.
/// Never overwrites an existing file.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_private(path, bytes)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// 32 random bytes.
pub fn random_32() -> Result<[u8; 32], String> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| format!("no randomness for a key: {e}"))?;
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_never_creates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("k");
        let e = load(&path, |s| Ok::<_, String>(s.to_string())).unwrap_err();
        assert!(matches!(e, LoadError::Missing(p) if p == path));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(
            load(&path, |s| Ok::<_, String>(s.to_string())).unwrap(),
            "abc"
        );
        let e = load(&path, |_| Err::<String, _>("bad")).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: bad", path.display()));
    }

    #[test]
    fn created_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("k");
        let a: String = load_or_create(
            &path,
            |s| Ok::<_, String>(s.to_string()),
            || Ok::<_, String>(("abc".to_string(), "abc\n".to_string())),
        )
        .unwrap();
        assert_eq!(a, "abc");
        let b: String = load_or_create(
            &path,
            |s| Ok::<_, String>(s.to_string()),
            || Err::<(String, String), _>("must not generate"),
        )
        .unwrap();
        assert_eq!(b, "abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = load_or_create(
            &path,
            |_| Err::<String, _>("bad"),
            || Err::<(String, String), _>("x"),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), format!("{}: bad", path.display()));
    }
}
