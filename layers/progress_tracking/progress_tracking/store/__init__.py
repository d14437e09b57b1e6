"""The event store: all of the service's SQL, speaking the domain's models and errors, one module per job.

Every change appends an immutable event to `progress_events`, bumps the user's stream version and updates the
`progress_logs` projection in the caller's transaction, so none of them can disagree (`appending`). The user's stream
row is the per-user lock every write and erasure take first (`streams`). Callers import the module they use.
"""
