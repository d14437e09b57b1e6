"""Lambda TOKEN authorizer: verifies the Auth0 access token and allows the whole API to its principal."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking import metric_catalog
from progress_tracking.errors import InvalidToken
from progress_tracking.gateway_events import allow_all_routes
from progress_tracking.observability import instrumented, logger
from progress_tracking.tokens import get_verifier

# API Gateway answers 401 exactly when an authorizer fails with this message.
UNAUTHORIZED = "Unauthorized"


@instrumented
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict:
    try:
        identity = get_verifier().verify(event.get("authorizationToken") or "")
    except InvalidToken as rejected:
        logger.info("Token rejected", extra={"reason": str(rejected)})
        raise Exception(UNAUTHORIZED) from None
    except Exception:
        metric_catalog.AUTHORIZER_FAILURES.record(1)
        logger.exception("Authorizer failure; denying")
        raise Exception(UNAUTHORIZED) from None
    # The policy covers every route: API Gateway caches this answer per token and reuses it on other routes.
    policy = allow_all_routes(event["methodArn"], identity.principal, identity.as_context())
    # Escaped: a lone surrogate in the subject would otherwise make the audit line unwritable (UnicodeEncodeError).
    principal = identity.principal.encode("utf-8", "backslashreplace").decode("utf-8")
    logger.info("Token accepted", extra={"principal": principal, "client": identity.is_client})
    return policy
