//! Syntax checks for common formats in request bodies. Each returns what is wrong, for a
//! human; the caller decides the field it names.

/// An email address as people type it: `local@domain.tld`, no spaces, at most 254 characters.
pub fn email(value: &str) -> Result<(), String> {
    let well_formed = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        });
    if well_formed {
        Ok(())
    } else {
        Err(format!("`{value}` is not an email address"))
    }
}

/// A phone number in E.164 form: `+`, country code, number; 8 to 16 characters in all.
pub fn phone(value: &str) -> Result<(), String> {
    let digits = value.strip_prefix('+').unwrap_or("");
    let well_formed = (7..=15).contains(&digits.len())
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit());
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not an E.164 phone number such as +15555550123"
        ))
    }
}

/// Free text a person typed (a name, a subject): trimmed, not empty, at most `max` characters,
/// no control characters except newlines and tabs when `multiline`.
pub fn text(value: &str, max: usize, multiline: bool) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(String::from("must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t' || c == '\r'));
    if !trimmed.chars().all(allowed) {
        return Err(String::from("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["a@b.co", "first.last+tag@example.org"] {
            assert!(email(good).is_ok(), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@.co", "a@b..co", "a@b.co.",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        assert!(phone("+15555550123").is_ok());
        for bad in [
            "5555550123",
            "+0555550123",
            "+1555",
            "+1555555012345678",
            "+1-555-555",
        ] {
            assert!(phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts() {
        assert_eq!(text("  Ada  ", 10, false).unwrap(), "Ada");
        assert!(text("   ", 10, false).is_err());
        assert!(text("Ada Lovelace", 5, false).is_err());
        assert!(text("a\u{0}b", 5, false).is_err());
        assert!(text("a\nb", 5, false).is_err());
        assert!(text("a\nb", 5, true).is_ok());
    }
}
