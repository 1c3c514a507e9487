//! End-to-end tests of galleryd: a real server on 127.0.0.1:0, real HTTP, a fresh database per test,
//! every test on Postgres and SQLite.

mod examples;
mod openapi;
mod smoke;
