//! The rules version: which numbers this build knows, how a declaration carries one, and
//! that the state folds with (and keeps) the version its log declared.

use exops_core::{Actor, Envelope, Event, Outcome, RULES_VERSION, RulesVersion, RulesVersionError, State, Timestamp};

fn declared(spec: exops_core::VenueSpec) -> Envelope {
    Envelope {
        seq: 1,
        at: Timestamp::from_unix_micros(1_700_000_000_000_000),
        id: 1,
        actor: Actor::System("setup".to_owned()),
        event: Event::VenueDeclared(spec),
        note: None,
    }
}

#[test]
fn every_version_up_to_the_current_one_is_known_and_no_other() {
    for version in 1..=RULES_VERSION {
        assert_eq!(RulesVersion::new(version).map(RulesVersion::get), Ok(version));
    }
    assert_eq!(RulesVersion::CURRENT.get(), RULES_VERSION);
    assert_eq!(RulesVersion::new(0), Err(RulesVersionError::Zero));
    let newer = RULES_VERSION + 1;
    let error = RulesVersion::new(newer).unwrap_err();
    assert_eq!(error, RulesVersionError::Newer { found: newer });
    let message = error.to_string();
    assert!(message.contains(&format!("rules version {newer} is newer than this build")), "{message}");
    assert!(message.contains(&format!("folds rules versions 1 to {RULES_VERSION}")), "{message}");
}

#[test]
fn a_declaration_without_rules_is_version_1_and_version_1_is_left_unsaid() {
    let text = r#"{"name":"Tiny","assets":[{"code":"JPY","class":"fiat","decimals":0}],"markets":[]}"#;
    let spec: exops_core::VenueSpec = serde_json::from_str(text).unwrap();
    assert_eq!(spec.rules, RulesVersion::FIRST);
    let rendered = serde_json::to_string(&spec).unwrap();
    assert!(!rendered.contains("rules"), "{rendered}");
    let explicit: exops_core::VenueSpec =
        serde_json::from_str(&text.replace(r#""markets":[]"#, r#""markets":[],"rules":1"#)).unwrap();
    assert_eq!(explicit, spec);
}

#[test]
fn a_declaration_of_a_newer_version_is_refused_naming_the_versions_this_build_folds() {
    let text = format!(
        r#"{{"name":"Tiny","assets":[{{"code":"JPY","class":"fiat","decimals":0}}],"markets":[],"rules":{}}}"#,
        RULES_VERSION + 1
    );
    let error = serde_json::from_str::<exops_core::VenueSpec>(&text).unwrap_err().to_string();
    assert!(error.contains(&format!("rules version {} is newer than this build", RULES_VERSION + 1)), "{error}");
    assert!(error.contains(&format!("1 to {RULES_VERSION}")), "{error}");
}

#[test]
fn the_state_keeps_the_declared_version_through_its_serde_form() {
    let mut state = State::new();
    let outcome = state.apply(&declared(super::venue()));
    assert!(matches!(outcome, Outcome::Applied { .. }), "{outcome:?}");
    assert_eq!(state.rules(), RulesVersion::FIRST);
    let json = serde_json::to_string(&state).unwrap();
    assert!(json.contains(r#""rules":1"#), "the snapshot form carries the version: {json}");
    let back: State = serde_json::from_str(&json).unwrap();
    assert_eq!(back, state);
    // A snapshot of a state under rules this build lacks does not load.
    let newer = json.replace(r#""rules":1"#, &format!(r#""rules":{}"#, RULES_VERSION + 1));
    let error = serde_json::from_str::<State>(&newer).unwrap_err().to_string();
    assert!(error.contains("is newer than this build"), "{error}");
}
