//! PIN hashing (argon2id, PHC string format) and the PIN policy checks of a UM
//! mailbox policy. PINs are never stored or logged in clear.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("PIN must be digits only")]
    NotDigits,
    #[error("PIN must have at least {0} digits")]
    TooShort(usize),
    #[error("PIN hashing failed: {0}")]
    Hash(String),
}

/// Check a PIN against the policy's minimum length (digits only, as on a keypad).
pub fn check_pin(pin: &str, min_len: usize) -> Result<(), PinError> {
    if pin.is_empty() || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PinError::NotDigits);
    }
    if pin.len() < min_len {
        return Err(PinError::TooShort(min_len));
    }
    Ok(())
}

/// Why a new PIN is refused (Exchange UM mailbox policy rules). Each names the
/// rule, for the CLI and the phone prompts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinRefusal {
    #[error("PIN must be digits only")]
    NotDigits,
    #[error("PIN must have at least {0} digits (policy minimum PIN length)")]
    TooShort(usize),
    #[error("PIN must not repeat one digit (trivial PIN)")]
    RepeatedDigit,
    #[error("PIN must not be a run of consecutive digits (trivial PIN)")]
    Sequence,
    #[error("PIN must not be the extension or its reverse (trivial PIN)")]
    Extension,
    #[error("PIN must differ from the last {0} PINs (policy PIN history)")]
    InHistory(usize),
}

/// Is `pin` trivial: one repeated digit, an ascending or descending run (with
/// wrap-around, 7890 / 3210 / 8901), the extension or the extension reversed?
pub fn trivial(pin: &str, extension: &str) -> Option<PinRefusal> {
    let d: Vec<i32> = pin.bytes().map(|b| (b - b'0') as i32).collect();
    if d.windows(2).all(|w| w[0] == w[1]) {
        return Some(PinRefusal::RepeatedDigit);
    }
    let step = |k: i32| {
        d.windows(2)
            .all(|w| (w[1] - w[0]).rem_euclid(10) == k.rem_euclid(10))
    };
    if step(1) || step(-1) {
        return Some(PinRefusal::Sequence);
    }
    let rev: String = extension.chars().rev().collect();
    if pin == extension || pin == rev {
        return Some(PinRefusal::Extension);
    }
    None
}

/// Check a PIN a subscriber or an admin chose: digits, the policy's minimum
/// length, not trivial, and none of the `history` (PHC hashes of the last N PINs).
pub fn check_new_pin(
    pin: &str,
    extension: &str,
    min_len: usize,
    history: &[String],
) -> Result<(), PinRefusal> {
    match check_pin(pin, min_len) {
        Err(PinError::TooShort(n)) => return Err(PinRefusal::TooShort(n)),
        Err(_) => return Err(PinRefusal::NotDigits),
        Ok(()) => {}
    }
    if let Some(r) = trivial(pin, extension) {
        return Err(r);
    }
    if history.iter().any(|h| verify_pin(pin, h)) {
        return Err(PinRefusal::InHistory(history.len()));
    }
    Ok(())
}

/// Hash a PIN with a random salt. `salt_seed` comes from the caller so this stays
/// deterministic under test and free of hidden RNG state.
pub fn hash_pin(pin: &str, salt_seed: [u8; 16]) -> Result<String, PinError> {
    let salt = SaltString::encode_b64(&salt_seed).map_err(|e| PinError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PinError::Hash(e.to_string()))
}

/// True when `pin` matches the stored PHC hash. A malformed hash never matches.
pub fn verify_pin(pin: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_and_hides_the_pin() {
        let h = hash_pin("135790", [7; 16]).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("135790"));
        assert!(verify_pin("135790", &h));
        assert!(!verify_pin("135791", &h));
        assert!(!verify_pin("135790", "not a hash"));
    }

    #[test]
    fn trivial_pins_are_refused_naming_the_rule() {
        assert_eq!(trivial("111111", "1001"), Some(PinRefusal::RepeatedDigit));
        assert_eq!(trivial("123456", "1001"), Some(PinRefusal::Sequence));
        assert_eq!(trivial("987654", "1001"), Some(PinRefusal::Sequence));
        assert_eq!(trivial("789012", "1001"), Some(PinRefusal::Sequence));
        assert_eq!(trivial("100100", "100100"), Some(PinRefusal::Extension));
        assert_eq!(trivial("100200", "002001"), Some(PinRefusal::Extension));
        assert_eq!(trivial("135790", "1001"), None);
        assert_eq!(trivial("864202", "1002"), None);
        let h = vec![hash_pin("246813", [1; 16]).unwrap()];
        assert_eq!(
            check_new_pin("246813", "1001", 6, &h),
            Err(PinRefusal::InHistory(1))
        );
        assert_eq!(
            check_new_pin("2468", "1001", 6, &h),
            Err(PinRefusal::TooShort(6))
        );
        assert_eq!(
            check_new_pin("24681x", "1001", 6, &h),
            Err(PinRefusal::NotDigits)
        );
        assert_eq!(check_new_pin("975318", "1001", 6, &h), Ok(()));
        assert!(
            PinRefusal::InHistory(5)
                .to_string()
                .contains("policy PIN history")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_single_digit_repeated_is_trivial(d in 0u8..10, len in 4usize..12) {
            let pin: String = std::iter::repeat_n((b'0' + d) as char, len).collect();
            proptest::prop_assert_eq!(trivial(&pin, "1001"), Some(PinRefusal::RepeatedDigit));
        }

        #[test]
        fn any_run_up_or_down_is_trivial(start in 0u8..10, len in 4usize..12, down: bool) {
            let pin: String = (0..len)
                .map(|i| {
                    let k = if down { 10 - (i % 10) as u8 } else { i as u8 };
                    (b'0' + (start + k) % 10) as char
                })
                .collect();
            proptest::prop_assert_eq!(trivial(&pin, "1001"), Some(PinRefusal::Sequence));
        }

        #[test]
        fn the_extension_and_its_reverse_are_trivial(ext in "[0-9]{4,10}") {
            let rev: String = ext.chars().rev().collect();
            proptest::prop_assert!(trivial(&ext, &ext).is_some());
            proptest::prop_assert!(trivial(&rev, &ext).is_some());
        }

        #[test]
        fn a_pin_with_two_different_jumps_is_not_trivial(a in 0u8..10, b in 0u8..10, c in 0u8..10, d in 0u8..10) {
            // Digits a, a+1, a+1 (a repeat after a step): neither a run nor one digit.
            let pin = format!("{}{}{}{}{}{}", a, (a + 1) % 10, (a + 1) % 10, b, c, d);
            let ext = "0000";
            let t = trivial(&pin, ext);
            proptest::prop_assert!(t != Some(PinRefusal::RepeatedDigit) && t != Some(PinRefusal::Sequence), "{pin}: {t:?}");
        }
    }

    #[test]
    fn policy_checks() {
        assert_eq!(check_pin("12345", 6), Err(PinError::TooShort(6)));
        assert_eq!(check_pin("12a456", 6), Err(PinError::NotDigits));
        assert_eq!(check_pin("", 6), Err(PinError::NotDigits));
        assert_eq!(check_pin("123456", 6), Ok(()));
    }
}
