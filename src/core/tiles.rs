//! C2SP `tlog-tiles` (<https://c2sp.org/tlog-tiles>): the paths of hash tiles
//! and entry bundles, which stored Merkle nodes and entries each one holds,
//! and their bytes. Pure: no actix, no diesel, no I/O.
//!
//! A hash tile `tile/<L>/<N>[.p/<W>]` (height 8) holds `W` (256 for a full
//! tile) consecutive hashes of level `L`: hash `i` is
//! `MTH(D[(N*256 + i) * 256^L : (N*256 + i + 1) * 256^L])`, a perfect subtree
//! of `256^L` leaves, which is the stored node at Merkle level `8L`, index
//! `N*256 + i` ([`crate::core::merkle::NodeId`]). An entry bundle
//! `tile/entries/<N>[.p/<W>]` holds entries `N*256 .. N*256 + W`, each as a
//! big-endian `u16` length and the entry's bytes: the bytes whose RFC 9162
//! leaf hash is its `entry_hash` (the canonical entry, see
//! `docs/ledger-format.md`).
//!
//! `<N>` is written in 3-digit groups, all but the last with an `x` prefix:
//! 1234067 is `x001/x234/067`. Parsing accepts only that canonical form.

use crate::core::ledger::Hash;

/// Tile height: each tile spans 8 levels of the tree.
pub const HEIGHT: u32 = 8;
/// Hashes (or entries) in a full tile.
pub const WIDTH: u64 = 1 << HEIGHT;
/// The highest level a tile path may name.
pub const MAX_LEVEL: u32 = 63;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Hashes of level `L`.
    Hashes { level: u32 },
    /// Entries (length-prefixed), spanning level-0 tile `N`.
    Entries,
}

/// One tile resource: kind, index `N` within its level, width `W` (1 to 256;
/// 256 is a full tile, less a partial one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    pub kind: Kind,
    pub index: u64,
    pub width: u64,
}

/// Why a tile path names no tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the level must be a decimal from 0 to 63 without leading zeros, not '{0}'")]
    Level(String),
    #[error("the tile index must be 3-digit groups, all but the last prefixed by 'x', in canonical form, not '{0}'")]
    Index(String),
    #[error(
        "a partial tile's width must be a decimal from 1 to 255 without leading zeros, not '{0}'"
    )]
    Width(String),
}

/// A decimal with no leading zeros (but `0` itself), at most `max`.
fn small_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v <= max)
}

/// `N` as path elements: `x001/x234/067` for 1234067, `005` for 5.
pub fn encode_index(n: u64) -> String {
    let mut out = format!("{:03}", n % 1000);
    let mut rest = n / 1000;
    while rest > 0 {
        out = format!("x{:03}/{out}", rest % 1000);
        rest /= 1000;
    }
    out
}

/// Parse path elements written by [`encode_index`]; anything else is refused.
pub fn parse_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    let (last, groups) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, part) in groups
        .iter()
        .map(|g| g.strip_prefix('x'))
        .chain([Some(*last)])
        .enumerate()
    {
        let digits = part?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u64 = digits.parse().ok()?;
        n = n.checked_mul(1000)?.checked_add(v)?;
        // Only the last group may be written for a zero group on the left.
        if i == 0 && v == 0 && !groups.is_empty() {
            return None;
        }
    }
    (encode_index(n) == s).then_some(n)
}

/// Split `<N>[.p/<W>]` into the index and the width.
fn index_and_width(s: &str) -> Result<(u64, u64), PathError> {
    let (index, width) = match s.rsplit_once(".p/") {
        Some((index, w)) => {
            let w = small_decimal(w, WIDTH - 1)
                .filter(|w| *w >= 1)
                .ok_or_else(|| PathError::Width(w.to_string()))?;
            (index, w)
        }
        None => (s, WIDTH),
    };
    let n = parse_index(index).ok_or_else(|| PathError::Index(index.to_string()))?;
    Ok((n, width))
}

impl Tile {
    /// The hash tile at `<level>/<rest>`, `rest` being `<N>[.p/<W>]`.
    pub fn parse_hashes(level: &str, rest: &str) -> Result<Tile, PathError> {
        let level = small_decimal(level, u64::from(MAX_LEVEL))
            .ok_or_else(|| PathError::Level(level.to_string()))? as u32;
        let (index, width) = index_and_width(rest)?;
        Ok(Tile {
            kind: Kind::Hashes { level },
            index,
            width,
        })
    }

    /// The entry bundle at `entries/<rest>`, `rest` being `<N>[.p/<W>]`.
    pub fn parse_entries(rest: &str) -> Result<Tile, PathError> {
        let (index, width) = index_and_width(rest)?;
        Ok(Tile {
            kind: Kind::Entries,
            index,
            width,
        })
    }

    /// A path below `<prefix>/tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
    pub fn parse(path: &str) -> Result<Tile, PathError> {
        match path.split_once('/') {
            Some(("entries", rest)) => Tile::parse_entries(rest),
            Some((level, rest)) => Tile::parse_hashes(level, rest),
            None => Err(PathError::Index(path.to_string())),
        }
    }

    /// The path below the log's prefix, e.g. `tile/0/x001/x234/067.p/3`.
    pub fn path(&self) -> String {
        let head = match self.kind {
            Kind::Hashes { level } => level.to_string(),
            Kind::Entries => "entries".into(),
        };
        let partial = if self.is_full() {
            String::new()
        } else {
            format!(".p/{}", self.width)
        };
        format!("tile/{head}/{}{partial}", encode_index(self.index))
    }

    pub fn is_full(&self) -> bool {
        self.width == WIDTH
    }

    /// The level whose hashes the tile holds (0 for an entry bundle).
    pub fn level(&self) -> u32 {
        match self.kind {
            Kind::Hashes { level } => level,
            Kind::Entries => 0,
        }
    }

    /// Which stored Merkle nodes the tile's hashes are (for an entry bundle,
    /// which leaves): their Merkle level (`8L`) and the first node index
    /// (`N * 256`); the tile holds `width` of them from there.
    pub fn nodes(&self) -> Option<(u32, u64)> {
        Some((HEIGHT * self.level(), self.index.checked_mul(WIDTH)?))
    }

    /// The leaves `[start, end)` the tile's hashes span; `None` past `u64`.
    pub fn leaves(&self) -> Option<(u64, u64)> {
        let per_hash = 1u64.checked_shl(HEIGHT * self.level())?;
        let (_, first) = self.nodes()?;
        let start = first.checked_mul(per_hash)?;
        let end = first.checked_add(self.width)?.checked_mul(per_hash)?;
        Some((start, end))
    }

    /// Whether a tree of `size` leaves holds every hash of this tile. Partial
    /// tiles of a smaller width than the tree's (those of earlier tree sizes)
    /// are held too: their hashes never change.
    pub fn within(&self, size: u64) -> bool {
        self.leaves().is_some_and(|(_, end)| end <= size)
    }
}

/// The width of the rightmost (partial) tile of `level` in a tree of `size`
/// (`floor(size / 256^level) mod 256`); 0 if that tile would be empty.
pub fn partial_width(size: u64, level: u32) -> u64 {
    match 1u64.checked_shl(HEIGHT * level) {
        Some(per) => (size / per) % WIDTH,
        None => 0,
    }
}

/// A hash tile's bytes: the hashes, concatenated.
pub fn hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// An entry longer than an entry bundle can hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {position} of the bundle is {len} bytes, more than a uint16 length allows")]
pub struct TooLong {
    pub position: usize,
    pub len: usize,
}

/// An entry bundle's bytes: each entry as a big-endian `u16` length and its bytes.
pub fn entry_bundle<B: AsRef<[u8]>>(entries: &[B]) -> Result<Vec<u8>, TooLong> {
    let total: usize = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (position, e) in entries.iter().enumerate() {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| TooLong {
            position,
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Split an entry bundle back into its entries; `None` if it is malformed.
pub fn split_bundle(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return None;
        }
        let (entry, rest) = rest.split_at(len);
        out.push(entry);
        bytes = rest;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(level: u32, index: u64, width: u64) -> Tile {
        Tile {
            kind: Kind::Hashes { level },
            index,
            width,
        }
    }

    #[test]
    fn the_specs_index_example() {
        // tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(parse_index("x001/x234/067"), Some(1234067));
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(5), "005");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1_000_000), "x001/x000/000");
        assert_eq!(encode_index(u64::MAX), "x018/x446/x744/x073/x709/x551/615");
        for n in [0, 1, 7, 255, 256, 999, 1000, 1001, 65536, 1234067, u64::MAX] {
            assert_eq!(parse_index(&encode_index(n)), Some(n), "{n}");
        }
    }

    #[test]
    fn only_the_canonical_index_parses() {
        for bad in [
            "",
            "5",
            "05",
            "0005",
            "x005",
            "x000/005",
            "001/234",
            "x1/234",
            "x001/x234",
            "x001/234/",
            "/005",
            "x001//005",
            "abc",
            "00a",
            "-01",
            "+01",
            "x001/x234/067/",
            "X001/234",
            "x018/x446/x744/x073/x709/x551/616", // u64::MAX + 1
            "x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            assert_eq!(parse_index(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn paths_parse_and_print() {
        let cases = [
            ("0/x001/x234/067", hashes(0, 1234067, 256)),
            ("0/x001/x234/067.p/8", hashes(0, 1234067, 8)),
            ("1/000", hashes(1, 0, 256)),
            ("2/000.p/1", hashes(2, 0, 1)),
            ("63/000.p/255", hashes(63, 0, 255)),
            (
                "entries/x001/x234/067.p/255",
                Tile {
                    kind: Kind::Entries,
                    index: 1234067,
                    width: 255,
                },
            ),
            (
                "entries/000",
                Tile {
                    kind: Kind::Entries,
                    index: 0,
                    width: 256,
                },
            ),
        ];
        for (path, tile) in cases {
            assert_eq!(Tile::parse(path), Ok(tile), "{path}");
            assert_eq!(tile.path(), format!("tile/{path}"));
        }
    }

    #[test]
    fn bad_paths_are_refused() {
        for bad in [
            "64/000",
            "00/000",
            "01/000",
            "-1/000",
            "a/000",
            "/000",
            "0",
            "0/",
            "entries",
            "entries/",
            "0/000.p/0",
            "0/000.p/256",
            "0/000.p/08",
            "0/000.p/",
            "0/000.p",
            "0/000.p/1/2",
            "0/000.p/1.p/2",
            "0/000/.p/1",
            "0/0.p/1",
            "data/000",
            "0/000.P/1",
            "0/000.p/1/",
            "0/000 ",
            " 0/000",
        ] {
            assert!(Tile::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_specs_tree_of_70000() {
        // tlog-tiles: a tree of 70,000 has 273 full level-0 tiles, a partial
        // level-0 tile of width 112, one full level-1 tile, a partial level-1
        // tile of width 17 and a partial level-2 tile of width 1.
        let size = 70_000;
        assert_eq!(partial_width(size, 0), 112);
        assert_eq!(partial_width(size, 1), 17);
        assert_eq!(partial_width(size, 2), 1);
        assert_eq!(partial_width(size, 3), 0);
        assert!(hashes(0, 272, 256).within(size));
        assert!(!hashes(0, 273, 256).within(size));
        assert!(hashes(0, 273, 112).within(size));
        assert!(!hashes(0, 273, 113).within(size));
        assert!(hashes(1, 0, 256).within(size));
        assert!(!hashes(1, 1, 256).within(size));
        assert!(hashes(1, 1, 17).within(size));
        assert!(!hashes(1, 1, 18).within(size));
        assert!(hashes(2, 0, 1).within(size));
        assert!(!hashes(2, 0, 2).within(size));
        assert!(!hashes(3, 0, 1).within(size));
        // "a tree of size 256 will be represented by a full level 0 tile and a
        // partial level 1 tile of width 1."
        assert!(hashes(0, 0, 256).within(256));
        assert_eq!(partial_width(256, 0), 0);
        assert_eq!(partial_width(256, 1), 1);
        assert!(hashes(1, 0, 1).within(256));
        assert!(!hashes(0, 1, 1).within(256));
    }

    #[test]
    fn tiles_name_their_nodes_and_leaves() {
        let t = hashes(1, 3, 17);
        assert_eq!(t.nodes(), Some((8, 3 * 256)));
        assert_eq!(t.leaves(), Some((3 * 65536, (3 * 256 + 17) * 256)));
        let e = Tile {
            kind: Kind::Entries,
            index: 2,
            width: 5,
        };
        assert_eq!(e.nodes(), Some((0, 512)));
        assert_eq!(e.leaves(), Some((512, 517)));
        // Past u64: never within any tree.
        assert_eq!(hashes(8, 0, 1).leaves(), None);
        assert!(!hashes(63, 0, 1).within(u64::MAX));
        assert!(!hashes(0, u64::MAX, 256).within(u64::MAX));
    }

    #[test]
    fn bundles_are_length_prefixed() {
        let b = entry_bundle(&[b"ab".as_slice(), b"", b"xyz"]).unwrap();
        assert_eq!(b, b"\x00\x02ab\x00\x00\x00\x03xyz");
        assert_eq!(
            split_bundle(&b).unwrap(),
            vec![b"ab".as_slice(), b"", b"xyz"]
        );
        let big = vec![7u8; 300];
        let b = entry_bundle(&[&big]).unwrap();
        assert_eq!(&b[..2], &[0x01, 0x2c]);
        assert_eq!(split_bundle(&b).unwrap(), vec![big.as_slice()]);
        let too_long = vec![0u8; 65536];
        assert_eq!(
            entry_bundle(&[b"a".as_slice(), &too_long]),
            Err(TooLong {
                position: 1,
                len: 65536
            })
        );
        assert!(entry_bundle(&[vec![0u8; 65535]]).is_ok());
        assert_eq!(split_bundle(b"\x00\x03ab"), None);
        assert_eq!(split_bundle(b"\x00"), None);
        assert_eq!(hash_tile(&[[1; 32], [2; 32]]).len(), 64);
    }
}
