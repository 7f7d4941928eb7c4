-- The PostgreSQL store, schema 1: the same records as the SQLite store's schema 2.
-- objects: each distinct part of a snapshot (content-addressed by SHA-256), compressed against
-- a dictionary; manifests: each distinct list of members; snapshots point to their manifest.

CREATE TABLE dictionaries (
    id bigserial PRIMARY KEY,
    body bytea NOT NULL
);

CREATE TABLE objects (
    id bigserial PRIMARY KEY,
    digest bytea NOT NULL UNIQUE,
    body bytea NOT NULL
);

CREATE TABLE manifests (
    id bigserial PRIMARY KEY,
    digest bytea NOT NULL UNIQUE,
    members bytea NOT NULL
);

CREATE TABLE snapshots (
    seq bigserial PRIMARY KEY,
    snapshot_id text NOT NULL UNIQUE,
    taken_at text NOT NULL,
    providers text NOT NULL,
    scope_count integer NOT NULL,
    rule_set_count integer NOT NULL,
    rule_count integer NOT NULL,
    error_count integer NOT NULL,
    manifest_id bigint NOT NULL REFERENCES manifests (id)
);
CREATE INDEX snapshots_taken_at ON snapshots (taken_at, seq);
CREATE INDEX snapshots_manifest ON snapshots (manifest_id);

CREATE TABLE baselines (
    name text PRIMARY KEY,
    snapshot_id text NOT NULL REFERENCES snapshots (snapshot_id),
    set_at text NOT NULL,
    note text NOT NULL DEFAULT ''
);

CREATE TABLE baseline_events (
    seq bigserial PRIMARY KEY,
    name text NOT NULL,
    at text NOT NULL,
    action text NOT NULL,
    from_snapshot text,
    to_snapshot text,
    note text NOT NULL DEFAULT '',
    accepted text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX baseline_events_name ON baseline_events (name, seq);
