"""The migration that (re)creates the summary read function from the code's statement:

    python progress_tracking_app.py summary-read-function > <the layer>/migrations/NNNN_<name>.sql

A change to the summary statement needs a new migration (applied ones never change); the test
`test_the_database_reads_summaries_with_the_statement_of_this_code` fails until there is one.
"""

from __future__ import annotations

from progress_tracking.store.summaries import READ_FUNCTION, read_function_body

HEADER = """-- The summary read (store.summaries.CURRENT_OR_FRESH) as a plpgsql function, which keeps its plan per
-- connection: planning the statement cost ~2.5 ms a read, running it ~0.3 ms for a user with a few hundred logs.
-- Written by `python progress_tracking_app.py summary-read-function`; never edited by hand.
"""


def render() -> str:
    return (
        f"{HEADER}CREATE OR REPLACE FUNCTION {READ_FUNCTION}(p_user text, p_at timestamptz) RETURNS jsonb"
        # Floats in the stored facts written in full, whatever a client of a pooled connection set.
        f" LANGUAGE plpgsql SET extra_float_digits = 1 AS $body${read_function_body()}$body$;\n"
    )
