-- Template deployments (Microsoft.Resources/deployments): the history of each scope and the
-- operations of each deployment (one per resource instance).
-- A deployment's document is stored as served, without its provisioning state: the state column
-- is the truth (a cancel changes only it), and responses put it into the document.

CREATE TABLE deployments (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- the lower-cased deployment id
    deployment_key     TEXT NOT NULL,
    -- the lower-cased id of the scope the deployment belongs to (resource group or subscription)
    scope_key          TEXT NOT NULL,
    subscription_id    TEXT NOT NULL,
    name               TEXT NOT NULL,
    provisioning_state TEXT NOT NULL,
    -- the id of the async operation of the PUT that started it (its operationStatuses URL)
    operation_id       TEXT NOT NULL,
    body               TEXT NOT NULL,
    -- the template as submitted (exportTemplate answers it)
    template           TEXT NOT NULL,
    CONSTRAINT deployments_key_unique UNIQUE (deployment_key)
);

CREATE INDEX deployments_by_scope ON deployments (scope_key, seq);
CREATE INDEX deployments_by_scope_and_state ON deployments (scope_key, provisioning_state, seq);

CREATE TABLE deployment_operations (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_seq BIGINT NOT NULL REFERENCES deployments (seq) ON DELETE CASCADE,
    operation_id   TEXT NOT NULL,
    body           TEXT NOT NULL,
    CONSTRAINT deployment_operations_unique UNIQUE (deployment_seq, operation_id)
);

CREATE INDEX deployment_operations_by_deployment ON deployment_operations (deployment_seq, seq);
