"""POST /api/progress/import/{user_id}: recreate a user's logs and goals from an export, or weights from another
tool's CSV; `dry_run=true` answers the plan, writing nothing (docs/export-format.md)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import api_edge, authz, errors, import_files, imports
from progress_tracking.db import get_database
from progress_tracking.gateway_events import ProxyEvent
from progress_tracking.models.export import ImportDocument, ImportQuery, ImportResult
from progress_tracking.observability import logger
from progress_tracking.openapi import Operation
from progress_tracking.user_service import get_user_service

OPERATION = Operation(
    summary="Import a user's logs and goals from an export (JSON or CSV) or an openScale or wger weight CSV",
    scope=authz.WRITE_PROGRESS,
    query=ImportQuery,
    body=ImportDocument,  # or, as text/csv, a CSV file (import_files reads both)
    success=(200, ImportResult),
    raises=(errors.Forbidden, errors.UnknownUser, errors.UserServiceUnavailable, errors.DatabaseBusy),
    text_media=("text/csv",),
)


@api_edge.endpoint
def lambda_handler(event: ProxyEvent, context: LambdaContext) -> dict:
    caller = api_edge.authorize(event, OPERATION.scope)
    user_id = api_edge.path_user_id(event)
    query = api_edge.parse_query(event, ImportQuery)
    text = api_edge.request_text(event, import_files.MAX_IMPORT_BYTES)
    content_type = event.header("Content-Type")
    result = imports.import_file(
        get_database(), get_user_service(), caller, user_id, query, text, content_type, event.request_id
    )
    counts = {"logs_created": result.created, "logs_updated": result.updated, "logs_unchanged": result.unchanged}
    logger.info("Import planned" if result.dry_run else "Imported", extra=counts)
    return api_edge.model_response(200, result)
