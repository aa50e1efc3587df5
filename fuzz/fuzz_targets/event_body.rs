//! The event body codec over arbitrary bytes, with each schema version this build reads
//! (the older ones are upcast) and two it must refuse (0, and the one after today's): no
//! panic; a body that decodes is an event that encodes in today's version and decodes
//! back to the same event.
//!
//! The first byte chooses the schema version (its value modulo today's version + 2).
#![no_main]

use exops_core::Timestamp;
use exops_log::codec::{EVENT_SCHEMA_VERSION, decode_body, encode_body};
use libfuzzer_sys::fuzz_target;

/// 2019-07-12T00:00:00Z: the instant every body is decoded at (the frame header holds it).
const AT: Timestamp = Timestamp::from_unix_micros(1_562_889_600_000_000);

fuzz_target!(|input: &[u8]| {
    let Some((&version, body)) = input.split_first() else { return };
    let schema_version = u16::from(version) % (EVENT_SCHEMA_VERSION + 2);
    match decode_body(schema_version, 7, AT, body) {
        Ok(envelope) => {
            assert!((1..=EVENT_SCHEMA_VERSION).contains(&schema_version), "version {schema_version} is refused");
            assert_eq!((envelope.seq, envelope.at), (7, AT), "seq and instant come from the header");
            let mut again = Vec::new();
            encode_body(&envelope, &mut again).expect("a decoded event encodes");
            assert_eq!(decode_body(EVENT_SCHEMA_VERSION, 7, AT, &again).as_ref(), Ok(&envelope), "it decodes back");
        }
        Err(error) => assert!(error.message.contains("seq 7"), "the error names the event: {error}"),
    }
});
