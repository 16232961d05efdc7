//! Finding the line of a list item or key in block-style YAML, for errors that serde cannot
//! place (semantic ones, found after parsing).

/// 1-based first lines of the items of the top-level list `section` (e.g. `spouts`).
pub(super) fn items(text: &str, section: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut indent = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let col = line.len() - trimmed.len();
        if col == 0 && !trimmed.starts_with('-') {
            inside = trimmed.strip_prefix(section).is_some_and(|r| r.trim_start().starts_with(':'));
            indent = None;
            continue;
        }
        if inside && (trimmed.starts_with("- ") || trimmed == "-") {
            match indent {
                None => {
                    indent = Some(col);
                    out.push(i + 1);
                }
                Some(c) if c == col => out.push(i + 1),
                _ => {}
            }
        }
    }
    out
}

/// 1-based line of the first occurrence of `needle` (0 if absent).
pub(super) fn find(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(0, |i| i + 1)
}

/// 1-based line of the top-level key `key` (0 if absent).
pub(super) fn key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with(':')))
        .map_or(0, |i| i + 1)
}

/// 1-based line of the first line at or after `from` (1-based) that contains every needle;
/// `from` itself when none does.
pub(super) fn find_from(text: &str, from: usize, needles: &[&str]) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| needles.iter().all(|n| l.contains(n)))
        .map_or(from, |(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_are_found_per_section() {
        let text = "name: x\nspouts:\n  - id: a\n    className: G\n  - id: b\nbolts:\n  - id: c\n";
        assert_eq!(super::items(text, "spouts"), vec![3, 5]);
        assert_eq!(super::items(text, "bolts"), vec![7]);
        assert_eq!(super::find(text, "id: c"), 7);
    }
}
