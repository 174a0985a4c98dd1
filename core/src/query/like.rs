//! LIKE patterns: parsed once, matched the same way PostgreSQL and SQLite do.

/// One piece of a parsed LIKE pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LikePiece {
    /// This character, literally.
    Literal(char),
    /// `_`: exactly one character.
    AnyOne,
    /// `%`: any run of characters, none included.
    AnyRun,
}

/// A parsed LIKE pattern: case-sensitive; `%` matches any run of characters (none
/// included), `_` exactly one character, and `\` makes the next character literal.
///
/// ```
/// use plinth::backend::LikePattern;
/// let p = LikePattern::parse("a\\%b_%")?;
/// assert!(p.matches("a%bcdef"));
/// assert!(!p.matches("aXbc"));
/// assert!(!LikePattern::parse("A%")?.matches("abc"));
/// # Ok::<(), &'static str>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LikePattern {
    tokens: Vec<LikePiece>,
}

impl LikePattern {
    /// Parses `pattern`; a trailing lone `\` is refused with a description.
    pub fn parse(pattern: &str) -> Result<Self, &'static str> {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '%' => LikePiece::AnyRun,
                '_' => LikePiece::AnyOne,
                '\\' => LikePiece::Literal(
                    chars.next().ok_or("a LIKE pattern may not end with a lone `\\`; write `\\\\` for a backslash")?,
                ),
                c => LikePiece::Literal(c),
            });
        }
        Ok(LikePattern { tokens })
    }

    /// The pattern's pieces, escapes resolved (for backends that translate patterns).
    pub fn pieces(&self) -> impl Iterator<Item = LikePiece> + '_ {
        self.tokens.iter().copied()
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut t, mut p) = (0, 0);
        // Where the last `%` was and which text position it currently swallows up to.
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(LikePiece::AnyRun) => {
                    backtrack = Some((p, t));
                    p += 1;
                }
                Some(LikePiece::AnyOne) => {
                    t += 1;
                    p += 1;
                }
                Some(LikePiece::Literal(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match backtrack {
                    Some((star, swallowed)) => {
                        backtrack = Some((star, swallowed + 1));
                        p = star + 1;
                        t = swallowed + 1;
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|token| *token == LikePiece::AnyRun)
    }
}

/// Escapes `%`, `_` and `\` in `text`, so it matches literally inside a LIKE pattern:
/// `format!("%{}%", like_escape(input))` finds `input` anywhere.
///
/// ```
/// assert_eq!(plinth::like_escape("100%_sure\\"), "100\\%\\_sure\\\\");
/// ```
pub fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(text: &str, pattern: &str) -> bool {
        LikePattern::parse(pattern).map(|p| p.matches(text)).unwrap_or(false)
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        assert!(like("", "%"));
        assert!(like("abc", "a%"));
        assert!(like("abc", "%c"));
        assert!(like("abc", "%b%"));
        assert!(like("abc", "a_c"));
        assert!(!like("ac", "a_c"));
        assert!(like("aXbXc", "a%b%c"));
        assert!(like("mississippi", "%iss%pi"));
        assert!(!like("abc", "ab"));
        assert!(!like("ab", "abc"));
    }

    #[test]
    fn underscore_is_one_character_not_one_byte() {
        assert!(like("é", "_"));
        assert!(like("😀x", "_x"));
        assert!(!like("😀", "__"));
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert!(!like("Alice", "alice"));
        assert!(!like("ÄB", "äb"));
    }

    #[test]
    fn escapes_make_wildcards_literal() {
        assert!(like("50%", "50\\%"));
        assert!(!like("500", "50\\%"));
        assert!(like("a_b", "a\\_b"));
        assert!(!like("axb", "a\\_b"));
        assert!(like("a\\b", "a\\\\b"));
        assert!(LikePattern::parse("abc\\").is_err());
    }

    #[test]
    fn escaped_input_matches_only_itself() {
        for input in ["50%", "a_b", "back\\slash", "plain"] {
            assert!(like(input, &like_escape(input)));
            assert!(like(&format!("xx{input}yy"), &format!("%{}%", like_escape(input))));
        }
        assert!(!like("5000", &like_escape("50%")));
    }
}
