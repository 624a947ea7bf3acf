//! Validated input: what the service accepts as free text, a child's case
//! reference and a date, checked once for every route. Pure.

use chrono::NaiveDate;

/// The most characters a free-text field may hold.
pub const TEXT_LIMIT: usize = 20_000;

/// Why an input was refused; every message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

/// Free text: trimmed, not empty, at most [`TEXT_LIMIT`] characters.
pub fn text(field: &str, v: &str) -> Result<String, InvalidInput> {
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
