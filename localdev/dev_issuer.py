"""A development token issuer: an RSA key that signs Auth0-shaped access tokens and publishes its JWKS.

The local gateway uses it when no Auth0 tenant is configured, and the tests use it as their signing key; either way the
authorizer verifies its tokens through exactly the code path it uses against Auth0.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEV_ISSUER = "https://progress-tracking.dev.localhost/"
DEV_AUDIENCE = "https://progress-tracking.dev.localhost/api"
ALL_SCOPES = "read:progress write:progress delete:progress"


class SigningKey:
    def __init__(self, private_key: rsa.RSAPrivateKey, kid: str) -> None:
        self.private_key = private_key
        self.kid = kid

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid or uuid.uuid4().hex[:16])

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The same key across runs, so tokens minted by `token` keep working after a restart."""
        if path.exists():
            stored = json.loads(path.read_text())
            private_key = serialization.load_pem_private_key(stored["pem"].encode(), password=None)
            assert isinstance(private_key, rsa.RSAPrivateKey)
            return cls(private_key, stored["kid"])
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.write_text(json.dumps({"kid": key.kid, "pem": pem.decode()}))
        path.chmod(0o600)
        return key

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def access_token(
        self,
        *,
        issuer: str = DEV_ISSUER,
        audience: str | list[str] = DEV_AUDIENCE,
        user_id: str | None = "dev-user-1",
        subject: str | None = None,
        scope: str = ALL_SCOPES,
        client: bool = False,
        ttl_seconds: int = 3600,
        user_id_claim: str = "sub",
        extra: dict[str, Any] | None = None,
    ) -> str:
        """An Auth0-shaped access token: an end user's (sub = their id) or, with client=True, a machine client's."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": issuer, "aud": audience, "iat": now, "exp": now + ttl_seconds, "scope": scope}
        if client:
            claims.update(sub=subject or "dev-client@clients", gty="client-credentials")
        else:
            if user_id is not None:
                claims[user_id_claim] = user_id
            # An explicit subject wins, also when the User Profile id travels in `sub` itself.
            claims["sub"] = subject or user_id
        return self.sign({**claims, **(extra or {})})
