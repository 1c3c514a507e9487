//! End-to-end tests of galleryd: a real server on 127.0.0.1:0, real HTTP, a fresh database per test,
//! every test on Postgres and SQLite.

mod api_process_killed;
mod arm_conventions;
mod azure_blob_backend;
mod blob_service;
mod blob_store_full;
mod consistency;
mod database_outage;
mod deployments;
mod disks;
mod examples;
mod faults;
mod galleries;
mod gallery_applications;
mod gallery_image_versions;
mod gallery_images;
mod generated_input;
mod identity;
mod images;
mod limits;
mod metrics;
mod openapi;
mod process;
mod readme;
mod replication_recovery;
mod reset;
mod resource_groups;
mod security;
mod shared_database;
mod smoke;
mod source_compatibility;
