//! Azure's template limits (Microsoft Learn: azure-resource-manager/templates/best-practices).
//!
//! Variables: the current documentation says 512 (older pages said 256); galleryd takes 512 so
//! that every template Azure accepts today is accepted here.

/// Parameters per template.
pub const MAX_PARAMETERS: usize = 256;
/// Variables per template (see the module doc for why 512).
pub const MAX_VARIABLES: usize = 512;
/// Resources per template, copies included.
pub const MAX_RESOURCES: usize = 800;
/// Outputs per template.
pub const MAX_OUTPUTS: usize = 64;
/// Largest `copy.count`.
pub const MAX_COPY_COUNT: i64 = 800;
