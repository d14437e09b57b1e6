"""Request and response models, by job: field rules, logs, goals, summaries and series, error bodies."""
