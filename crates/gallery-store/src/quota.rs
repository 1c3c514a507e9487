//! Usage counters: how per-subscription, per-region limits are enforced under concurrency.
//!
//! Each (subscription, region, kind) counter is split into shards whose capacities add up to the
//! limit (a limit of 100 over 16 shards gives four shards of 7 and twelve of 6). A create increments
//! one shard that still has room, with `UPDATE … WHERE used < capacity` inside its transaction, so the
//! sum of the shards can never exceed the limit, however many creates race: a shard's row lock
//! serializes the creates that picked it, and the condition is re-checked after the lock is granted.
//! Sharding lets concurrent creates proceed in parallel on Postgres instead of queueing on one hot row
//! for the whole of their commits. A create fails only when every shard is full, i.e. at the limit.
//! SQLite (one writer) uses a single shard. The common case costs one statement: an increment of a
//! random shard; only when that shard is full (or its row does not exist yet) are the others read.
//!
//! Creates reserve before inserting their resource row. A transaction therefore waits for a
//! counter row only while it holds no other row locks, and never waits for a counter after it has
//! inserted: no lock cycle (deadlock) is possible between creates.
//!
//! A resource remembers its shard, so deleting it frees room in the shard it was counted in.

/// Capacity of `shard` when `limit` is split over `shards` shards.
pub(crate) fn shard_capacity(limit: i64, shards: i32, shard: i32) -> i64 {
    let shards = i64::from(shards);
    limit / shards + i64::from(i64::from(shard) < limit % shards)
}

/// Reserves room for one more resource of `$kind` inside `$transaction`. Evaluates to
/// `Some(shard)`, or `None` when the limit is reached.
macro_rules! reserve_quota {
    ($transaction:ident, $shards:expr, $subscription_id:expr, $location:expr, $kind:expr, $limit:expr) => {{
        let shards: i32 = $shards;
        let limit: i64 = i64::from($limit);
        // Fast path: one statement on a random shard with room.
        let first = if shards > 1 { fastrand::i32(0..shards) } else { 0 };
        let mut reserved: Option<i32> = sqlx::query_scalar(
            "UPDATE usage_counters SET used = used + 1 WHERE subscription_id = $1 AND location = $2 \
             AND quota_kind = $3 AND shard = $4 AND used < $5 RETURNING shard",
        )
        .bind($subscription_id)
        .bind($location)
        .bind($kind)
        .bind(first)
        .bind($crate::quota::shard_capacity(limit, shards, first))
        .fetch_optional(&mut *$transaction)
        .await?;
        if reserved.is_none() {
            // Slow path: create missing counter rows, then try every shard that still has room.
            let counters: Vec<(i32, i64)> = sqlx::query_as(
                "SELECT shard, used FROM usage_counters WHERE subscription_id = $1 AND location = $2 AND quota_kind = $3",
            )
            .bind($subscription_id)
            .bind($location)
            .bind($kind)
            .fetch_all(&mut *$transaction)
            .await?;
            for shard in 0..shards {
                if !counters.iter().any(|(existing, _)| *existing == shard) {
                    sqlx::query(
                        "INSERT INTO usage_counters (subscription_id, location, quota_kind, shard, used) \
                         VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING",
                    )
                    .bind($subscription_id)
                    .bind($location)
                    .bind($kind)
                    .bind(shard)
                    .execute(&mut *$transaction)
                    .await?;
                }
            }
            for offset in 0..shards {
                let shard = (first + offset) % shards;
                let capacity = $crate::quota::shard_capacity(limit, shards, shard);
                let seen = counters.iter().find(|(existing, _)| *existing == shard).map_or(0, |(_, used)| *used);
                if seen >= capacity {
                    continue;
                }
                reserved = sqlx::query_scalar(
                    "UPDATE usage_counters SET used = used + 1 WHERE subscription_id = $1 AND location = $2 \
                     AND quota_kind = $3 AND shard = $4 AND used < $5 RETURNING shard",
                )
                .bind($subscription_id)
                .bind($location)
                .bind($kind)
                .bind(shard)
                .bind(capacity)
                .fetch_optional(&mut *$transaction)
                .await?;
                if reserved.is_some() {
                    break;
                }
            }
        }
        reserved
    }};
}

/// Frees `$count` units of `$kind` in `$shard` inside `$transaction`.
macro_rules! release_quota {
    ($transaction:ident, $subscription_id:expr, $location:expr, $kind:expr, $shard:expr, $count:expr) => {{
        let count: i64 = $count;
        sqlx::query(
            "UPDATE usage_counters SET used = CASE WHEN used >= $5 THEN used - $5 ELSE 0 END \
             WHERE subscription_id = $1 AND location = $2 AND quota_kind = $3 AND shard = $4",
        )
        .bind($subscription_id)
        .bind($location)
        .bind($kind)
        .bind($shard)
        .bind(count)
        .execute(&mut *$transaction)
        .await?;
    }};
}

#[cfg(test)]
mod tests {
    use super::shard_capacity;

    #[test]
    fn capacities_add_up_to_the_limit() {
        for (limit, shards) in [
            (100, 16),
            (1000, 16),
            (3, 16),
            (0, 16),
            (7, 1),
            (10_000, 16),
        ] {
            let total: i64 = (0..shards)
                .map(|shard| shard_capacity(limit, shards, shard))
                .sum();
            assert_eq!(total, limit, "limit {limit} over {shards}");
        }
    }
}
