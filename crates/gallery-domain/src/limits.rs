//! Per-subscription, per-region limits on gallery resources.
//!
//! Azure allows 100 galleries, 1,000 image definitions and 10,000 image versions per subscription per
//! region. galleryd enforces the same defaults, configurable for tests and load work. The store
//! enforces them inside the creating transaction so concurrent creates cannot overshoot.

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    Galleries,
    ImageDefinitions,
    ImageVersions,
}

impl QuotaKind {
    /// The stable name used as a key in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Galleries => "galleries",
            QuotaKind::ImageDefinitions => "imageDefinitions",
            QuotaKind::ImageVersions => "imageVersions",
        }
    }

    /// How error messages name what is counted.
    pub fn description(self) -> &'static str {
        match self {
            QuotaKind::Galleries => "galleries",
            QuotaKind::ImageDefinitions => "image definitions",
            QuotaKind::ImageVersions => "image versions",
        }
    }
}

/// The configured limits, per subscription per region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub galleries_per_region: u32,
    pub image_definitions_per_region: u32,
    pub image_versions_per_region: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            galleries_per_region: 100,
            image_definitions_per_region: 1_000,
            image_versions_per_region: 10_000,
        }
    }
}

impl Limits {
    /// The limit for `kind`.
    pub fn for_kind(&self, kind: QuotaKind) -> u32 {
        match kind {
            QuotaKind::Galleries => self.galleries_per_region,
            QuotaKind::ImageDefinitions => self.image_definitions_per_region,
            QuotaKind::ImageVersions => self.image_versions_per_region,
        }
    }
}
