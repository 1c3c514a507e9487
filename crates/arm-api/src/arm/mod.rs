//! Azure Resource Manager: the ARM request pipeline and one handler module per resource.
//!
//! A request flows: [`dispatch`] (route table → api-version → subscription → request limits →
//! authorization ([`access`]) → body → [`shaping`] of `$expand`/`$select`) → the handler of its
//! [`operation::OperationId`] in [`handlers`] → `gallery-domain` decides → `gallery-store` writes
//! → [`response`] renders the ARM answer. The flows every tracked resource shares (reads with ARM's
//! three kinds of 404, long-running writes and deletes, keyset-paginated lists) live in
//! [`tracked`].

pub mod access;
pub mod dispatch;
pub mod handlers;
pub mod operation;
pub mod request;
pub(crate) mod response;
pub mod routes;
pub mod shaping;
pub mod throttling;
pub(crate) mod tracked;
