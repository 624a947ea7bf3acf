//! The C2SP `tlog-tiles` read API's use cases: the newest signed checkpoint,
//! and hash tiles and entry bundles of the tree it signs. Nothing is signed or
//! written here (the reads are public); a tile is served only if the newest
//! signed checkpoint's tree holds all of it, so every tile served is
//! consistent with a checkpoint a client can fetch.

use crate::core::ledger::leaf_hash;
use crate::core::tiles::{self, Kind, Tile};
use crate::service::checkpoint;
use crate::service::cosign;
use crate::service::error::{ServiceError, ServiceResult};
use crate::store::db::{read_tx, DbConn};
use crate::store::ledger as entries;
use crate::store::tree;

/// The newest signed checkpoint note, with the witness cosignatures gathered
/// so far (the note `GET /v1/ledger/checkpoint` serves, without signing a new one).
pub fn checkpoint_note(conn: &mut DbConn) -> ServiceResult<String> {
    read_tx(conn, |conn| {
        let newest = checkpoint::newest(conn)?
            .ok_or_else(|| ServiceError::NotFound("no checkpoint has been signed yet".into()))?;
        cosign::with_cosignatures(conn, newest.size, &newest.note)
    })
}

/// The bytes of `tile`, if the newest signed checkpoint's tree holds it.
pub fn tile(conn: &mut DbConn, tile: Tile) -> ServiceResult<Vec<u8>> {
    read_tx(conn, |conn| {
        let size = checkpoint::newest(conn)?.map_or(0, |c| c.size.max(0) as u64);
        if !tile.within(size) {
            return Err(ServiceError::NotFound(format!(
                "no {} in the tree of the newest checkpoint (size {size})",
                tile.path()
            )));
        }
        let (level, first) = tile
            .nodes()
            .ok_or_else(|| ServiceError::Internal(format!("{} out of range", tile.path())))?;
        let missing = |e: diesel::result::Error| match e {
            diesel::result::Error::NotFound => ServiceError::Internal(format!(
                "{} is within the checkpoint of size {size}, but the stored tree lacks part of it",
                tile.path()
            )),
            other => other.into(),
        };
        match tile.kind {
            Kind::Hashes { .. } => {
                let hashes = tree::tile_hashes(conn, level, first, tile.width).map_err(missing)?;
                Ok(tiles::hash_tile(&hashes))
            }
            Kind::Entries => {
                let bytes = entry_bytes(conn, first, tile.width)?;
                tiles::entry_bundle(&bytes)
                    .map_err(|e| ServiceError::Internal(format!("{}: {e}", tile.path())))
            }
        }
    })
}

/// The canonical bytes of entries `from..from + count` (each one's RFC 9162
/// leaf preimage), read in one query.
fn entry_bytes(conn: &mut DbConn, from: u64, count: u64) -> ServiceResult<Vec<String>> {
    let start = i64::try_from(from)
        .map_err(|_| ServiceError::Internal("entry index out of range".into()))?;
    let list = entries::entries(conn, None, start, count as i64)?;
    if list.len() as u64 != count {
        return Err(ServiceError::Internal(format!(
            "entries {from}..{} are within the checkpoint, but {} are stored",
            from + count,
            list.len()
        )));
    }
    list.iter()
        .zip(start..)
        .map(|(e, want)| {
            if e.entry.seq != want {
                return Err(ServiceError::Internal(format!("entry {want} is missing")));
            }
            let bytes = e.entry.canonical_bytes().map_err(ServiceError::Internal)?;
            // The leaf in the tree is the stored `entry_hash` (invariant 8); an
            // entry whose bytes do not hash to it is not served as if it did.
            if leaf_hash(bytes.as_bytes()) != e.entry.entry_hash {
                return Err(ServiceError::Internal(format!(
                    "entry {want} does not hash to its entry_hash"
                )));
            }
            Ok(bytes)
        })
        .collect()
}
