//! Whole blocks copied as bytes from one log to another (`replica`): the copy's segment
//! files are the original's, byte for byte, and bytes that do not continue the copy's
//! chain are refused naming the block.

use std::fs;

use exops_log::LogReader;
use exops_log::replica::{AppendBytesError, BlockError, Replica, check_block};
use exops_log::segment::ChainPosition;
use exops_log::store::SegmentWriter;

use crate::support::{build_log, segment_paths};

/// Every sealed block of `data_dir`, as its segment bytes.
fn block_bytes(data_dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut reader = LogReader::open(data_dir, 1).unwrap();
    let mut blocks = Vec::new();
    while let Some(block) = reader.next_raw_block() {
        let block = block.unwrap();
        assert_eq!(block.block_index(), blocks.len() as u64);
        blocks.push(block.segment_bytes().unwrap());
    }
    blocks
}

#[test]
fn blocks_copied_as_bytes_make_byte_identical_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (original, copy) = (dir.path().join("original"), dir.path().join("copy"));
    // A small segment limit, so the copy must roll over where the original did.
    let built = build_log(&original, 600, &[1, 3, 2, 5, 1, 4]);
    assert!(built.segments.len() > 2, "the test needs several segments");
    exops_log::init(&copy).unwrap();
    let mut writer = Replica::from_writer(SegmentWriter::open(&copy, 600).unwrap().0);
    for (index, bytes) in block_bytes(&original).iter().enumerate() {
        let block = writer.append(bytes).unwrap();
        assert_eq!(block.seal.block_index, index as u64);
        // The block's events decode back to what was written.
        let mut decoded: Vec<exops_core::Envelope> = Vec::new();
        block.decode_into(&mut decoded).unwrap();
        let range = (block.seal.first_seq - 1) as usize..block.seal.last_seq as usize;
        assert_eq!(decoded, built.envelopes[range]);
    }
    drop(writer);
    let (left, right) = (segment_paths(&original), segment_paths(&copy));
    assert_eq!(left.len(), right.len());
    for (left, right) in left.iter().zip(&right) {
        assert_eq!(left.file_name(), right.file_name());
        assert_eq!(fs::read(left).unwrap(), fs::read(right).unwrap(), "{} differs", right.display());
    }
}

#[test]
fn bytes_that_do_not_continue_the_chain_are_refused_naming_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let (original, other) = (dir.path().join("original"), dir.path().join("other"));
    build_log(&original, 1 << 20, &[1, 2, 2]);
    build_log(&other, 1 << 20, &[2, 1, 2]);
    let blocks = block_bytes(&original);
    let forked = block_bytes(&other);
    let genesis = ChainPosition::GENESIS;
    let after_first = check_block(&genesis, &blocks[0]).unwrap();
    let position = ChainPosition {
        next_seq: after_first.seal.last_seq + 1,
        next_block: 1,
        prev_hash: after_first.seal.hash,
        last_at_micros: Some(after_first.last_at_micros),
    };
    // Out of order: block 2 where block 1 is due.
    assert!(matches!(check_block(&position, &blocks[2]), Err(BlockError::Chain { block: 1, .. })));
    // Block 0 again (a replay of the first message).
    assert!(matches!(check_block(&position, &blocks[0]), Err(BlockError::Chain { block: 1, .. })));
    // Every single flipped bit of block 1 is refused.
    for bit in 0..blocks[1].len() * 8 {
        let mut flipped = blocks[1].clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(check_block(&position, &flipped).is_err(), "bit {bit} flipped unnoticed");
    }
    // A cut block: no seal.
    let cut = &blocks[1][..blocks[1].len() - 136];
    assert!(
        matches!(check_block(&position, cut), Err(BlockError::Shape { block: 1, .. })),
        "{:?}",
        check_block(&position, cut)
    );
    // `other` has the same events up to seq 3 in other blocks, so its block 2 (seqs 4..=5)
    // has the index and sequence numbers the copy expects after block 1, but another
    // previous hash: a fork.
    let copy = dir.path().join("copy");
    exops_log::init(&copy).unwrap();
    let (mut writer, _) = Replica::open(&copy).unwrap();
    writer.append(&blocks[0]).unwrap();
    writer.append(&blocks[1]).unwrap();
    let refused = writer.append(&forked[2]).unwrap_err();
    assert!(matches!(refused, AppendBytesError::Block(BlockError::Chain { block: 2, .. })), "{refused}");
    assert!(refused.to_string().ends_with(": a fork"), "{refused}");
    let error = check_block(&writer.position(), &blocks[1]).unwrap_err().to_string();
    assert_eq!(error, "block 2: holds seq 2 where the log continues at seq 4");
    // What was refused left the copy as it was, and the right block still goes on.
    writer.append(&blocks[2]).unwrap();
}
