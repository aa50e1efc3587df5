//! The per-customer arrays of a snapshot as bytes (the state's serde form leaves them
//! out): the count of last ids (u32 LE), each last id as an unsigned LEB128 varint (ids
//! are small, so mostly one or two bytes), the count of affected-bitmap words (u32 LE),
//! the words (u64 LE), and the affected count (u64 LE). Snapshot format 4 on.

use exops_core::CustomerArrays;

/// Appends `arrays` to `out`.
pub fn encode(arrays: &CustomerArrays, out: &mut Vec<u8>) {
    out.reserve(arrays.last_event_id.len() + arrays.affected_bits.len() * 8 + 16);
    out.extend_from_slice(&(arrays.last_event_id.len() as u32).to_le_bytes());
    for &id in &arrays.last_event_id {
        let mut rest = id;
        while rest >= 0x80 {
            out.push((rest as u8) | 0x80);
            rest >>= 7;
        }
        out.push(rest as u8);
    }
    out.extend_from_slice(&(arrays.affected_bits.len() as u32).to_le_bytes());
    for word in &arrays.affected_bits {
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.extend_from_slice(&arrays.affected_count.to_le_bytes());
}

/// The arrays `bytes` hold, all of them; on malformed bytes, says what and at which
/// offset.
pub fn decode(bytes: &[u8]) -> Result<CustomerArrays, String> {
    let mut input = bytes;
    let mut take = |count: usize, what: &str| -> Result<&[u8], String> {
        if input.len() < count {
            return Err(format!("customer data ends inside {what} (offset {})", bytes.len() - input.len()));
        }
        let (head, tail) = input.split_at(count);
        input = tail;
        Ok(head)
    };
    let count = |bytes: &[u8]| u32::from_le_bytes(bytes.try_into().expect("four bytes")) as usize;
    let ids = count(take(4, "the count of last ids")?);
    let mut last_event_id = Vec::with_capacity(ids.min(bytes.len()));
    for _ in 0..ids {
        let mut id = 0_u64;
        let mut shift = 0;
        loop {
            let byte = take(1, "a last id")?[0];
            if shift == 63 && byte > 1 || shift > 63 {
                return Err("a last id does not fit in 64 bits".to_owned());
            }
            id |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        last_event_id.push(id);
    }
    let words = count(take(4, "the count of bitmap words")?);
    let affected_bits = take(words.checked_mul(8).ok_or("too many bitmap words")?, "the bitmap")?
        .chunks_exact(8)
        .map(|word| u64::from_le_bytes(word.try_into().expect("eight bytes")))
        .collect();
    let affected_count = u64::from_le_bytes(take(8, "the affected count")?.try_into().expect("eight bytes"));
    if !input.is_empty() {
        return Err(format!("{} bytes left over after the customer data", input.len()));
    }
    Ok(CustomerArrays { last_event_id, affected_bits, affected_count })
}
