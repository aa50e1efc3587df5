//! The selector parser over arbitrary text, then resolution against a small venue: no
//! panic, and a parsed selector prints back to text that parses to the same selector.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(selector) = exops_core::Selector::parse(text) {
        let printed = selector.to_string();
        assert_eq!(exops_core::Selector::parse(&printed).ok(), Some(selector.clone()), "{text:?} → {printed:?}");
        let venue = small_venue();
        let _ = selector.resolve(&venue);
    }
});

fn small_venue() -> exops_core::Venue {
    let line = r#"{"seq":1,"at":"2024-01-01T00:00:00Z","id":1,"actor":"system:setup","kind":"venue_declared","name":"Fuzz","assets":[{"code":"JPY","class":"fiat","decimals":0,"liabilities_minor":1000,"hot_minor":500,"cold_minor":500},{"code":"USDT","class":"crypto","decimals":6,"networks":["tron","ethereum"],"liabilities_minor":1000,"hot_minor":300,"cold_minor":700}],"markets":["USDT/JPY"],"margin":true,"approvals_required":["ciso"]}"#;
    let lines = exops_jsonl::parse_str("venue", line).expect("the venue parses");
    match &lines[0].envelope.event {
        exops_core::Event::VenueDeclared(spec) => exops_core::Venue::from_spec(spec).expect("the venue is valid"),
        _ => unreachable!("the first line declares the venue"),
    }
}
