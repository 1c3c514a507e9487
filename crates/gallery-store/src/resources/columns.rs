//! The column lists of resource rows, written once: what reads select, what creates insert (and
//! the one macro that binds a new row's values in that order).

/// The columns a [`StoredResource`](super::StoredResource) is read from.
macro_rules! stored_columns {
    () => {
        "seq, name, location, resource_type, provisioning_state, body, internal, revision"
    };
}

/// The columns a new resource row is inserted with, in the order [`bind_new_row!`] binds them
/// (as `$1` to `$14`).
macro_rules! new_row_columns {
    () => {
        "resource_key, subscription_id, resource_group_key, resource_type, parent_seq, name, \
         location, unique_scope, unique_key, quota_kind, quota_shard, provisioning_state, body, \
         internal"
    };
}

/// The placeholders of [`new_row_columns!`].
macro_rules! new_row_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14"
    };
}

/// Binds a new row's values (a [`NewRow`](super::write::NewRow)) to `$query` as `$1` to `$14`, in
/// the order of [`new_row_columns!`].
macro_rules! bind_new_row {
    ($query:expr, $row:expr) => {{
        let row: &$crate::resources::write::NewRow<'_> = $row;
        $query
            .bind(row.target.resource_key)
            .bind(row.target.subscription_id)
            .bind(row.target.resource_group_key)
            .bind(row.target.resource_type)
            .bind(row.parent_seq)
            .bind(&row.decision.name)
            .bind(&row.decision.location)
            .bind(
                row.decision
                    .unique
                    .as_ref()
                    .map(|claim| claim.scope.as_str()),
            )
            .bind(row.decision.unique.as_ref().map(|claim| claim.key.as_str()))
            .bind(row.quota.map(|(kind, _)| kind))
            .bind(row.quota.map(|(_, shard)| shard))
            .bind(&row.decision.provisioning_state)
            .bind(&row.decision.body)
            .bind(&row.decision.internal)
    }};
}

/// What a write reads first, in one statement: the resource group (its stored name), the parent
/// (if the target has one) and the resource itself (if it exists), with whether it has children.
/// `$1` subscription, `$2` resource group key, `$3` parent key, `$4` resource key.
pub(super) const READ_SCOPE: &str = concat!(
    "SELECT g.name AS resource_group_name, p.seq AS parent_seq, p.name AS parent_name, ",
    "r.seq, r.name, r.location, r.resource_type, r.provisioning_state, r.body, r.internal, r.revision, ",
    "r.quota_kind, r.quota_shard, ",
    "EXISTS (SELECT 1 FROM resources c WHERE c.parent_seq = r.seq) AS has_children ",
    "FROM resource_groups g ",
    "LEFT JOIN resources p ON p.resource_key = $3 ",
    "LEFT JOIN resources r ON r.resource_key = $4 ",
    "WHERE g.subscription_id = $1 AND g.name_key = $2"
);
