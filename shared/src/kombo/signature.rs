//! Kombo webhook signatures (SPEC §7): `X-Kombo-Signature` is the HMAC-SHA256
//! of the raw body keyed with the webhook secret, base64url without padding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    mac
}

/// The signature Kombo sends for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(mac(secret, body).finalize().into_bytes())
}

/// Whether `signature` (the header's value) is the body's signature. The
/// comparison is constant-time; trailing `=` padding is tolerated.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(given) = URL_SAFE_NO_PAD.decode(signature.trim().trim_end_matches('=')) else {
        return false;
    };
    mac(secret, body).verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_base64url_hmac_sha256_without_padding() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
        // = f7bc83f4…3cd8, in base64url without padding:
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm-xQ-9NWaFJRhdZl0edvC0aPNg"
        );
    }

    #[test]
    fn verify_accepts_the_right_signature_only() {
        let body = br#"{"id":"1","type":"data-changed","data":{}}"#;
        let good = sign("secret", body);
        assert!(verify("secret", body, &good));
        assert!(verify("secret", body, &format!("{good}=")));
        assert!(!verify("other", body, &good));
        assert!(!verify("secret", b"tampered", &good));
        assert!(!verify("secret", body, ""));
        assert!(!verify("secret", body, "not base64 !"));
    }
}
