-- Image versions that really replicate: the bytes of disks, snapshots and replicas (contents), the
-- replicas of each version, the durable job queue of the replication workers, and secrets shared by
-- every galleryd process on this database.

-- galleryd's own data about a resource, never served (e.g. which content holds a disk's bytes).
ALTER TABLE resources ADD COLUMN internal TEXT;

-- The bytes of a disk, snapshot or replica: a sparse list of extents in one region's blob store
-- (the manifest), written through page writes until sealed.
CREATE TABLE contents (
    content_id     TEXT PRIMARY KEY,
    region         TEXT NOT NULL,
    logical_size   BIGINT NOT NULL,
    -- Writable (accepting page writes) | Sealed (manifest final)
    state          TEXT NOT NULL,
    manifest       TEXT,
    occupied_bytes BIGINT NOT NULL DEFAULT 0,
    checksum       TEXT,
    -- the resource (resource_key) the content belongs to; content of no existing resource is garbage
    owner_key      TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX contents_by_owner ON contents (owner_key);
CREATE INDEX contents_by_region ON contents (region, content_id);

-- Page writes to a Writable content, in the order they landed (later writes win where they overlap).
CREATE TABLE page_writes (
    write_seq    INTEGER PRIMARY KEY,
    content_id   TEXT NOT NULL REFERENCES contents (content_id) ON DELETE CASCADE,
    write_id     BIGINT NOT NULL,
    offset_bytes BIGINT NOT NULL,
    length_bytes BIGINT NOT NULL
);
CREATE INDEX page_writes_by_content ON page_writes (content_id, write_seq);

-- Every replica an image version must have: one row per (region, replica index, disk). Replicas are
-- the unit of work: each is claimed by one worker at a time, so several processes can replicate one
-- version together without copying anything twice.
CREATE TABLE replicas (
    version_seq          BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    region               TEXT NOT NULL,
    replica_index        INTEGER NOT NULL,
    -- 'os' or 'lun<n>'
    disk                 TEXT NOT NULL,
    storage_account_type TEXT NOT NULL,
    -- Pending | Replicating | Completed | Failed | Removing
    state                TEXT NOT NULL,
    bytes_total          BIGINT NOT NULL,
    bytes_copied         BIGINT NOT NULL DEFAULT 0,
    content_id           TEXT,
    checksum             TEXT,
    -- how many times a copy of this replica was started (exactly once unless a worker crashed mid-copy)
    copies_started       INTEGER NOT NULL DEFAULT 0,
    -- the worker that completed the copy (which process did the work, for the replicas report)
    copied_by            TEXT,
    -- the worker copying it and until when its claim holds (renewed while copying); a replica whose
    -- claim expired (its worker died) is claimed again
    lease_owner          TEXT,
    lease_expires        BIGINT,
    details              TEXT NOT NULL DEFAULT '',
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (version_seq, region, replica_index, disk)
);

-- The durable work queue. A job is claimed with a lease that its worker renews (heartbeats); a job
-- whose lease expired (its worker died) is claimed again and resumed.
CREATE TABLE jobs (
    job_id        INTEGER PRIMARY KEY,
    -- ReplicateVersion | DeleteVersion | CollectGarbage
    kind          TEXT NOT NULL,
    resource_key  TEXT NOT NULL,
    operation_id  TEXT,
    payload       TEXT NOT NULL,
    -- Ready | Running | Done | Failed
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_after     BIGINT NOT NULL,
    lease_owner   TEXT,
    lease_expires BIGINT,
    last_error    TEXT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after, job_id);
CREATE INDEX jobs_by_resource ON jobs (resource_key, state);

-- Secrets every process sharing the database must agree on (e.g. the key that signs blob SAS URLs).
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
