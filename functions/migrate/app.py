"""CloudFormation custom resource: applies pending schema migrations on every deploy that changes the layer."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import custom_resource
from progress_tracking.db import get_database
from progress_tracking.migrations import available_migrations, migrate
from progress_tracking.observability import logged, logger

# The schema has one resource per stack, whatever container created it.
PHYSICAL_RESOURCE_ID = "progress-tracking-schema"


@logged
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if custom_resource.rolls_back(event, "LayerVersion"):
        # Migrations only go forward and are additive, so the older code runs on the schema as it is: nothing to
        # do, and nothing to fail (a FAILED answer here would leave the stack in UPDATE_ROLLBACK_FAILED).
        reason = "Rollback to an earlier layer: the schema stays as it is (migrations only go forward)"
        logger.info(reason)
        return custom_resource.answer(event, context, "SUCCESS", reason, {"Applied": ""}, PHYSICAL_RESOURCE_ID)

    def apply(seconds: float) -> dict[str, Any]:
        applied = migrate(get_database(), seconds)
        return {"Applied": ",".join(map(str, applied)), "SchemaVersion": str(available_migrations()[-1][0])}

    return custom_resource.handle(event, context, apply, PHYSICAL_RESOURCE_ID)
