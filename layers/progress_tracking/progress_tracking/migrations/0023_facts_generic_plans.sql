-- The month and week facts' function plans its statements once per session instead of on every call.
--
-- PL/pgSQL prepares each statement of a function and, for the first five calls and whenever a custom plan looks
-- cheaper, plans it again with the call's parameter values. Every statement here looks rows up by the primary keys
-- of small per-user tables (a user and a month, week or kind), so a generic plan is the plan a custom one would be,
-- and replanning was about half of a write's database CPU (docs/performance.md, `python -m bench capacity`'s
-- breakdown: POST and PUT 45-47 % less server CPU with generic plans). The setting applies while the function runs,
-- to the statements it calls; nothing else changes plan mode.
ALTER FUNCTION progress_log_facts_changed(text[], date[], text[], int[])
    SET plan_cache_mode = force_generic_plan;
