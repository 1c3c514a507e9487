//! galleryd as its own cloud: the identity endpoints clients sign in with and the authentication of
//! ARM requests.
//!
//! [`token_endpoints`] serves the cloud metadata, OIDC discovery and the token endpoints (client
//! credentials, managed identity), [`tokens`] signs and verifies what they hand out,
//! [`authentication`] decides whom an ARM request's bearer token names, and [`caller`] reads a
//! token's claims into the caller.

pub mod authentication;
pub(crate) mod caller;
pub mod token_endpoints;
pub mod tokens;
