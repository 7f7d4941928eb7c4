-- Progress of long-running commands (`cloudwall watch`: checkpoints, event ids seen), by key;
-- written in the same transaction as the snapshot it goes with.

CREATE TABLE state (
    key text PRIMARY KEY,
    value text NOT NULL
);
