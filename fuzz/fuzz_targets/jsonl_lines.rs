//! The JSON Lines decoder over arbitrary bytes, as a whole text: no panic, and every line
//! is either an event or an error naming its line. The first line of the small venue is
//! put in front half the time, so that customer operations are decoded too.
#![no_main]

use libfuzzer_sys::fuzz_target;

const VENUE: &str = r#"{"seq":1,"at":"2024-01-01T00:00:00Z","id":1,"actor":"system:setup","kind":"venue_declared","name":"Fuzz","assets":[{"code":"JPY","class":"fiat","decimals":0,"liabilities_minor":1000,"hot_minor":500,"cold_minor":500},{"code":"BTC","class":"crypto","decimals":8,"networks":["btc","lightning"],"liabilities_minor":1000,"hot_minor":300,"cold_minor":700}],"markets":["BTC/JPY"],"margin":true,"approvals_required":["ciso"]}"#;

fuzz_target!(|bytes: &[u8]| {
    let with_venue = bytes.first().is_some_and(|byte| byte & 1 == 1);
    let mut text = Vec::with_capacity(bytes.len() + VENUE.len() + 1);
    if with_venue {
        text.extend_from_slice(VENUE.as_bytes());
        text.push(b'\n');
    }
    text.extend_from_slice(bytes);
    let mut state = exops_core::State::new();
    for line in exops_jsonl::Reader::new("fuzz", text.as_slice()) {
        match line {
            Ok(line) => {
                let _ = state.apply(&line.envelope);
            }
            Err(error) => assert!(error.line >= 1, "an error names its line: {error}"),
        }
    }
});
