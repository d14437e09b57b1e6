"""The Powertools singletons every handler and module logs, measures and traces through.

Their service name and metrics namespace come from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE, which
the template sets for every function (and the local app and the tests take from the template).
"""

from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()


@lru_cache(maxsize=1)
def get_tracer() -> Tracer:
    """The Tracer, created on first use: importing the X-Ray SDK costs ~0.45 s of cold start (measured under Python
    3.12), which the authorizer, the hottest function, has no use for.

    Only requests is patched: patching everything would also import boto3 and wrap psycopg2's connections.
    """
    return Tracer(patch_modules=["requests"])
