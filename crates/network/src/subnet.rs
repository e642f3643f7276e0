//! IPv4 subnets (`10.1.2.0/24`): parsing, host ranges and overlap.
//!
//! A subnet is stored masked (no host bits). The first address is the network address and the last one the
//! broadcast address; neither is ever handed out. Prefixes up to /30 are accepted: a /30 has two host
//! addresses, the gateway and one container. See ip(7) and RFC 4632.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::NetworkError;

/// The longest prefix a network may have: /30 leaves one address for a container beside the gateway.
pub const MAX_PREFIX: u8 = 30;

/// An IPv4 subnet, always masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// Builds a subnet, refusing host bits and prefixes longer than [`MAX_PREFIX`].
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, NetworkError> {
        let value = format!("{addr}/{prefix}");
        if prefix > 32 {
            return Err(invalid(&value, "prefix length must be at most 32".into()));
        }
        let masked = Ipv4Addr::from(u32::from(addr) & mask(prefix));
        if masked != addr {
            return Err(invalid(&value, format!("it should be {masked}/{prefix}")));
        }
        if prefix > MAX_PREFIX {
            return Err(invalid(
                &value,
                format!(
                    "prefix /{prefix} leaves no address for a container (at most /{MAX_PREFIX})"
                ),
            ));
        }
        Ok(Ipv4Net { addr, prefix })
    }

    /// Builds the subnet that contains `addr`, masking host bits (used for host routes).
    pub fn containing(addr: Ipv4Addr, prefix: u8) -> Self {
        let prefix = prefix.min(32);
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The broadcast address (last address of the subnet).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.prefix))
    }

    /// Whether `ip` is inside the subnet (network and broadcast included).
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.addr)
    }

    /// Whether `ip` is a host address: inside, and neither the network nor the broadcast address.
    pub fn is_host(&self, ip: Ipv4Addr) -> bool {
        self.contains(ip) && ip != self.addr && ip != self.broadcast()
    }

    /// Whether the two subnets share at least one address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        let p = self.prefix.min(other.prefix);
        u32::from(self.addr) & mask(p) == u32::from(other.addr) & mask(p)
    }

    /// The first host address (Docker's default gateway).
    pub fn first_host(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) + 1)
    }

    /// Every host address, lowest first.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u32::from(self.addr) + 1;
        let last = u32::from(self.broadcast()).saturating_sub(1);
        (first..=last).map(Ipv4Addr::from)
    }

    /// Number of host addresses.
    pub fn host_count(&self) -> u64 {
        (1u64 << (32 - u32::from(self.prefix))).saturating_sub(2)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    }
}

fn invalid(value: &str, reason: String) -> NetworkError {
    NetworkError::InvalidSubnet {
        value: value.to_string(),
        reason,
    }
}

impl FromStr for Ipv4Net {
    type Err = NetworkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s
            .split_once('/')
            .ok_or_else(|| invalid(s, "expected ADDRESS/PREFIX, e.g. 192.168.10.0/24".into()))?;
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| invalid(s, format!("{addr:?} is not an ipv4 address")))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| invalid(s, format!("{prefix:?} is not a prefix length")))?;
        Ipv4Net::new(addr, prefix)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_displays() {
        let n = net("192.168.10.0/24");
        assert_eq!(n.to_string(), "192.168.10.0/24");
        assert_eq!(n.first_host(), Ipv4Addr::new(192, 168, 10, 1));
        assert_eq!(n.broadcast(), Ipv4Addr::new(192, 168, 10, 255));
        assert_eq!(n.host_count(), 254);
        assert_eq!(net("10.0.0.8/29").hosts().count(), 6);
        assert_eq!(net("10.0.0.4/30").hosts().collect::<Vec<_>>().len(), 2);
    }

    #[test]
    fn refuses_bad_input_with_clear_messages() {
        let cases = [
            ("192.168.10.1/24", "it should be 192.168.10.0/24"),
            ("192.168.10.0", "expected ADDRESS/PREFIX"),
            ("192.168.300.0/24", "is not an ipv4 address"),
            ("10.0.0.0/33", "at most 32"),
            ("10.0.0.0/x", "is not a prefix length"),
            ("10.0.0.0/31", "leaves no address"),
        ];
        for (input, want) in cases {
            let err = input.parse::<Ipv4Net>().unwrap_err().to_string();
            assert!(err.contains(want), "{input}: got {err:?}, want {want:?}");
            assert!(err.starts_with("invalid subnet"), "{err}");
        }
    }

    #[test]
    fn overlap_and_contains() {
        assert!(net("10.0.0.0/8").overlaps(&net("10.20.0.0/16")));
        assert!(net("10.20.0.0/16").overlaps(&net("10.0.0.0/8")));
        assert!(!net("10.0.0.0/29").overlaps(&net("10.0.0.8/29")));
        assert!(net("172.17.0.0/16").contains(Ipv4Addr::new(172, 17, 255, 255)));
        assert!(!net("172.17.0.0/16").is_host(Ipv4Addr::new(172, 17, 255, 255)));
        assert!(!net("172.17.0.0/16").is_host(Ipv4Addr::new(172, 17, 0, 0)));
        assert_eq!(
            Ipv4Net::containing(Ipv4Addr::new(10, 1, 2, 3), 16).to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            Ipv4Net::containing(Ipv4Addr::new(0, 0, 0, 0), 0).to_string(),
            "0.0.0.0/0"
        );
    }

    #[test]
    fn serde_round_trip() {
        let n = net("10.9.8.0/28");
        let s = serde_json::to_string(&n).unwrap();
        assert_eq!(s, "\"10.9.8.0/28\"");
        assert_eq!(serde_json::from_str::<Ipv4Net>(&s).unwrap(), n);
    }
}
