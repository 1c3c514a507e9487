-- The control plane: resource groups, gallery resources, per-region usage counters, async operations.
-- Resource documents are stored as the JSON galleryd serves; every lookup has its own indexed column.

CREATE TABLE resource_groups (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    body            TEXT NOT NULL,
    CONSTRAINT resource_groups_name_unique UNIQUE (subscription_id, name_key)
);

CREATE TABLE resources (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the lower-cased canonical id: every GET, PUT and DELETE finds its row by it
    resource_key       TEXT NOT NULL,
    subscription_id    TEXT NOT NULL,
    resource_group_key TEXT NOT NULL,
    resource_type      TEXT NOT NULL,
    -- the enclosing resource (a gallery for an image definition); deleting a parent with children fails
    parent_seq         BIGINT REFERENCES resources (seq),
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

-- Every change (update or delete) of a resource document is announced, after commit, on the
-- channel galleryd_documents with the resource key, so every galleryd process sharing this database
-- can drop its cached copy. Inserts need no announcement: nothing is cached for a key that did not
-- exist.
CREATE FUNCTION galleryd_announce_document_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('galleryd_documents', OLD.resource_key);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER resources_announce_change
    AFTER UPDATE OR DELETE ON resources
    FOR EACH ROW EXECUTE FUNCTION galleryd_announce_document_change();
