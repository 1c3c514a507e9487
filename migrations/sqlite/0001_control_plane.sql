-- The control plane: resource groups, gallery resources, per-region usage counters, async operations.
-- Resource documents are stored as the JSON galleryd serves; every lookup has its own indexed column.

CREATE TABLE resource_groups (
    seq             INTEGER PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    body            TEXT NOT NULL,
    CONSTRAINT resource_groups_name_unique UNIQUE (subscription_id, name_key)
);

CREATE TABLE resources (
    seq                INTEGER PRIMARY KEY,
    -- the lower-cased canonical id: every GET, PUT and DELETE finds its row by it
    resource_key       TEXT NOT NULL,
    subscription_id    TEXT NOT NULL,
    resource_group_key TEXT NOT NULL,
    resource_type      TEXT NOT NULL,
    -- the enclosing resource (a gallery for an image definition); deleting a parent with children fails
    parent_seq         INTEGER REFERENCES resources (seq),
    name               TEXT NOT NULL,
    location           TEXT NOT NULL,
    -- a uniqueness rule beyond the id: (scope, key) is unique, e.g. gallery names per subscription,
    -- publisher/offer/sku per gallery; NULL when the resource has none
    unique_scope       TEXT,
    unique_key         TEXT,
    -- the usage counter shard this resource is counted in (see usage_counters)
    quota_kind         TEXT,
    quota_shard        INTEGER,
    provisioning_state TEXT NOT NULL,
    body               TEXT NOT NULL,
    -- bumped by every update: updates are optimistic (UPDATE … WHERE revision = the one read)
    revision           BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT resources_key_unique UNIQUE (resource_key),
    CONSTRAINT resources_unique_claim UNIQUE (unique_scope, unique_key),
    -- a resource cannot outlive its group, nor be created in a group being deleted
    CONSTRAINT resources_in_group FOREIGN KEY (subscription_id, resource_group_key)
        REFERENCES resource_groups (subscription_id, name_key)
);

CREATE INDEX resources_by_group ON resources (subscription_id, resource_group_key, resource_type, seq);
-- Only top-level resources (galleries) are listed across a subscription.
CREATE INDEX resources_by_subscription ON resources (subscription_id, resource_type, seq) WHERE parent_seq IS NULL;
CREATE INDEX resources_by_parent ON resources (parent_seq, resource_type, seq);

-- How many resources of a kind a subscription has in a region, split into shards so that concurrent
-- creates do not all queue on one row; the limit is split over the shards, so the sum never exceeds it.
CREATE TABLE usage_counters (
    subscription_id TEXT NOT NULL,
    location        TEXT NOT NULL,
    quota_kind      TEXT NOT NULL,
    shard           INTEGER NOT NULL,
    used            BIGINT NOT NULL,
    PRIMARY KEY (subscription_id, location, quota_kind, shard)
);

CREATE TABLE async_operations (
    operation_id    TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    location        TEXT NOT NULL,
    -- the ARM action, e.g. Microsoft.Compute/galleries/write
    action          TEXT NOT NULL,
    resource_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    error           TEXT,
    -- what the operation's Location URL answers once it is done: 200 (with the resource) or 204
    final_status    INTEGER NOT NULL
);
