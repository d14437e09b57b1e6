"""The Powertools singletons every handler and module logs, measures and traces through."""

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "progress-tracking"

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace="ProgressTracking", service=SERVICE_NAME)
# Only requests is patched: patching everything would import boto3 into every container (slower cold starts) and
# wrap psycopg2's connections in proxies.
tracer = Tracer(service=SERVICE_NAME, patch_modules=["requests"])
