-- Access control: role assignments and custom role definitions (Microsoft.Authorization), and one
-- revision every access write bumps, so each process knows when its cached access policy is stale.
-- Documents are stored as served; lookups have their own lower-cased columns.

CREATE TABLE role_assignments (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the assignment's name (a GUID), lower-cased: unique across every scope, as in Azure
    name_key            TEXT NOT NULL,
    -- the lower-cased scope ('/' for the root)
    scope_key           TEXT NOT NULL,
    principal_key       TEXT NOT NULL,
    -- the role definition's GUID, lower-cased
    role_definition_key TEXT NOT NULL,
    body                TEXT NOT NULL,
    CONSTRAINT role_assignments_name_unique UNIQUE (name_key),
    -- one principal holds one role once at one scope
    CONSTRAINT role_assignments_grant_unique UNIQUE (scope_key, principal_key, role_definition_key)
);

CREATE INDEX role_assignments_by_principal ON role_assignments (principal_key);

CREATE TABLE role_definitions (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name_key      TEXT NOT NULL,
    role_name_key TEXT NOT NULL,
    body          TEXT NOT NULL,
    CONSTRAINT role_definitions_name_unique UNIQUE (name_key),
    CONSTRAINT role_definitions_role_name_unique UNIQUE (role_name_key)
);

CREATE TABLE access_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision BIGINT NOT NULL
);

INSERT INTO access_revision (id, revision) VALUES (1, 0);
