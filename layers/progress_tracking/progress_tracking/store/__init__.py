"""The event store: every statement the layer sends, speaking the domain's models and errors, one module per job.

The statements are files of `sql/`, loaded by name (`statements`); what they call (the per-user lock, the summary's
fold, the triggers) is created by the migrations. Every change appends an immutable event to `progress_events`, bumps
the user's stream version and updates the `progress_logs` projection in the caller's transaction, so none of them can
disagree (`appending`), after the user's lock, the first call of every write (`streams`). Callers import the module
they use.
"""
