"""CloudFormation custom resource: applies pending schema migrations on every deploy that changes the layer."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import custom_resource
from progress_tracking.db import get_database
from progress_tracking.migrations import available_migrations, migrate
from progress_tracking.observability import logged


@logged
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    def apply() -> dict[str, Any]:
        applied = migrate(get_database())
        return {"Applied": ",".join(map(str, applied)), "SchemaVersion": str(available_migrations()[-1][0])}

    return custom_resource.handle(event, context, apply)
