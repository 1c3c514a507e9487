//! CIDR functions (Microsoft Learn: template-functions-cidr, namespace `sys`): `parseCidr`,
//! `cidrSubnet`, `cidrHost`, for IPv4 and IPv6.

use super::{expect_count, integer_at, string_at};
use crate::error::{EvalResult, invalid};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

struct Network {
    address: u128,
    prefix: u32,
    bits: u32,
}

impl Network {
    fn parse(name: &str, text: &str) -> EvalResult<Network> {
        let Some((address, prefix)) = text.split_once('/') else {
            return invalid(format!(
                "The template language function '{name}' expects a CIDR such as '10.0.0.0/16'. The provided value is '{text}'."
            ));
        };
        let address: IpAddr = address.parse().or_else(|_| {
            invalid(format!("The template language function '{name}' could not parse the IP address in '{text}'."))
        })?;
        let (value, bits) = match address {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        };
        let prefix: u32 = prefix.parse().ok().filter(|prefix| *prefix <= bits).ok_or_else(|| {
            crate::error::Failure::Invalid(format!("The template language function '{name}' could not parse the prefix length in '{text}'."))
        })?;
        let network = Network {
            address: value,
            prefix,
            bits,
        };
        Ok(Network {
            address: value & network.mask(),
            ..network
        })
    }

    fn mask(&self) -> u128 {
        let all = if self.bits == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        if self.prefix == 0 {
            0
        } else {
            (all >> (self.bits - self.prefix)) << (self.bits - self.prefix) & all
        }
    }

    fn last(&self) -> u128 {
        let all = if self.bits == 32 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        self.address | (!self.mask() & all)
    }

    fn text(&self, value: u128) -> String {
        if self.bits == 32 {
            Ipv4Addr::from(value as u32).to_string()
        } else {
            Ipv6Addr::from(value).to_string()
        }
    }
}

pub(super) fn call(name: &str, values: &[Value]) -> EvalResult<Option<Value>> {
    let result = match name {
        "parsecidr" => {
            expect_count("parseCidr", values.len(), 1, 1)?;
            let network = Network::parse("parseCidr", string_at("parseCidr", values, 0)?)?;
            let last = network.last();
            if network.bits == 32 {
                let (first_usable, last_usable) = if network.prefix >= 31 {
                    (network.address, last)
                } else {
                    (network.address + 1, last - 1)
                };
                json!({
                    "network": network.text(network.address),
                    "netmask": network.text(network.mask()),
                    "broadcast": network.text(last),
                    "firstUsable": network.text(first_usable),
                    "lastUsable": network.text(last_usable),
                    "cidr": network.prefix,
                })
            } else {
                json!({
                    "network": network.text(network.address),
                    "netmask": network.text(network.mask()),
                    "firstUsable": network.text(network.address),
                    "lastUsable": network.text(last),
                    "cidr": network.prefix,
                })
            }
        }
        "cidrsubnet" => {
            expect_count("cidrSubnet", values.len(), 3, 3)?;
            let network = Network::parse("cidrSubnet", string_at("cidrSubnet", values, 0)?)?;
            let new_prefix = integer_at("cidrSubnet", values, 1)?;
            let index = integer_at("cidrSubnet", values, 2)?;
            if new_prefix < i64::from(network.prefix) || new_prefix > i64::from(network.bits) {
                return invalid(format!(
                    "The template language function 'cidrSubnet' expects the new prefix length to be between '{}' and '{}'.",
                    network.prefix, network.bits
                ));
            }
            let subnets = 1u128
                .checked_shl((new_prefix as u32) - network.prefix)
                .unwrap_or(u128::MAX);
            if index < 0 || index as u128 >= subnets {
                return invalid(format!(
                    "The template language function 'cidrSubnet' subnet index '{index}' is out of range."
                ));
            }
            let size_bits = network.bits - new_prefix as u32;
            let offset = if size_bits >= 128 {
                0
            } else {
                (index as u128) << size_bits
            };
            Value::String(format!(
                "{}/{new_prefix}",
                network.text(network.address | offset)
            ))
        }
        "cidrhost" => {
            expect_count("cidrHost", values.len(), 2, 2)?;
            let network = Network::parse("cidrHost", string_at("cidrHost", values, 0)?)?;
            let index = integer_at("cidrHost", values, 1)?;
            // Hosts are numbered from the first usable address; IPv4 keeps the broadcast address out.
            let span = network.last() - network.address;
            let usable = if network.bits == 32 {
                span.saturating_sub(1)
            } else {
                span
            };
            if index < 0 || index as u128 >= usable {
                return invalid(format!(
                    "The template language function 'cidrHost' host index '{index}' is out of range."
                ));
            }
            Value::String(network.text(network.address + 1 + index as u128))
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}
