//! What the fuzz targets of the log's decoders share: mending the checksums and chain
//! hashes of bytes the fuzzer made, so that it gets past them to the structure behind
//! (a checksum is a wall a mutation almost never climbs), and putting a segment on a
//! simulated disk in memory, so that no input touches the real file system.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use exops_log::codec::BODY_BYTES_MAX;
use exops_log::frame::FRAME_HEADER_BYTES;
use exops_log::segment::{HASH_BYTES, Hash, SEAL_BODY_BYTES, SEGMENT_HEADER_BYTES, block_hash};
use exops_log::sim_storage::SimStorage;
use exops_log::storage::Storage;

/// The data directory of the simulated disk (never a real path).
pub const DATA_DIR: &str = "/exops-fuzz";

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// Recomputes the CRC32C of a frame header (bytes 0..32 and 36..40) in place.
fn mend_frame_header(header: &mut [u8]) {
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header[..32]), &header[36..FRAME_HEADER_BYTES]);
    header[32..36].copy_from_slice(&crc.to_le_bytes());
}

/// Mends every frame of `bytes` from `start` on, as far as their length fields let them
/// be found: each body checksum and header checksum, and in each seal frame (kind 2 with
/// a seal-sized body) the previous hash and the hash of the block before it, chained from
/// `chain` (`None`: from the previous hash the first seal holds). Everything else (magic,
/// kind, versions, sequence numbers, counts) is left as the fuzzer made it.
pub fn mend_frames(bytes: &mut [u8], start: usize, chain: Option<Hash>) {
    let mut offset = start;
    let mut block_start = start;
    let mut prev_hash = chain;
    while bytes.len() - offset >= FRAME_HEADER_BYTES {
        let body_len = u32_at(bytes, offset + 8) as usize;
        let end = offset + FRAME_HEADER_BYTES + body_len;
        if body_len > BODY_BYTES_MAX || end > bytes.len() {
            return;
        }
        let body_start = offset + FRAME_HEADER_BYTES;
        if bytes[offset + 4] == 2 && body_len == SEAL_BODY_BYTES {
            let previous = *prev_hash.get_or_insert_with(|| {
                bytes[body_start + 32..body_start + 32 + HASH_BYTES].try_into().expect("32 bytes")
            });
            let hash = block_hash(&previous, &bytes[block_start..offset]);
            bytes[body_start + 32..body_start + 64].copy_from_slice(&previous);
            bytes[body_start + 64..body_start + 96].copy_from_slice(&hash);
            prev_hash = Some(hash);
            block_start = end;
        }
        let body_crc = crc32c::crc32c(&bytes[body_start..end]);
        bytes[offset + 12..offset + 16].copy_from_slice(&body_crc.to_le_bytes());
        mend_frame_header(&mut bytes[offset..body_start]);
        offset = end;
    }
}

/// Mends a segment file: its header's checksum (bytes 0..12 and 16..72), then its frames,
/// chained from the previous hash its header holds.
pub fn mend_segment(bytes: &mut [u8]) {
    if bytes.len() < SEGMENT_HEADER_BYTES {
        return;
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&bytes[..12]), &bytes[16..SEGMENT_HEADER_BYTES]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
    let chain: Hash = bytes[40..72].try_into().expect("32 bytes");
    mend_frames(bytes, SEGMENT_HEADER_BYTES, Some(chain));
}

/// Puts `bytes` on a fresh simulated disk as the only segment of a log in [`DATA_DIR`],
/// named for the first sequence number its header holds (1 when it is too short to hold one).
pub fn simulated_log(bytes: &[u8]) -> (SimStorage, Storage, PathBuf) {
    let disk = SimStorage::new(0);
    let storage = Storage::new(Arc::new(disk.clone()));
    let segments = Path::new(DATA_DIR).join(exops_log::store::SEGMENTS_DIR);
    storage.create_dir_all(&segments).expect("a directory on a healthy simulated disk");
    let first_seq = bytes.get(24..32).map_or(1, |seq| u64::from_le_bytes(seq.try_into().expect("eight bytes")));
    let path = segments.join(format!("{first_seq:020}.seg"));
    disk.overwrite(&path, Some(bytes.to_vec()));
    (disk, storage, path)
}
