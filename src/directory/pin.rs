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
    fn policy_checks() {
        assert_eq!(check_pin("12345", 6), Err(PinError::TooShort(6)));
        assert_eq!(check_pin("12a456", 6), Err(PinError::NotDigits));
        assert_eq!(check_pin("", 6), Err(PinError::NotDigits));
        assert_eq!(check_pin("123456", 6), Ok(()));
    }
}
