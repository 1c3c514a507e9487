//! The simulated network between regions under the realistic profile: one paced link per pair of
//! regions.
//!
//! Every pair of regions (in either direction; a region with itself for in-region replicas) is its
//! own link with its own bandwidth, so a slow transoceanic pair does not slow an in-region copy:
//! the configured default, or the bandwidth configured for that pair. Copies over one link share
//! its rate (one [`Pacer`] per link, created on first use); copies over different links do not.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gallery_blob::Pacer;

/// The links of one process.
#[derive(Debug)]
pub struct Links {
    default_bytes_per_second: u64,
    /// Configured bandwidths by link key.
    configured: HashMap<(String, String), u64>,
    pacers: Mutex<HashMap<(String, String), Arc<Pacer>>>,
}

/// A link's bandwidth that differs from the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkBandwidth {
    /// Region short names (`westus`); the order does not matter.
    pub regions: (String, String),
    pub bytes_per_second: u64,
}

/// The key of the link between two regions: the names in order, so both directions share it.
fn link_key(first: &str, second: &str) -> (String, String) {
    if first <= second {
        (first.to_string(), second.to_string())
    } else {
        (second.to_string(), first.to_string())
    }
}

impl Links {
    pub fn new(default_bytes_per_second: u64, configured: &[LinkBandwidth]) -> Links {
        Links {
            default_bytes_per_second,
            configured: configured
                .iter()
                .map(|link| {
                    (
                        link_key(&link.regions.0, &link.regions.1),
                        link.bytes_per_second,
                    )
                })
                .collect(),
            pacers: Mutex::new(HashMap::new()),
        }
    }

    /// The pacer of the link between `source` and `destination`.
    pub fn pacer(&self, source: &str, destination: &str) -> Arc<Pacer> {
        let key = link_key(source, destination);
        let mut pacers = self
            .pacers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let rate = self
            .configured
            .get(&key)
            .copied()
            .unwrap_or(self.default_bytes_per_second);
        Arc::clone(
            pacers
                .entry(key)
                .or_insert_with(|| Arc::new(Pacer::new(rate))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pair_is_one_link_in_both_directions_with_its_own_rate() {
        let links = Links::new(
            1_000,
            &[LinkBandwidth {
                regions: ("westus".into(), "eastus".into()),
                bytes_per_second: 50,
            }],
        );
        let there = links.pacer("westus", "eastus");
        let back = links.pacer("eastus", "westus");
        assert!(Arc::ptr_eq(&there, &back));
        assert_eq!(there.bytes_per_second(), 50);
        let in_region = links.pacer("westus", "westus");
        assert!(!Arc::ptr_eq(&there, &in_region));
        assert_eq!(in_region.bytes_per_second(), 1_000);
        assert_eq!(
            links.pacer("westus", "northeurope").bytes_per_second(),
            1_000
        );
    }
}
