//! Outbound network guard (SPEC §6): a webhook may only reach public
//! addresses. Checked when a URL is configured and at every attempt, after
//! DNS resolution; the caller then connects only to the addresses returned.
//!
//! The ranges are written out here because the standard library keeps some of
//! its checks (`is_shared`, `is_unique_local`, …) unstable.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("the URL is not valid: {0}")]
    InvalidUrl(String),
    #[error("the URL must use https")]
    InsecureScheme,
    #[error("the URL must not contain a user name or password")]
    Userinfo,
    #[error("the host {0} could not be resolved")]
    Unresolvable(String),
    #[error("the address {0} is in a blocked range (loopback, private, link-local or reserved)")]
    Blocked(IpAddr),
}

/// Whether the address is in a range a webhook must never reach.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_blocked_v4(v4),
        IpAddr::V6(v6) => is_blocked_v6(v6),
    }
}

fn is_blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()                       // 127.0.0.0/8
        || ip.is_private()                 // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()              // 169.254/16 (incl. 169.254.169.254)
        || ip.is_multicast()               // 224/4
        || ip.is_unspecified()             // 0.0.0.0
        || ip.is_broadcast()               // 255.255.255.255
        || a == 0                          // 0/8 "this network"
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 CGNAT
        || (a == 192 && b == 0 && c == 0)  // 192.0.0/24 IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)  // TEST-NET-1
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15 benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 240 // 240/4 reserved
}

fn is_blocked_v6(ip: Ipv6Addr) -> bool {
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms are
    // judged by their IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_blocked_v4(v4);
    }
    let seg = ip.segments();
    if seg[..6].iter().all(|s| *s == 0) && !ip.is_loopback() && !ip.is_unspecified() {
        return is_blocked_v4(Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        ));
    }
    ip.is_loopback()                               // ::1
        || ip.is_unspecified()                     // ::
        || ip.is_multicast()                       // ff00::/8
        || (seg[0] & 0xfe00) == 0xfc00             // fc00::/7 unique local
        || (seg[0] & 0xffc0) == 0xfe80             // fe80::/10 link-local
        || (seg[0] & 0xffc0) == 0xfec0             // fec0::/10 site-local (deprecated)
        || (seg[0] == 0x0064 && seg[1] == 0xff9b)  // 64:ff9b::/96 NAT64 (may embed private v4)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8)  // 2001:db8::/32 documentation
        || seg[0] == 0x2002 // 6to4 (embeds an IPv4 address)
}

/// A URL that passed the static checks, with what a connection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: reqwest::Url,
    pub host: String,
    pub port: u16,
}

/// Checks scheme, userinfo and host syntax (no DNS).
pub fn parse_target(raw: &str, allow_http: bool) -> Result<Target, GuardError> {
    let url = reqwest::Url::parse(raw).map_err(|e| GuardError::InvalidUrl(e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err(GuardError::InsecureScheme),
        other => {
            return Err(GuardError::InvalidUrl(format!(
                "unsupported scheme {other:?}"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(GuardError::Userinfo);
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| GuardError::InvalidUrl("the URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| GuardError::InvalidUrl("the URL has no port".into()))?;
    Ok(Target { url, host, port })
}

/// Resolves the target and checks every address. With `allow_private`
/// (local runs, tests) blocked ranges are accepted. Returns the addresses to
/// connect to — only these.
pub async fn resolve(target: &Target, allow_private: bool) -> Result<Vec<SocketAddr>, GuardError> {
    let addrs: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|_| GuardError::Unresolvable(target.host.clone()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(GuardError::Unresolvable(target.host.clone()));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| is_blocked(a.ip())) {
        return Err(GuardError::Blocked(bad.ip()));
    }
    Ok(addrs)
}

/// The full check of a webhook URL: syntax, scheme, userinfo, resolution.
pub async fn check_url(
    raw: &str,
    allow_http: bool,
    allow_private: bool,
) -> Result<(Target, Vec<SocketAddr>), GuardError> {
    let target = parse_target(raw, allow_http)?;
    let addrs = resolve(&target, allow_private).await?;
    Ok((target, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(s: &str) -> bool {
        is_blocked(s.parse().expect("an address"))
    }

    #[test]
    fn private_and_special_ranges_are_blocked() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            assert!(blocked(ip), "{ip} should be blocked");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!blocked(ip), "{ip} should pass");
        }
    }

    #[test]
    fn http_and_userinfo_are_refused() {
        assert_eq!(
            parse_target("http://example.com/h", false),
            Err(GuardError::InsecureScheme)
        );
        assert!(parse_target("http://example.com/h", true).is_ok());
        assert_eq!(
            parse_target("https://u:p@example.com/", false),
            Err(GuardError::Userinfo)
        );
        assert!(matches!(
            parse_target("ftp://example.com/", true),
            Err(GuardError::InvalidUrl(_))
        ));
        assert!(matches!(
            parse_target("not a url", true),
            Err(GuardError::InvalidUrl(_))
        ));
    }

    #[tokio::test]
    async fn literal_private_targets_are_refused_unless_allowed() {
        let metadata = parse_target("https://169.254.169.254/latest", false).expect("syntax");
        assert_eq!(
            resolve(&metadata, false).await,
            Err(GuardError::Blocked("169.254.169.254".parse().expect("ip")))
        );
        let v6 = parse_target("https://[::1]:8443/", false).expect("syntax");
        assert!(matches!(
            resolve(&v6, false).await,
            Err(GuardError::Blocked(_))
        ));
        assert!(resolve(&v6, true).await.is_ok());
        let local = parse_target("http://localhost:9/", true).expect("syntax");
        assert!(matches!(
            resolve(&local, false).await,
            Err(GuardError::Blocked(_))
        ));
    }
}
