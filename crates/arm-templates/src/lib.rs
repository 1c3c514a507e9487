//! ARM template engine (work in progress).

pub mod error;
pub mod expression;
pub mod hashing;
pub mod jsonc;
pub mod value;
