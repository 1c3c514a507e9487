//! Checks of a Postgres database after faults (a database outage, a killed process): what galleryd
//! stored must be whole. Every write is one transaction, so a resource exists with its usage
//! counted and its operation recorded, or not at all; these checks read the tables directly to
//! prove it.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::Connection;

/// The quota kind counting each resource type (see `gallery_domain::limits::QuotaKind`).
const COUNTED_TYPES: &[(&str, &str)] = &[
    ("microsoft.compute/galleries", "galleries"),
    ("microsoft.compute/galleries/images", "imageDefinitions"),
    (
        "microsoft.compute/galleries/images/versions",
        "imageVersions",
    ),
];

async fn connect(database_url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(database_url)
        .await
        .expect("connect to the test database")
}

/// Asserts that every counted resource is counted exactly once in `usage_counters`, per
/// subscription, region and kind, and that every resource has the operation its write recorded.
pub async fn assert_resources_whole(database_url: &str) {
    let mut connection = connect(database_url).await;
    let resources: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT subscription_id, lower(location), lower(resource_type) FROM resources",
    )
    .fetch_all(&mut connection)
    .await
    .expect("read resources");
    let mut counted: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for (subscription, location, resource_type) in resources {
        if let Some((_, kind)) = COUNTED_TYPES
            .iter()
            .find(|(counted_type, _)| *counted_type == resource_type)
        {
            *counted
                .entry((subscription.to_lowercase(), location, kind.to_string()))
                .or_default() += 1;
        }
    }
    let counters: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT lower(subscription_id), lower(location), quota_kind, CAST(SUM(used) AS BIGINT) \
         FROM usage_counters GROUP BY lower(subscription_id), lower(location), quota_kind",
    )
    .fetch_all(&mut connection)
    .await
    .expect("read usage counters");
    let used: BTreeMap<(String, String, String), i64> = counters
        .into_iter()
        .filter(|(_, _, _, used)| *used > 0)
        .map(|(subscription, location, kind, used)| ((subscription, location, kind), used))
        .collect();
    assert_eq!(
        used, counted,
        "usage counters disagree with the resources stored"
    );

    let without_operation: Vec<String> = sqlx::query_scalar(
        "SELECT r.resource_key FROM resources r WHERE NOT EXISTS \
         (SELECT 1 FROM async_operations o WHERE lower(o.resource_id) = r.resource_key)",
    )
    .fetch_all(&mut connection)
    .await
    .expect("read operations");
    assert!(
        without_operation.is_empty(),
        "resources stored without the operation of their write: {without_operation:?}"
    );
    let _ = connection.close().await;
}

/// Operations still in progress (status `InProgress`), as `(operation id, resource id)`.
pub async fn operations_in_progress(database_url: &str) -> Vec<(String, String)> {
    let mut connection = connect(database_url).await;
    let running = sqlx::query_as(
        "SELECT operation_id, resource_id FROM async_operations WHERE status = 'InProgress'",
    )
    .fetch_all(&mut connection)
    .await
    .expect("read operations");
    let _ = connection.close().await;
    running
}

/// Waits (up to `limit`) until no operation is in progress; panics naming the ones left.
pub async fn wait_until_every_operation_ended(database_url: &str, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let running = operations_in_progress(database_url).await;
        if running.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "operations still in progress after {limit:?}: {running:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
