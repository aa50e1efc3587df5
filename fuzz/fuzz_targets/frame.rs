//! The frame and block decoders over arbitrary bytes: `parse_frame` one frame after
//! another, `checked_frames` over what it accepted, the segment header and seal bodies,
//! and `replica::check_block` (what a replica runs on a block from the network). No
//! panic; a frame that parses is framed again to the very same bytes; a block that checks
//! holds what its seal says.
//!
//! The first byte chooses: bit 0 mends the checksums and chain hashes (see
//! `exops_fuzz::mend_frames`), bit 1 checks the block against the chain position its
//! own seal names instead of the start of the log.
#![no_main]

use exops_log::frame::{FRAME_HEADER_BYTES, FrameKind, checked_frames, parse_frame, write_frame};
use exops_log::replica::check_block;
use exops_log::segment::{ChainPosition, SEAL_BODY_BYTES, Seal, SegmentHeader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else { return };
    let mut bytes = rest.to_vec();
    let position = match mode & 2 {
        0 => ChainPosition::GENESIS,
        _ => last_seal(&bytes).map_or(ChainPosition::GENESIS, |seal| ChainPosition {
            next_seq: seal.first_seq,
            next_block: seal.block_index,
            prev_hash: seal.prev_hash,
            last_at_micros: None,
        }),
    };
    if mode & 1 == 1 {
        exops_fuzz::mend_frames(&mut bytes, 0, Some(position.prev_hash));
    }

    if let Ok(header) = SegmentHeader::decode(&bytes) {
        assert_eq!(SegmentHeader::decode(&header.encode()), Ok(header), "a segment header encodes back");
    }

    let mut offset = 0;
    let mut frames = 0;
    while let Ok((header, body)) = parse_frame(&bytes[offset..]) {
        assert_eq!(header.frame_len(), FRAME_HEADER_BYTES + body.len());
        let mut again = Vec::new();
        write_frame(&mut again, header.kind, header.schema_version, header.seq, header.at_micros, body);
        assert_eq!(again, bytes[offset..offset + header.frame_len()], "a frame that parses is framed the same again");
        if header.kind == FrameKind::Seal
            && let Some(seal) = Seal::decode(body)
        {
            assert_eq!(Seal::decode(&seal.encode()), Some(seal), "a seal encodes back");
        }
        offset += header.frame_len();
        frames += 1;
    }
    assert_eq!(checked_frames(&bytes[..offset]).count(), frames, "checked_frames walks the frames parse_frame read");

    if let Ok(block) = check_block(&position, &bytes) {
        assert_eq!(block.records.len() as u64, u64::from(block.seal.record_count));
        assert_eq!(block.seal.block_index, position.next_block);
        assert_eq!(block.seal.first_seq, position.next_seq);
        let mut events: Vec<exops_core::Record> = Vec::new();
        if block.decode_into(&mut events).is_ok() {
            assert_eq!(events.len(), block.records.len(), "every record decodes to one event");
        }
    }
});

/// The seal the bytes end with, if they end with a seal-sized frame body that is one.
fn last_seal(bytes: &[u8]) -> Option<Seal> {
    let start = bytes.len().checked_sub(SEAL_BODY_BYTES)?;
    Seal::decode(&bytes[start..])
}
