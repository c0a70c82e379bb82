//! "Did you mean" hints: the allowed word closest to a misspelt one.

/// The allowed key closest to a misspelt one (edit distance at most 2).
pub fn suggest<'k>(word: &str, allowed: &[&'k str]) -> Option<&'k str> {
    allowed.iter().map(|a| (edit_distance(word, a), *a)).filter(|(d, _)| *d <= 2).min().map(|(_, a)| a)
}

/// Levenshtein distance between two words, for "did you mean" hints (also
/// used by `sim check` and `sim sweep` for figure and key paths).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
