//! Who a call is for or from, as the dial plan's URI type sees it (seed 004 step 2,
//! seed 002 steps 1 and 8): a TelExtn extension (digits), an E.164 number (`+` and
//! digits, RFC 3966 visual separators removed), or a SipName `user@host` (matched
//! to a mailbox's SIP resource identifier, `Enable-UMMailbox -SIPResourceIdentifier`).
//!
//! Pure string work; no IO. Depends on nothing outside `std`.

/// The addressing parts of a SIP, SIPS or tel URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The user part (`1001`, `+33155551001`, `alice.martin`); empty when none.
    pub user: String,
    /// The host part, lower-case, without port or parameters (empty for tel:).
    pub host: String,
}

impl Party {
    /// From a URI (`sip:1001@pbx;user=phone`, `<sips:alice@example.com:5061>`,
    /// `tel:+33-1-55-55-10-01;phone-context=…`). None when it names no user.
    pub fn from_uri(uri: &str) -> Option<Party> {
        let uri = uri.trim().trim_start_matches('<');
        let uri = uri.split('>').next().unwrap_or(uri);
        let (scheme, rest) = uri.split_once(':')?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "tel" {
            let user = rest.split(';').next().unwrap_or("").to_string();
            return (!user.is_empty()).then_some(Party {
                user,
                host: String::new(),
            });
        }
        if scheme != "sip" && scheme != "sips" {
            return None;
        }
        let (user, hostpart) = rest.split_once('@')?;
        // User parameters (`;isub=`, RFC 3261 §19.1.1) are not part of the number.
        let user = user.split(';').next().unwrap_or("");
        let user = percent_decode(user);
        let host = hostpart
            .split([';', '?'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        // Strip a port, but not from an IPv6 reference's inside.
        let host = match host.rfind(':') {
            Some(i) if !host.ends_with(']') && host[..i].find(':').is_none() => {
                host[..i].to_string()
            }
            Some(i) if host.starts_with('[') && host[..i].ends_with(']') => host[..i].to_string(),
            _ => host,
        };
        (!user.is_empty()).then_some(Party { user, host })
    }

    /// `user@host`, as a SIP resource identifier is written.
    pub fn user_at_host(&self) -> String {
        format!("{}@{}", self.user.to_ascii_lowercase(), self.host)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Byte-wise: slicing the &str could split a multi-byte character.
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A telephone number without RFC 3966 visual separators (`-`, `.`, `(`, `)`,
/// spaces), keeping a leading `+`. None when anything but digits remains.
pub fn normalize_number(s: &str) -> Option<String> {
    let s = s.trim();
    let (plus, rest) = match s.strip_prefix('+') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(if plus { format!("+{digits}") } else { digits })
}

/// Do two numbers name the same pilot? Equal once normalised, or equal in their
/// digits when only one side carries the `+` (a PBX that drops it).
pub fn same_number(a: &str, b: &str) -> bool {
    match (normalize_number(a), normalize_number(b)) {
        (Some(a), Some(b)) => a == b || a.trim_start_matches('+') == b.trim_start_matches('+'),
        _ => a.eq_ignore_ascii_case(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(user: &str, host: &str) -> Option<Party> {
        Some(Party {
            user: user.into(),
            host: host.into(),
        })
    }

    #[test]
    fn parties_from_uris() {
        assert_eq!(
            Party::from_uri("sip:1001@pbx.example.com;user=phone"),
            p("1001", "pbx.example.com")
        );
        assert_eq!(
            Party::from_uri("<sips:Alice.Martin@Demo.Openum.Local:5061;transport=tls>"),
            p("Alice.Martin", "demo.openum.local")
        );
        assert_eq!(
            Party::from_uri("tel:+33-1-55-55-10-01;phone-context=x"),
            p("+33-1-55-55-10-01", "")
        );
        assert_eq!(
            Party::from_uri("sip:%2B33155551001@[::1]:5060"),
            p("+33155551001", "[::1]")
        );
        assert_eq!(Party::from_uri("sip:host.only"), None);
        assert_eq!(Party::from_uri("mailto:a@b"), None);
        assert_eq!(
            p("Alice.Martin", "demo.openum.local")
                .unwrap()
                .user_at_host(),
            "alice.martin@demo.openum.local"
        );
    }

    #[test]
    fn numbers_normalise_and_compare() {
        assert_eq!(
            normalize_number("+33 (1) 55-55.10 01").as_deref(),
            Some("+33155551001")
        );
        assert_eq!(normalize_number("4000").as_deref(), Some("4000"));
        assert_eq!(normalize_number("+"), None);
        assert_eq!(normalize_number("alice"), None);
        assert!(same_number("+14255554000", "14255554000"));
        assert!(same_number("4000", "4000"));
        assert!(!same_number("4000", "4001"));
    }
}
