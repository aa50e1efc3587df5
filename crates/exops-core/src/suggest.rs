//! "Did you mean …?": the closest of the names a venue or a format knows to one a user
//! typed, so that every "unknown name" error can point at the likely intended one.

/// How alike two names must be (Jaro–Winkler, 0 to 1) before one is suggested for the
/// other: close enough for a typo or a wrong case, far enough that unrelated names stay
/// silent.
const SIMILARITY_MIN: f64 = 0.8;

/// The candidate most like `word` (ignoring case), if any is alike enough; on a tie, the
/// first in `candidates`' order, so the answer is deterministic.
///
/// ```
/// assert_eq!(exops_core::closest("withdrawls", ["deposits", "withdrawals"]), Some("withdrawals"));
/// assert_eq!(exops_core::closest("btc", ["BTC", "ETH"]), Some("BTC"));
/// assert_eq!(exops_core::closest("DOGE", ["BTC", "ETH"]), None);
/// ```
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(&word, &candidate.to_lowercase());
        if score >= SIMILARITY_MIN && best.is_none_or(|(best_score, _)| score > best_score) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `"; did you mean `X`?"` when a candidate is close to `word`, else an empty string: ready
/// to append to an error message.
///
/// ```
/// assert_eq!(exops_core::did_you_mean("hold_place", ["hold_placed", "hold_lifted"]), "; did you mean `hold_placed`?");
/// assert_eq!(exops_core::did_you_mean("zzz", ["hold_placed"]), "");
/// ```
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(word, candidates) {
        Some(candidate) if candidate != word => format!("; did you mean `{candidate}`?"),
        _ => String::new(),
    }
}
