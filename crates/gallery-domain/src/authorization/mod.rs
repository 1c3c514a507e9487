//! Azure role-based access control as pure code: action patterns, role definitions (the built-in
//! roles galleries use, and custom roles), scopes and their inheritance, role assignments and their
//! list filters, and the access policy that decides whether a caller may perform an action at a
//! scope.

pub mod actions;
pub mod assignments;
pub mod evaluation;
pub mod roles;
pub mod scope;

pub use evaluation::AccessPolicy;
pub use scope::{Scope, ScopeKind};
