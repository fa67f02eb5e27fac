//! The SSRF guard: which addresses an outbound request may connect to.
//!
//! Follows the OWASP SSRF cheat sheet's "arbitrary host" case: only http and https, every
//! resolved address checked against the special-purpose ranges below (loopback, private,
//! link-local with cloud metadata, CGNAT, unique-local, IPv4 embedded in IPv6, documentation,
//! multicast, ...), no switch that turns the guard off. Operators open specific ranges with
//! `egress.allow` (CIDR list), which is how tests and local development reach loopback peers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use crate::error::OutboundError;

/// Host names refused whatever they resolve to (cloud metadata services).
const BLOCKED_HOST_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

/// The operator's egress settings: extra ranges allowed despite the guard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    allow: Vec<IpNet>,
}

impl EgressPolicy {
    /// The guard with no exceptions.
    pub fn strict() -> Self {
        EgressPolicy::default()
    }

    pub fn with_allowed_ranges(allow: Vec<IpNet>) -> Self {
        EgressPolicy { allow }
    }

    /// Parses `egress.allow` entries such as `"127.0.0.1/32"` or `"::1/128"`; a bare address
    /// means that one address.
    pub fn from_allow_list<I, S>(entries: I) -> Result<Self, OutboundError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allow = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            let parsed = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| OutboundError::InvalidConfig {
                    reason: format!(
                        "egress.allow entry {entry:?} is not an IP range: write it like \"127.0.0.1/32\" or \"fd00::/8\""
                    ),
                })?;
            allow.push(parsed);
        }
        Ok(EgressPolicy { allow })
    }

    pub fn allowed_ranges(&self) -> &[IpNet] {
        &self.allow
    }

    /// Ok when a connection to `address` is permitted; otherwise the name of the range that
    /// blocks it. An IPv4-mapped IPv6 address is only allowed by an IPv6 range that contains it
    /// (`127.0.0.1/32` does not open `::ffff:127.0.0.1`).
    pub fn check_address(&self, address: IpAddr) -> Result<(), &'static str> {
        if self.allow.iter().any(|range| range.contains(&address)) {
            return Ok(());
        }
        match blocked_range(address) {
            Some(range) => Err(range),
            None => Ok(()),
        }
    }

    /// Refuses host names that name metadata services whatever they resolve to.
    pub fn check_host_name(&self, host: &str) -> Result<(), String> {
        let host = crate::credential::normalized_host(host);
        if BLOCKED_HOST_NAMES.contains(&host.as_ref()) {
            return Err(format!(
                "{host:?} is a cloud metadata host, which outbound requests may never reach"
            ));
        }
        Ok(())
    }
}

/// The special-purpose range `address` falls in, if outbound requests must not reach it.
pub fn blocked_range(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(address: Ipv4Addr) -> Option<&'static str> {
    let octets = address.octets();
    let value = u32::from(address);
    let in_range = |base: [u8; 4], prefix: u32| {
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        value & mask == u32::from(Ipv4Addr::from(base)) & mask
    };
    if address.is_broadcast() {
        return Some("broadcast");
    }
    if in_range([0, 0, 0, 0], 8) {
        return Some("\"this network\" (0.0.0.0/8)");
    }
    if octets[0] == 127 {
        return Some("loopback");
    }
    if in_range([10, 0, 0, 0], 8) || in_range([172, 16, 0, 0], 12) || in_range([192, 168, 0, 0], 16)
    {
        return Some("private");
    }
    if in_range([169, 254, 0, 0], 16) {
        return Some("link-local (includes cloud metadata 169.254.169.254)");
    }
    if in_range([100, 64, 0, 0], 10) {
        return Some("carrier-grade NAT (100.64.0.0/10)");
    }
    if in_range([192, 0, 0, 0], 24) {
        return Some("IETF protocol assignment (192.0.0.0/24)");
    }
    if in_range([192, 0, 2, 0], 24)
        || in_range([198, 51, 100, 0], 24)
        || in_range([203, 0, 113, 0], 24)
    {
        return Some("documentation");
    }
    if in_range([192, 88, 99, 0], 24) {
        return Some("6to4 relay anycast");
    }
    if in_range([198, 18, 0, 0], 15) {
        return Some("benchmarking (198.18.0.0/15)");
    }
    if in_range([224, 0, 0, 0], 4) {
        return Some("multicast");
    }
    if in_range([240, 0, 0, 0], 4) {
        return Some("reserved (240.0.0.0/4)");
    }
    None
}

fn blocked_v6(address: Ipv6Addr) -> Option<&'static str> {
    let segments = address.segments();
    if address.is_unspecified() {
        return Some("unspecified (::)");
    }
    if address.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = address.to_ipv4_mapped() {
        // The socket would reach the embedded IPv4 address; judge that one.
        return blocked_v4(v4).map(ipv4_mapped_label);
    }
    let in_range = |base: Ipv6Addr, prefix: u32| {
        let value = u128::from(address);
        let mask = if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix)
        };
        value & mask == u128::from(base) & mask
    };
    if in_range(Ipv6Addr::UNSPECIFIED, 96) {
        return Some("IPv4-compatible IPv6 (::/96, deprecated)");
    }
    if in_range(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return Some("NAT64 (64:ff9b::/96)");
    }
    if in_range(Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48) {
        return Some("local-use NAT64 (64:ff9b:1::/48)");
    }
    if in_range(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64) {
        return Some("discard-only (100::/64)");
    }
    if in_range(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32)
        || in_range(Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20)
    {
        return Some("documentation");
    }
    if in_range(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23) {
        return Some("IETF protocol assignment (2001::/23, includes Teredo)");
    }
    if in_range(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return Some("6to4 (2002::/16, embeds an IPv4 address)");
    }
    if in_range(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7) {
        return Some("unique-local (fc00::/7, includes cloud metadata fd00:ec2::254)");
    }
    if in_range(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10) {
        return Some("link-local (fe80::/10)");
    }
    if in_range(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10) {
        return Some("site-local (fec0::/10, deprecated)");
    }
    if segments[0] >> 8 == 0xff {
        return Some("multicast");
    }
    None
}

fn ipv4_mapped_label(range: &'static str) -> &'static str {
    match range {
        "loopback" => "IPv4-mapped IPv6 of a loopback",
        "private" => "IPv4-mapped IPv6 of a private",
        _ => "IPv4-mapped IPv6 of a special-purpose",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn special_purpose_addresses_are_blocked() {
        let blocked = [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "192.0.0.170",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::808:808",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "2001::1",
            "3fff::1",
        ];
        let policy = EgressPolicy::strict();
        for address in blocked {
            assert!(
                policy.check_address(parse(address)).is_err(),
                "{address} must be blocked"
            );
        }
    }

    #[test]
    fn public_addresses_pass() {
        let policy = EgressPolicy::strict();
        for address in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                policy.check_address(parse(address)).is_ok(),
                "{address} must pass"
            );
        }
    }

    #[test]
    fn allow_list_opens_exact_ranges_only() {
        let policy = EgressPolicy::from_allow_list(["127.0.0.1/32", "fd12::/16"]).unwrap();
        assert!(policy.check_address(parse("127.0.0.1")).is_ok());
        assert!(policy.check_address(parse("fd12::5")).is_ok());
        assert!(policy.check_address(parse("127.0.0.2")).is_err());
        assert!(policy.check_address(parse("::ffff:127.0.0.1")).is_err());
        assert!(policy.check_address(parse("169.254.169.254")).is_err());
        let single = EgressPolicy::from_allow_list(["10.0.0.7"]).unwrap();
        assert!(single.check_address(parse("10.0.0.7")).is_ok());
        assert!(single.check_address(parse("10.0.0.8")).is_err());
    }

    #[test]
    fn invalid_allow_entries_say_what_to_write() {
        let error = EgressPolicy::from_allow_list(["localhost"]).unwrap_err();
        assert_eq!(error.code(), "INVALID_CONFIG");
        assert!(error.to_string().contains("127.0.0.1/32"));
    }

    #[test]
    fn range_labels_name_the_reason() {
        assert_eq!(
            blocked_range(parse("169.254.169.254")),
            Some("link-local (includes cloud metadata 169.254.169.254)")
        );
        assert_eq!(
            blocked_range(parse("::ffff:127.0.0.1")),
            Some("IPv4-mapped IPv6 of a loopback")
        );
        assert!(
            EgressPolicy::strict()
                .check_host_name("Metadata.Google.Internal.")
                .is_err()
        );
    }
}
