//! Validated input: what the service accepts as free text, an identifier, a
//! child's case reference and a date, checked once for every route. Pure.
//!
//! The character rules, decided here once and applied at the edge to every
//! path segment, query key and value, JSON key and JSON string
//! (`http::guard`), and again by [`text`]:
//! - an identifier (a path segment, a query key or value, a JSON key, an
//!   id-like field, see [`is_identifier_field`]) holds no control character
//!   at all (C0, DEL, C1: NUL, newline, tab, escape ...) and no
//!   bidirectional control;
//! - free text may hold tab, newline and carriage return, but no other
//!   control character and no bidirectional override or isolate
//!   (U+202A to U+202E, U+2066 to U+2069), which could make it display as
//!   something other than what was stored.

use chrono::NaiveDate;

/// The most characters a free-text field may hold.
pub const TEXT_LIMIT: usize = 20_000;

/// Why an input was refused; every message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

/// A bidirectional embedding, override or isolate (U+202A to U+202E, U+2066 to U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Refuse a control or bidirectional character in an identifier.
pub fn identifier_chars(field: &str, v: &str) -> Result<(), InvalidInput> {
    if v.chars().any(char::is_control) {
        return Err(InvalidInput(format!(
            "{field} must not contain control characters"
        )));
    }
    if v.chars().any(is_bidi_control) {
        return Err(InvalidInput(format!(
            "{field} must not contain bidirectional control characters"
        )));
    }
    Ok(())
}

/// Refuse, in free text, a control character other than tab, newline and
/// carriage return, and any bidirectional override or isolate.
pub fn text_chars(field: &str, v: &str) -> Result<(), InvalidInput> {
    if v.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(InvalidInput(format!(
            "{field} must not contain control characters other than tab and newline"
        )));
    }
    if v.chars().any(is_bidi_control) {
        return Err(InvalidInput(format!(
            "{field} must not contain bidirectional override or isolate characters"
        )));
    }
    Ok(())
}

/// Whether a JSON body's field named `key` holds identifiers (one, or a list
/// of them) rather than free text: `id`, `*_id`, and the registry, role,
/// policy, witness and URL fields.
pub fn is_identifier_field(key: &str) -> bool {
    key == "id"
        || key.ends_with("_id")
        || matches!(
            key,
            "parties"
                | "agencies"
                | "agency"
                | "role"
                | "partner"
                | "policy"
                | "version"
                | "url"
                | "name"
                | "origin"
                | "status"
                | "audience"
                | "from"
                | "to"
                | "date"
                | "response_due"
        )
}

/// `v` with every control and bidirectional character written as an escape
/// (`\n`, `\u{1b}`, ...), for log lines: a logged value can never start a
/// line of its own or steer a terminal.
pub fn escape_controls(v: &str) -> String {
    if !v.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 8);
    for c in v.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Free text: trimmed, not empty, at most [`TEXT_LIMIT`] characters, and
/// holding no character [`text_chars`] refuses.
pub fn text(field: &str, v: &str) -> Result<String, InvalidInput> {
    text_chars(field, v)?;
    let t = v.trim();
    if t.is_empty() {
        return Err(InvalidInput(format!("{field} must not be empty")));
    }
    if t.chars().count() > TEXT_LIMIT {
        return Err(InvalidInput(format!(
            "{field} is longer than {TEXT_LIMIT} characters"
        )));
    }
    Ok(t.to_string())
}

/// A calendar date written exactly `YYYY-MM-DD`.
pub fn date(field: &str, s: &str) -> Result<NaiveDate, InvalidInput> {
    let d = (s.len() == 10)
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten();
    d.ok_or_else(|| InvalidInput(format!("{field} must be a date, YYYY-MM-DD")))
}

/// A pseudonymous case reference for a child: up to 64 letters, digits or
/// `-_/.`, with at least one digit, so that it cannot be a name.
pub fn child_ref(v: Option<&str>) -> Result<Option<String>, InvalidInput> {
    let Some(r) = v else { return Ok(None) };
    let ok = (1..=64).contains(&r.len())
        && r.chars().any(|c| c.is_ascii_digit())
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_/.".contains(c));
    if !ok {
        return Err(InvalidInput(
            "child_ref must be a pseudonymous case reference: up to 64 letters, digits or -_/. \
             with at least one digit (never a name)"
                .into(),
        ));
    }
    Ok(Some(r.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("f", "  a b  ").unwrap(), "a b");
        assert!(text("f", "   ").is_err());
        assert!(text("f", &"x".repeat(TEXT_LIMIT + 1)).is_err());
        assert!(text("f", &"x".repeat(TEXT_LIMIT)).is_ok());
    }

    #[test]
    fn identifiers_hold_no_control_or_bidi_characters() {
        assert!(identifier_chars("id", "kingston-council").is_ok());
        for bad in [
            "a\0b",
            "\0",
            "a\nb",
            "a\tb",
            "\u{7f}",
            "\u{85}",
            "\u{1b}[31m",
            "a\u{202E}b",
            "\u{2066}",
        ] {
            assert!(identifier_chars("id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn free_text_keeps_newlines_but_no_other_controls_or_overrides() {
        assert!(text("f", "line one\nline two\ttabbed\r\n").is_ok());
        for bad in [
            "a\0b",
            "\u{1b}[2J",
            "\u{7}",
            "\u{9b}",
            "pay\u{202E}gnp.exe",
            "x\u{2067}y",
            "\u{202A}",
        ] {
            assert!(text("f", bad).is_err(), "{bad:?}");
        }
        // Other right-to-left text is fine: only overrides and isolates are refused.
        assert!(text("f", "\u{05D0}\u{05D1} \u{200F}").is_ok());
    }

    #[test]
    fn logged_values_cannot_break_a_line() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(escape_controls("a\nFORGED"), "a\\nFORGED");
        assert_eq!(escape_controls("\r\u{1b}\0"), "\\r\\u{1b}\\u{0}");
        assert_eq!(escape_controls("\u{202E}"), "\\u{202e}");
        assert!(!escape_controls("x\n\r\u{85}").chars().any(char::is_control));
    }

    #[test]
    fn child_refs_are_never_names() {
        assert_eq!(child_ref(None).unwrap(), None);
        assert_eq!(
            child_ref(Some("KR-2024/17")).unwrap().as_deref(),
            Some("KR-2024/17")
        );
        assert!(child_ref(Some("Alice Smith")).is_err());
        assert!(child_ref(Some("alice")).is_err());
        assert!(child_ref(Some(&"1".repeat(65))).is_err());
    }

    #[test]
    fn dates_are_exactly_iso() {
        assert!(date("d", "2026-02-03").is_ok());
        assert!(date("d", "2026-2-3").is_err());
        assert!(date("d", "2026-02-30").is_err());
    }
}
