"""The workflow database: engine and sessions, schema migrations, cross-process locks, and its tables
(accounts, change requests, the audit log, login throttling)."""
