"""GET /api/progress/export/{user_id}: a page of a user's whole data as of one moment, JSON or CSV
(docs/export-format.md)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, exports
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.export import ExportPage, ExportQuery
from progress_tracking.openapi import Operation

OPERATION = Operation(
    summary="A page of a user's export: logs, every log's and the goals' events, goals and summary, as of one moment"
    " (format=csv: the logs as CSV, the next page's cursor in X-Next-Cursor)",
    scope=authz.READ_PROGRESS,
    query=ExportQuery,
    success=(200, ExportPage),
    raises=(errors.Forbidden, errors.InvalidCursor),
    response_headers=("X-Next-Cursor",),
    text_media=("text/csv",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, ExportQuery)
    page = exports.export(get_database(), caller, user_id, query)
    if isinstance(page, exports.CsvPage):
        cursor = {"X-Next-Cursor": page.next_cursor} if page.next_cursor else {}
        return api_edge.text_response(200, page.text, "text/csv; charset=utf-8", cursor)
    # As the page holds it, not through units: a log entered in pounds keeps weight_lb beside its weight_kg.
    return api_edge.json_response(200, page.model_dump(mode="json"))
