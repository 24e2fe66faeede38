//! Webhook signatures (SPEC §6).
//!
//! Both signatures are keyed with the UTF-8 bytes of the org's secret:
//!
//! - `X-Webhook-Signature`: lowercase hex HMAC-SHA256 of the raw body, so the
//!   receiver check `hmac.new(secret, payload, sha256).hexdigest()` passes.
//! - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`):
//!   `v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`. Receivers using a
//!   Standard Webhooks library pass the key in the standard's form,
//!   `whsec_` + base64(secret bytes) — see [`standard_webhooks_secret`] — or
//!   the raw secret bytes where the library accepts bytes. A secret that is
//!   already in that form (`whsec_<base64>`) is used as the standard defines
//!   it — keyed with the decoded bytes — so it can be passed to the library
//!   unchanged.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC accepts any key length")
}

/// The key bytes of the Standard Webhooks signature.
fn standard_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .filter(|key| !key.is_empty())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// `X-Webhook-Signature`: lowercase hex HMAC-SHA256 of the raw body.
pub fn hex_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = mac(secret.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// `webhook-signature` of the Standard Webhooks specification.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(&standard_key(secret));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The secret in the Standard Webhooks key form (`whsec_<base64>`), the value
/// receivers hand to a Standard Webhooks verifier.
pub fn standard_webhooks_secret(secret: &str) -> String {
    if secret.starts_with("whsec_") && standard_key(secret) != secret.as_bytes() {
        return secret.to_owned();
    }
    format!("whsec_{}", STANDARD.encode(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_signature_is_the_rfc_4231_style_hmac_of_the_body() {
        // Known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            hex_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn standard_signature_covers_id_timestamp_and_body() {
        let a = standard_signature("s3cret", "dlv_1", 1_700_000_000, b"{}");
        assert!(a.starts_with("v1,"));
        assert_ne!(
            a,
            standard_signature("s3cret", "dlv_2", 1_700_000_000, b"{}")
        );
        assert_ne!(
            a,
            standard_signature("s3cret", "dlv_1", 1_700_000_001, b"{}")
        );
        assert_ne!(
            a,
            standard_signature("s3cret", "dlv_1", 1_700_000_000, b"[]")
        );
        // Same as the hex HMAC of the signed content, base64-encoded.
        let raw = hex::decode(hex_signature("s3cret", b"dlv_1.1700000000.{}")).expect("hex");
        assert_eq!(a, format!("v1,{}", STANDARD.encode(raw)));
    }

    #[test]
    fn standard_webhooks_secret_is_whsec_base64_of_the_secret() {
        assert_eq!(standard_webhooks_secret("abc"), "whsec_YWJj");
    }

    #[test]
    fn when_the_secret_is_already_whsec_then_the_standard_signature_uses_its_decoded_key() {
        // "whsec_YWJj" is the standard form of the key bytes "abc".
        assert_eq!(
            standard_signature("whsec_YWJj", "dlv_1", 1, b"{}"),
            standard_signature("abc", "dlv_1", 1, b"{}")
        );
        assert_eq!(standard_webhooks_secret("whsec_YWJj"), "whsec_YWJj");
        // The hex signature is always keyed with the secret's own bytes.
        assert_ne!(
            hex_signature("whsec_YWJj", b"{}"),
            hex_signature("abc", b"{}")
        );
    }
}
