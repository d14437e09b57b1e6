"""Lambda TOKEN authorizer: verifies the Auth0 access token and allows the whole API to its principal."""

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress_tracking.errors import InvalidToken
from progress_tracking.observability import logger
from progress_tracking.tokens import get_verifier

# API Gateway answers 401 exactly when an authorizer fails with this message.
UNAUTHORIZED = "Unauthorized"


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def lambda_handler(event: APIGatewayAuthorizerTokenEvent, context: LambdaContext) -> dict:
    try:
        identity = get_verifier().verify(event.authorization_token)
    except InvalidToken as rejected:
        logger.info("Token rejected", extra={"reason": str(rejected)})
        raise Exception(UNAUTHORIZED) from None
    except Exception:
        logger.exception("Authorizer failure; denying")
        raise Exception(UNAUTHORIZED) from None
    arn = event.parsed_arn
    # The policy covers every route: API Gateway caches this answer per token and reuses it on other routes.
    policy = APIGatewayAuthorizerResponse(
        principal_id=identity.principal,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=identity.as_context(),
    )
    policy.allow_all_routes()
    # Escaped: a lone surrogate in the subject would otherwise make the audit line unwritable (UnicodeEncodeError).
    principal = identity.principal.encode("utf-8", "backslashreplace").decode("utf-8")
    logger.info("Token accepted", extra={"principal": principal, "client": identity.is_client})
    return policy.asdict()
