//! "Did you mean …?": the closest of the names a venue or a format knows to one a user
//! typed, so that every "unknown name" error can point at the likely intended one.

/// Two names are alike when one is a typo of the other: at most one edit (insertion,
/// deletion, substitution or swap of neighbours) per four characters of the longer one,
/// or a Jaro–Winkler similarity this high (a long shared start, as in `trade` for
/// `trading`). Close enough for a typo or a wrong case; far enough that `ETH/JPY` does
/// not suggest `BTC/JPY`.
const JARO_WINKLER_MIN: f64 = 0.85;

fn alike(word: &str, candidate: &str) -> Option<f64> {
    let longer = word.chars().count().max(candidate.chars().count());
    let edits = strsim::damerau_levenshtein(word, candidate);
    let similarity = strsim::jaro_winkler(word, candidate);
    // Names of one or two characters are all one edit apart: no suggestion among them.
    let edits_max = (longer / 4).max(usize::from(longer >= 3));
    (edits <= edits_max || similarity >= JARO_WINKLER_MIN).then_some(similarity)
}

/// The candidate most like `word` (ignoring case), if any is alike enough; on a tie, the
/// first in `candidates`' order, so the answer is deterministic.
///
/// ```
/// use exops_core::closest;
/// assert_eq!(closest("withdrawls", ["deposits", "withdrawals"]), Some("withdrawals"));
/// assert_eq!(closest("btc", ["BTC", "ETH"]), Some("BTC"));
/// assert_eq!(closest("BTX", ["ETH", "BTC"]), Some("BTC"));
/// assert_eq!(closest("trade", ["deposits", "trading"]), Some("trading"));
/// assert_eq!(closest("DOGE", ["BTC", "ETH"]), None);
/// assert_eq!(closest("ETH/JPY", ["BTC/JPY"]), None);
/// assert_eq!(closest("b", ["a", "c"]), None);
/// ```
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        if let Some(score) = alike(&word, &candidate.to_lowercase())
            && best.is_none_or(|(best_score, _)| score > best_score)
        {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// `" (did you mean `X`?)"` when a candidate is close to `word`, else an empty string:
/// ready to follow the unknown name in an error message.
///
/// ```
/// assert_eq!(exops_core::did_you_mean("hold_place", ["hold_placed", "hold_lifted"]), " (did you mean `hold_placed`?)");
/// assert_eq!(exops_core::did_you_mean("zzz", ["hold_placed"]), "");
/// ```
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(word, candidates) {
        Some(candidate) if candidate != word => format!(" (did you mean `{candidate}`?)"),
        _ => String::new(),
    }
}
