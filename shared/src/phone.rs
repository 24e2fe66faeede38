//! Phone numbers to E.164 (SPEC §4), for every record that holds one: pushed
//! through the public API or synced from an ATS.

/// The region used for numbers without a country code when the org sets none.
pub const DEFAULT_PHONE_REGION: &str = "US";

/// Normalises a phone number to E.164; a number without a country code is
/// read in `region` (an ISO 3166 alpha-2 code; `US` when it is not a known one).
pub fn normalize_phone(raw: &str, region: Option<&str>) -> Result<String, &'static str> {
    let region = region
        .and_then(|r| {
            r.trim()
                .to_ascii_uppercase()
                .parse::<phonenumber::country::Id>()
                .ok()
        })
        .or_else(|| DEFAULT_PHONE_REGION.parse().ok());
    let number = phonenumber::parse(region, raw).map_err(|_| "is not a phone number")?;
    if !phonenumber::is_valid(&number) {
        return Err("is not a valid phone number");
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}
