-- Reconciliation runs: progress while they run, their report once done.
CREATE TABLE reconcile_runs (
    id          TEXT PRIMARY KEY,
    integration TEXT NOT NULL,
    dry_run     BOOLEAN NOT NULL,
    status      TEXT NOT NULL,
    error       TEXT NOT NULL,
    started_at  DATETIME NOT NULL,
    finished_at DATETIME,
    updated_at  DATETIME NOT NULL, -- its last progress: a run not updated for long was abandoned
    progress    TEXT NOT NULL,
    actions     TEXT NOT NULL
);
CREATE INDEX reconcile_runs_running ON reconcile_runs (integration) WHERE status = 'running';
