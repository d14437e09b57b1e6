"""Verification of Auth0 access tokens (RS256 JWTs) against the tenant's JWKS, cached per container.

The authorizer's alone: API functions never import it, so PyJWT and cryptography stay off their cold start.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import re
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jwt

from progress_tracking import metric_catalog
from progress_tracking.authz import TOKEN_LEEWAY_SECONDS, Identity, identity_from_claims
from progress_tracking.config import Settings, get_settings
from progress_tracking.errors import InvalidToken
from progress_tracking.observability import logger

ALGORITHM = "RS256"
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
MAX_TOKEN_LENGTH = 8192  # longer tokens are refused before any parsing or cryptography
JWKS_TIMEOUT_SECONDS = 3
# A key set is a few kilobytes; a longer answer is not one, and is not read to its end.
MAX_JWKS_BYTES = 1_000_000
# A kid the cache does not know (a rotation, a cold start while the tenant was down, or an attacker's random kids)
# triggers a refetch at most this often: the tenant is never hammered, and a new key verifies within seconds of
# being published or of the tenant answering again.
JWKS_REFETCH_INTERVAL_SECONDS = 10
# The key set is refetched once it is this old, so a key the tenant removed stops verifying within this time.
JWKS_MAX_AGE_SECONDS = 600
# An entry carrying any of these holds (part of) a private key, which a JWKS must never publish (RFC 7517 §9.3).
PRIVATE_KEY_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")
MIN_KEY_BITS = 2048  # NIST SP 800-131A; Auth0 signs with 2048-bit keys
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
# Auth0 issues access tokens for 30 days at most; an expiry further out is not one of its tokens.
MAX_LIFETIME_SECONDS = 31 * 24 * 3600


def fetch_jwks(url: str) -> dict[str, Any]:
    """The key set at `url`, with the standard library's http.client (no redirects followed; HTTPS verified against
    the system's certificate store): a fetch every few minutes needs no more, and requests would cost the
    authorizer's cold start tens of milliseconds."""
    parts = urlsplit(url)
    kind = {"https": http.client.HTTPSConnection, "http": http.client.HTTPConnection}.get(parts.scheme)
    if kind is None or not parts.hostname:
        raise ValueError("not an http(s) URL")
    connection = kind(parts.hostname, parts.port, timeout=JWKS_TIMEOUT_SECONDS)
    try:
        connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        if response.status // 100 != 2:
            raise ValueError(f"HTTP {response.status}")
        body = response.read(MAX_JWKS_BYTES + 1)
    finally:
        connection.close()
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("too long for a JWKS document")
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    return document


class UnusableKey(Exception):
    """A JWKS entry that cannot verify this service's tokens; its message says why."""


def verification_key(entry: object) -> tuple[str, jwt.PyJWK]:
    """The kid and key of a JWKS entry that can verify an RS256 token; UnusableKey for anything else."""
    if not isinstance(entry, dict):
        raise UnusableKey("not a JSON object")
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        raise UnusableKey("no kid")
    if entry.get("kty") != "RSA":
        raise UnusableKey("not an RSA key")
    if entry.get("use", "sig") != "sig":
        raise UnusableKey("not a signing key")
    if entry.get("alg", ALGORITHM) != ALGORITHM:
        raise UnusableKey("for another algorithm")
    if any(member in entry for member in PRIVATE_KEY_MEMBERS):
        # Published, the private key signs for anyone: its tokens prove nothing.
        raise UnusableKey("carries private key material")
    try:
        key = jwt.PyJWK(entry, algorithm=ALGORITHM)
    # PyJWT 2.15 raises InvalidKeyError (a PyJWTError, not the PyJWKError it documents) for a malformed `n` or `e`;
    # whatever else one entry raises is still that entry's flaw alone.
    except Exception as exc:
        raise UnusableKey(f"{type(exc).__name__}: {exc}"[:200]) from exc
    if key.key.key_size < MIN_KEY_BITS:
        raise UnusableKey(f"shorter than {MIN_KEY_BITS} bits")
    return kid, key


class JwksCache:
    """Signing keys by kid, refreshed once they reach a maximum age; unknown kids refetch at a bounded rate.

    Single-flight: one caller fetches while the others wait for its answer. A failed fetch, or a key set without a
    usable key, keeps the keys it has; an unusable entry beside usable ones is skipped (and logged), and the rest are
    used.
    """

    def __init__(
        self,
        url: str,
        fetch: Callable[[str], dict[str, Any]] = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # the last successful fetch
        self._last_attempt: float | None = None
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK | None:
        key = self._keys.get(kid)
        if key is None or self._too_old():
            with self._lock:  # a fetch in flight holds it: wait for its keys rather than fail
                key = self._keys.get(kid)
                if self._too_old() or (key is None and self._may_refetch()):
                    self._refresh()
                    key = self._keys.get(kid)
        return key

    def _since(self, moment: float | None) -> float:
        return float("inf") if moment is None else self._clock() - moment

    def _too_old(self) -> bool:
        # Once past the maximum age, retry (while the tenant fails) no more often than for an unknown kid.
        return self._since(self._fetched_at) >= JWKS_MAX_AGE_SECONDS and self._may_refetch()

    def _may_refetch(self) -> bool:
        return self._since(self._last_attempt) >= JWKS_REFETCH_INTERVAL_SECONDS

    def _refresh(self) -> None:
        self._last_attempt = self._clock()
        metric_catalog.JWKS_FETCHES.record(1)
        try:
            document = self._fetch(self.url)
        except Exception as exc:  # any failure keeps the keys we have
            metric_catalog.JWKS_FETCH_FAILURES.record(1)
            logger.warning("JWKS fetch failed; keeping cached keys", extra={"error": type(exc).__name__})
            return
        keys = {}
        for entry in document["keys"]:
            try:
                kid, key = verification_key(entry)
            except UnusableKey as unusable:  # one bad entry must not cost the key set its good keys
                named = entry.get("kid") if isinstance(entry, dict) else None
                logger.warning("Skipping an unusable JWKS key", extra={"kid": named, "reason": str(unusable)})
                continue
            keys[kid] = key
        if not keys:
            metric_catalog.JWKS_FETCH_FAILURES.record(1)
            logger.warning("JWKS fetched without a usable key; keeping cached keys")
            return
        self._keys, self._fetched_at = keys, self._last_attempt
        logger.info("JWKS fetched", extra={"kids": sorted(keys)})


def _canonical_base64url(segment: str) -> bool:
    """Unpadded base64url in its one spelling: the alphabet only, and the bits it does not use zero."""
    if not _BASE64URL.fullmatch(segment):
        return False
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error:
        return False
    return base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() == segment


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive, RFC 6750)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise InvalidToken("not a bearer token")
    return token


class TokenVerifier:
    def __init__(self, issuer: str, audiences: tuple[str, ...], jwks: JwksCache, user_id_claim: str = "sub") -> None:
        self.issuer = issuer
        self.audiences = list(audiences)
        self.jwks = jwks
        self.user_id_claim = user_id_claim

    def verify(self, authorization: str | None) -> Identity:
        """The identity behind an Authorization header; InvalidToken for anything short of a valid access token."""
        token = bearer_token(authorization)
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("token too long")
        segments = token.split(".")
        if len(segments) != 3:
            raise InvalidToken("not three base64url segments")
        if not all(_canonical_base64url(segment) for segment in segments):
            # PyJWT decodes leniently (padding, stray characters): one token, many spellings and cache entries.
            raise InvalidToken("not canonical base64url")
        try:
            header = jwt.get_unverified_header(token)
        except Exception as exc:
            raise InvalidToken(f"unreadable header: {exc}") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("no usable kid")
        key = self.jwks.key(kid)
        if key is None:
            raise InvalidToken("unknown kid")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[ALGORITHM],
                audience=self.audiences,
                issuer=self.issuer,
                leeway=TOKEN_LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        # Claims of odd types raise TypeError, ValueError or OverflowError in some PyJWT versions: all are a 401.
        except Exception as exc:
            raise InvalidToken(f"{type(exc).__name__}: {exc}") from exc
        expiry = claims["exp"]
        if (
            isinstance(expiry, bool)
            or not isinstance(expiry, int | float)
            or expiry > time.time() + MAX_LIFETIME_SECONDS
        ):
            raise InvalidToken("implausible expiry")
        return identity_from_claims(claims, self.user_id_claim)


def verifier_from(settings: Settings, fetch: Callable[[str], dict[str, Any]] = fetch_jwks) -> TokenVerifier:
    if not (settings.auth0_issuer and settings.auth0_jwks_url and settings.auth0_audiences):
        raise RuntimeError("AUTH0_DOMAIN (or AUTH0_ISSUER and AUTH0_JWKS_URL) and AUTH0_AUDIENCE must be set")
    return TokenVerifier(
        settings.auth0_issuer,
        settings.auth0_audiences,
        JwksCache(settings.auth0_jwks_url, fetch),
        settings.user_id_claim,
    )


_verifier_lock = threading.Lock()
_fetch_key_set: Callable[[str], dict[str, Any]] = fetch_jwks


def fetch_key_set_with(fetch: Callable[[str], dict[str, Any]]) -> None:
    """From now on the container's verifier reads the key set with `fetch` instead of over HTTP; verification is
    unchanged (the same JwksCache and TokenVerifier). For the local app alone: as its own development issuer it holds
    the key set, and fetching that from itself over HTTP needs a free worker thread while every one of them may be
    in the authorizer, waiting for that very answer."""
    global _fetch_key_set
    with _verifier_lock:
        _fetch_key_set = fetch
        cached_verifier.cache_clear()


@lru_cache(maxsize=1)
def cached_verifier() -> TokenVerifier:
    return verifier_from(get_settings(), _fetch_key_set)


def get_verifier() -> TokenVerifier:
    """The container's one verifier: lru_cache alone may build two (two key caches) for concurrent first callers."""
    with _verifier_lock:
        return cached_verifier()
