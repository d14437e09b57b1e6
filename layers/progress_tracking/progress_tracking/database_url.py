"""The database URL: from the environment, or from the Secrets Manager secret through Lambda's Parameters and
Secrets extension, kept per container for a while so that a rotation reaches warm containers."""

from __future__ import annotations

import base64
import json
import time
from functools import lru_cache

from psycopg2 import ProgrammingError
from psycopg2.extensions import make_dsn, parse_dsn

from progress_tracking import snapstart
from progress_tracking.config import aws_session_token, get_settings
from progress_tracking.errors import DatabaseUnavailable
from progress_tracking.observability import logger

# Rotated credentials reach warm containers within this many seconds.
SECRET_MAX_AGE_SECONDS = 900


def resolve() -> str:
    """The URL to connect with (DATABASE_URL, else the secret's), verifying TLS where it asks for TLS (verified_dsn);
    DatabaseUnavailable when none is configured."""
    settings = get_settings()
    if settings.database_url:
        return verified_dsn(settings.database_url, system_ca_file())
    if settings.database_secret_arn:
        return verified_dsn(_secret_dsn(settings.database_secret_arn), system_ca_file())
    raise DatabaseUnavailable("No database is configured (DATABASE_URL or DATABASE_SECRET_ARN)")


# Servers on this machine (the local app's, the tests', a local pooler): no public certificate to verify.
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


def verified_dsn(dsn: str, ca_file: str | None) -> str:
    """`dsn` verifying the server's certificate and host name where it asks for TLS: sslmode=require (Neon's URLs
    say it) becomes verify-full, and a verify mode without a root certificate gets `ca_file`, the system's CA bundle.
    Left as it is: a URL that asks for no TLS or names its own root certificate, a server on this machine, or no
    CA bundle. (libpq's `sslrootcert=system` would read the default store of psycopg2-binary's own OpenSSL, a
    directory of its build machine, so the system's bundle is named by its path.)"""
    try:
        parameters = parse_dsn(dsn)
    except ProgrammingError:  # not a DSN: connecting says so
        return dsn
    mode = parameters.get("sslmode")
    hosts = parameters.get("host", "").split(",")
    if ca_file is None or mode not in ("require", "verify-ca", "verify-full") or "sslrootcert" in parameters:
        return dsn
    if all(host in _LOCAL_HOSTS or host.startswith("/") for host in hosts):
        return dsn
    return make_dsn(dsn, sslmode="verify-ca" if mode == "verify-ca" else "verify-full", sslrootcert=ca_file)


@lru_cache(maxsize=1)
def system_ca_file() -> str | None:
    """The system's CA bundle, as its Python's OpenSSL finds it (/etc/pki/tls/cert.pem on Lambda's Amazon Linux)."""
    import os
    import ssl

    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    logger.warning("No CA bundle found: the database's certificate is not verified beyond the URL's sslmode")
    return None


# How long one read of the secret through the extension may take (it asks Secrets Manager itself when its own cache is
# cold). Paid once per container per SECRET_MAX_AGE_SECONDS, before the first connection.
SECRET_READ_TIMEOUT_SECONDS = 2.0
# The container's copy of the database URL, by secret ARN: (monotonic time read, URL).
_secret_cache: dict[str, tuple[float, str]] = {}


def _secret_dsn(secret_arn: str) -> str:
    cached = _secret_cache.get(secret_arn)
    if cached is not None and time.monotonic() - cached[0] < SECRET_MAX_AGE_SECONDS:
        return cached[1]
    dsn = dsn_from_secret(read_secret(secret_arn, get_settings().secrets_extension_port))
    _secret_cache[secret_arn] = (time.monotonic(), dsn)
    snapstart.forget_after_restore(forget_secret)  # a restored copy reads the secret again: it may have been rotated
    return dsn


def forget_secret() -> None:
    """Drops the cached URL: the next connection reads the secret again."""
    _secret_cache.clear()


def read_secret(secret_arn: str, port: int) -> str:
    """The secret's value, from Lambda's Parameters and Secrets extension over local HTTP.

    The extension (a layer the template attaches) calls Secrets Manager with the function's role and caches the
    answer, so the function itself loads neither boto3 nor botocore, nor requests: the standard library's client is
    enough for localhost, and it is imported only here, on the first connection of a container.
    """
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"http://localhost:{port}/secretsmanager/get?{urllib.parse.urlencode({'secretId': secret_arn})}"
    request = urllib.request.Request(url, headers={"X-Aws-Parameters-Secrets-Token": aws_session_token()})
    try:
        with urllib.request.urlopen(request, timeout=SECRET_READ_TIMEOUT_SECONDS) as answer:  # noqa: S310 - localhost
            payload = json.load(answer)
        secret = payload.get("SecretString")
        if not isinstance(secret, str):
            secret = base64.b64decode(payload["SecretBinary"]).decode()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:  # HTTPError and URLError are OSErrors
        status = exc.code if isinstance(exc, urllib.error.HTTPError) else None
        logger.error("Could not read the database secret", extra={"error": type(exc).__name__, "status": status})
        raise DatabaseUnavailable() from exc
    return secret


def dsn_from_secret(secret: str) -> str:
    """The secret holds the URL itself or a JSON object with it under `url` or `DATABASE_URL`."""
    text = secret.strip()
    if text.startswith("{"):
        fields = json.loads(text)
        return str(fields.get("url") or fields["DATABASE_URL"])
    return text
