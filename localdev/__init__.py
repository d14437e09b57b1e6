"""Development-only pieces: the local API Gateway stand-in, a development token issuer, HTTP stubs, embedded Postgres.

None of this is deployed; the Lambda functions and the layer never import it.
"""
