//! Syntax checks for common formats in request bodies. Each returns what is wrong, for a
//! human; the caller decides the field it names, and reports every rule broken as [`Invalid`]s.

/// One rule a request broke: the JSON pointer of the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub pointer: &'static str,
    pub message: String,
}

impl Invalid {
    /// Every rule a request broke, as one validation problem that names each field.
    pub fn problem(all: Vec<Invalid>) -> crate::Problem {
        crate::Problem::invalid_fields(all.into_iter().map(|p| (p.pointer, p.message)))
    }
}

/// [`email`] as a JSON Schema pattern (without the lengths: at most 254 characters, 64 before
/// the `@`).
pub const EMAIL_PATTERN: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";

/// An email address a mailer will take: `local@domain`, at most 254 characters, where the
/// local part is a dot-atom (RFC 5322: letters, digits and ``!#$%&'*+-/=?^_`{|}~``, dots
/// between them) and the domain is a host name of two or more labels (letters, digits and
/// inner hyphens). Quoted local parts, comments, address lists and IP literals, which
/// people do not type but which confuse mailers and logs, are refused; so is non-ASCII, which
/// needs SMTPUTF8; so is a top-level domain that does not start with a letter. Every service
/// checks addresses with this one rule, and every spec declares it as [`EMAIL_PATTERN`].
pub fn email(value: &str) -> Result<(), String> {
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
    let label = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let well_formed = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            local.len() <= 64
                && local
                    .split('.')
                    .all(|atom| !atom.is_empty() && atom.bytes().all(atext))
                && domain.split('.').count() >= 2
                && domain.split('.').all(label)
                && domain
                    .rsplit('.')
                    .next()
                    .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_alphabetic()))
        });
    if well_formed {
        Ok(())
    } else {
        Err(format!("`{}` is not an email address", shown(value)))
    }
}

/// A five-digit U.S. ZIP code: the one rule the gateway, policy and risk apply.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ZipCode(String);

impl ZipCode {
    pub fn parse(text: &str) -> Result<ZipCode, String> {
        if text.len() == 5 && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(ZipCode(text.to_owned()))
        } else {
            Err(format!("`{}` is not a 5-digit ZIP code", shown(text)))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ZipCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
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
            "`{}` is not an E.164 phone number such as +15555550123",
            shown(value)
        ))
    }
}

/// Free text a person typed (a name, a subject): at most `max` characters as sent, not empty
/// once trimmed, no control characters except newlines and tabs when `multiline`, and no
/// invisible formatting characters (see [`is_invisible`]), which can make one name display as
/// another.
pub fn text(value: &str, max: usize, multiline: bool) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(String::from("must not be empty"));
    }
    // As sent, like the schema's maxLength: spaces around the text count too.
    let ascii = value.is_ascii();
    let length = if ascii {
        value.len()
    } else {
        value.chars().count()
    };
    if length > max {
        return Err(format!("must be at most {max} characters"));
    }
    let allowed = |c: char| !c.is_control() || (multiline && (c == '\n' || c == '\t' || c == '\r'));
    if !trimmed.chars().all(allowed) {
        return Err(String::from("must not contain control characters"));
    }
    // Every invisible character is outside ASCII.
    if ascii {
        return Ok(trimmed.to_owned());
    }
    if let Some(c) = trimmed.chars().find(|&c| is_invisible(c)) {
        return Err(format!(
            "must not contain invisible formatting characters (found U+{:04X})",
            u32::from(c)
        ));
    }
    Ok(trimmed.to_owned())
}

/// Unicode format characters (category Cf: bidirectional overrides and isolates, zero-width
/// space, word joiner, byte order mark, tags, …) and the other invisible separators and
/// fillers. Zero-width non-joiner and joiner (U+200C, U+200D) are allowed: Persian, Indic and
/// emoji spelling needs them.
pub fn is_invisible(c: char) -> bool {
    matches!(u32::from(c),
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B | 0x200E | 0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x0890 | 0x0891
        | 0x08E2 | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// A value as an error message quotes it: invisible and control characters as `\u{…}`, so
/// the message shows what was sent, cut at 100 characters.
fn shown(value: &str) -> String {
    value
        .chars()
        .take(100)
        .map(|c| {
            if c.is_control() || is_invisible(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for (address, taken) in nfip_kit_test::EMAILS {
            assert_eq!(email(address).is_ok(), *taken, "{address}");
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
        // Found by Schemathesis: 4 spaces and 200 characters broke a maxLength of 200.
        let padded = format!("    {}", "*".repeat(200));
        assert!(text(&padded, 200, false).is_err());
        assert!(text(&"*".repeat(200), 200, false).is_ok());
        // Characters, not bytes, outside ASCII too.
        assert!(text(&"é".repeat(5), 5, false).is_ok());
        assert!(text(&"é".repeat(6), 5, false).is_err());
        assert!(text("a\u{7f}b", 5, false).is_err());
        assert!(text("a\u{0}b", 5, false).is_err());
        assert!(text("a\nb", 5, false).is_err());
        assert!(text("a\nb", 5, true).is_ok());
        for spoof in [
            "Ada\u{202E}ecalevoL",
            "A\u{200B}da",
            "\u{FEFF}Ada",
            "Ad\u{2066}a",
        ] {
            let error = text(spoof, 50, false).unwrap_err();
            assert!(error.contains("invisible"), "{error}");
        }
        assert!(
            text("Mohammad\u{200C}Reza", 50, false).is_ok(),
            "ZWNJ spells Persian"
        );
        assert!(text("Zoë O'Brien-Łukasz 山田", 50, false).is_ok());
    }

    #[test]
    fn messages_show_what_is_invisible() {
        let error = email("a@b\u{202E}.co").unwrap_err();
        assert!(error.contains("\\u{202e}"), "{error}");
    }
}
