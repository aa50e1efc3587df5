//! Redactions: replace values a test cannot pin (instants, counts, names your own events
//! make volatile) before a view is rendered, with the same renderer as the CLI.

use serde::Serialize;
use serde_norway::Value;

/// A list of paths to replace, and what with. A path is `.`-separated keys from the
/// top of the value: `.at`, `.holds.maint.placed_at`; `*` matches every key of a map or
/// every element of a list: `.holds.*.placed_at`, `.phases.*.at`. Rendering panics if a
/// path matches nothing, so a typo (or a field renamed) cannot pass silently.
///
/// ```
/// use exops_testkit::{Fixture, Point, Redactions};
///
/// let fixture = Fixture::open(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/phased.jsonl"))
///     .unwrap();
/// let yaml = Redactions::new()
///     .redact(".at", "[instant]")
///     .redact(".services.*.since", "[instant]")
///     .yaml(&fixture.at(Point::Seq(1)).full());
/// assert!(yaml.contains("at: '[instant]'\n"), "{yaml}");
/// assert!(yaml.contains("  since: '[instant]'\n"), "{yaml}");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Redactions {
    rules: Vec<(String, String)>,
}

impl Redactions {
    /// No redaction: [`Redactions::yaml`] is then [`crate::yaml`].
    ///
    /// ```
    /// let view = exops_testkit::StateAt::new(exops_core::State::new()).full();
    /// assert_eq!(exops_testkit::Redactions::new().yaml(&view), exops_testkit::yaml(&view));
    /// ```
    pub fn new() -> Redactions {
        Redactions::default()
    }

    /// Adds a path to replace with `replacement` (a string in the output).
    ///
    /// ```
    /// let view = exops_testkit::StateAt::new(exops_core::State::new()).full();
    /// let yaml = exops_testkit::Redactions::new().redact(".seq", "[seq]").yaml(&view);
    /// assert!(yaml.starts_with("seq: '[seq]'\n"), "{yaml}");
    /// ```
    pub fn redact(mut self, path: &str, replacement: &str) -> Redactions {
        self.rules.push((path.to_owned(), replacement.to_owned()));
        self
    }

    /// The value with every path replaced, as a YAML value (in the value's own key
    /// order). Panics, naming the path, when a path matches nothing.
    ///
    /// ```
    /// let view = exops_testkit::StateAt::new(exops_core::State::new()).full();
    /// let value = exops_testkit::Redactions::new().redact(".venue", "x").apply(&view);
    /// assert_eq!(value["venue"], serde_norway::Value::String("x".to_owned()));
    /// ```
    pub fn apply(&self, value: &impl Serialize) -> Value {
        let mut value =
            serde_norway::to_value(value).unwrap_or_else(|error| panic!("exops-testkit: cannot redact: {error}"));
        for (path, replacement) in &self.rules {
            let segments: Vec<&str> = path.split('.').skip(1).collect();
            let valid = path.starts_with('.') && segments.iter().all(|segment| !segment.is_empty());
            assert!(valid, "exops-testkit: redaction path `{path}` must be `.key`, `.key.key`, or `*` for any key");
            let replaced = replace(&mut value, &segments, replacement);
            assert!(replaced > 0, "exops-testkit: redaction path `{path}` matches nothing in the value");
        }
        value
    }

    /// [`Redactions::apply`], rendered with [`crate::yaml`]'s renderer.
    ///
    /// ```
    /// let view = exops_testkit::StateAt::new(exops_core::State::new()).full();
    /// let yaml = exops_testkit::Redactions::new().redact(".events.applied", "[n]").yaml(&view);
    /// assert!(yaml.contains("  applied: '[n]'\n"), "{yaml}");
    /// ```
    pub fn yaml(&self, value: &impl Serialize) -> String {
        crate::yaml(&self.apply(value))
    }
}

/// Replaces what `segments` reach inside `value`; returns how many values it replaced.
fn replace(value: &mut Value, segments: &[&str], replacement: &str) -> usize {
    let Some((first, rest)) = segments.split_first() else {
        *value = Value::String(replacement.to_owned());
        return 1;
    };
    match value {
        Value::Mapping(map) if *first == "*" => map.values_mut().map(|child| replace(child, rest, replacement)).sum(),
        Value::Mapping(map) => map.get_mut(*first).map_or(0, |child| replace(child, rest, replacement)),
        Value::Sequence(items) if *first == "*" => {
            items.iter_mut().map(|child| replace(child, rest, replacement)).sum()
        }
        _ => 0,
    }
}
