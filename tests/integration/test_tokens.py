"""Token verification with real RSA keys and a JWKS served over real HTTP: valid tokens pass, every malformed or
hostile one is an InvalidToken (a 401 at the authorizer), and the key cache behaves under rotation and outages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from localdev.dev_issuer import SigningKey
from localdev.stubs import JwksStub
from progress_tracking.errors import InvalidToken
from progress_tracking.tokens import (
    JWKS_MAX_AGE_SECONDS,
    JWKS_REFETCH_INTERVAL_SECONDS,
    JwksCache,
    TokenVerifier,
)
from tests.helpers import assert_error, log

ISSUER = "https://tenant.test.invalid/"
AUDIENCE = "https://progress-api.test.invalid"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def b64(data: bytes | dict) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def claims(**overrides):
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "auth0|alice",
        "iat": now,
        "exp": now + 600,
        "scope": "read:progress",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not ...}


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate(kid="current")


@pytest.fixture
def jwks(key):
    with JwksStub(key.jwks()) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(jwks, clock) -> TokenVerifier:
    return TokenVerifier(ISSUER, (AUDIENCE,), JwksCache(jwks.jwks_url, clock=clock))


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_valid_end_user_token_gives_its_identity(verifier, key):
    identity = verifier.verify(bearer(key.sign(claims(permissions=["write:progress", 7]))))
    assert identity.principal == "auth0|alice" and identity.user_id == "auth0|alice"
    assert identity.scopes == {"read:progress", "write:progress"} and not identity.is_client


def test_a_client_credentials_token_is_a_machine_with_no_user(verifier, key):
    identity = verifier.verify(bearer(key.sign(claims(sub="abc@clients", gty="client-credentials"))))
    assert identity.is_client and identity.user_id is None


def test_a_sub_ending_in_at_clients_without_the_client_credentials_grant_is_an_end_user(verifier, key):
    identity = verifier.verify(bearer(key.sign(claims(sub="mallory@clients"))))
    assert not identity.is_client and identity.user_id == "mallory@clients"
    other_grant = verifier.verify(bearer(key.sign(claims(sub="mallory@clients", gty="password"))))
    assert not other_grant.is_client


def test_the_user_id_comes_from_the_configured_claim(jwks, key, clock):
    verifier = TokenVerifier(ISSUER, (AUDIENCE,), JwksCache(jwks.jwks_url, clock=clock), "https://x.test/uid")
    identity = verifier.verify(bearer(key.sign(claims(**{"https://x.test/uid": "profile-42"}))))
    assert identity.user_id == "profile-42"


def test_scheme_is_case_insensitive(verifier, key):
    assert verifier.verify(f"bEaReR {key.sign(claims())}").principal == "auth0|alice"


def test_an_access_token_for_the_api_and_userinfo_is_accepted(verifier, key):
    token = key.sign(claims(aud=[AUDIENCE, "https://tenant.test.invalid/userinfo"]))
    assert verifier.verify(bearer(token)).principal == "auth0|alice"


def test_a_token_expired_within_the_leeway_is_accepted(verifier, key):
    assert verifier.verify(bearer(key.sign(claims(exp=int(time.time()) - 20))))


def hs256_with_public_key(key: SigningKey) -> str:
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{b64(claims())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def raw_rs256(key: SigningKey, header: dict) -> str:
    """Signs what PyJWT would refuse to build (a kid that is not a string, none at all)."""
    signing_input = f"{b64(header)}.{b64(claims())}"
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def altered_payload(key: SigningKey) -> str:
    header, _, signature = key.sign(claims()).split(".")
    return f"{header}.{b64(claims(scope='read:progress write:progress delete:progress admin:progress'))}.{signature}"


def altered_header(key: SigningKey) -> str:
    _, payload, signature = key.sign(claims()).split(".")
    return f"{b64({'alg': 'RS256', 'kid': key.kid, 'typ': 'at+jwt'})}.{payload}.{signature}"


# Each hostile token with the reason it must be refused for (a part of the refusal's reason, as the authorizer logs it):
# a case refused for any other reason (an unknown kid, say) has not tested what it claims to.
HOSTILE: dict[str, tuple[str, Callable[[SigningKey, SigningKey], str]]] = {
    "alg none": (
        "algorithm not allowed",
        lambda key, attacker: f"{b64({'alg': 'none', 'kid': key.kid})}.{b64(claims())}.",
    ),
    "alg None unsigned with signature": (
        "algorithm not allowed",
        lambda key, attacker: f"{b64({'alg': 'None', 'kid': key.kid})}.{b64(claims())}.AAAA",
    ),
    "HS256 keyed with the public key": ("algorithm not allowed", lambda key, attacker: hs256_with_public_key(key)),
    "RS256 by a key outside the JWKS, known kid": (
        "InvalidSignatureError",
        lambda key, attacker: SigningKey(attacker.private_key, key.kid).sign(claims()),
    ),
    "RS256 by a key outside the JWKS, its own kid": ("unknown kid", lambda key, attacker: attacker.sign(claims())),
    "missing kid": ("no usable kid", lambda key, attacker: raw_rs256(key, {"alg": "RS256"})),
    "numeric kid": (
        "Key ID header parameter must be a string",
        lambda key, attacker: raw_rs256(key, {"alg": "RS256", "kid": 12}),
    ),
    "list kid": (
        "Key ID header parameter must be a string",
        lambda key, attacker: raw_rs256(key, {"alg": "RS256", "kid": [key.kid]}),
    ),
    "expired beyond the leeway": (
        "ExpiredSignatureError",
        lambda key, attacker: key.sign(claims(exp=int(time.time()) - 120)),
    ),
    "nbf in the future": ("ImmatureSignatureError", lambda key, attacker: key.sign(claims(nbf=int(time.time()) + 600))),
    "wrong issuer": ("InvalidIssuerError", lambda key, attacker: key.sign(claims(iss="https://evil.test.invalid/"))),
    "missing issuer": ('missing the "iss" claim', lambda key, attacker: key.sign(claims(iss=...))),
    "wrong audience": (
        "InvalidAudienceError",
        lambda key, attacker: key.sign(claims(aud="https://other-api.test.invalid")),
    ),
    "ID token (audience is a client id)": (
        "InvalidAudienceError",
        lambda key, attacker: key.sign(claims(aud="AbCdEfClientId")),
    ),
    "missing audience": ('missing the "aud" claim', lambda key, attacker: key.sign(claims(aud=...))),
    "missing exp": ('missing the "exp" claim', lambda key, attacker: key.sign(claims(exp=...))),
    "missing sub": ('missing the "sub" claim', lambda key, attacker: key.sign(claims(sub=...))),
    "numeric sub": ("InvalidSubjectError", lambda key, attacker: key.sign(claims(sub=12345))),
    "exp as a list": ("(exp) must be an integer", lambda key, attacker: key.sign(claims(exp=[int(time.time()) + 600]))),
    "exp as a string": ("(exp) must be an integer", lambda key, attacker: key.sign(claims(exp="tomorrow"))),
    "exp as a huge number": ("implausible expiry", lambda key, attacker: key.sign(claims(exp=10**400))),
    "exp a century away": (
        "implausible expiry",
        lambda key, attacker: key.sign(claims(exp=int(time.time()) + 100 * 365 * 86400)),
    ),
    "exp as a boolean": ("ExpiredSignatureError", lambda key, attacker: key.sign(claims(exp=True))),
    "iat as a string": ("InvalidIssuedAtError", lambda key, attacker: key.sign(claims(iat="now"))),
    "payload altered after signing": ("InvalidSignatureError", lambda key, attacker: altered_payload(key)),
    "header altered after signing": ("InvalidSignatureError", lambda key, attacker: altered_header(key)),
    "truncated": ("InvalidSignatureError", lambda key, attacker: key.sign(claims())[:-10]),
    "two parts": ("not three base64url segments", lambda key, attacker: ".".join(key.sign(claims()).split(".")[:2])),
    "four parts": ("not three base64url segments", lambda key, attacker: key.sign(claims()) + ".AAAA"),
    "bad base64": ("not canonical base64url", lambda key, attacker: "e30!.e30!.e30!"),
    "header not JSON": ("Invalid header string", lambda key, attacker: f"{b64(b'not json')}.{b64(claims())}.AAAA"),
    "header is a JSON list": ("must be a json object", lambda key, attacker: f"{b64(b'[1]')}.{b64(claims())}.AAAA"),
    # The attacker signs with the kid the JWKS serves and points at their own key: only a followed header would verify.
    "jku pointing elsewhere": (
        "InvalidSignatureError",
        lambda key, attacker: SigningKey(attacker.private_key, key.kid).sign(
            claims(), headers={"jku": ATTACKER_URL + "/.well-known/jwks.json"}
        ),
    ),
    "x5u pointing elsewhere": (
        "InvalidSignatureError",
        lambda key, attacker: SigningKey(attacker.private_key, key.kid).sign(
            claims(), headers={"x5u": ATTACKER_URL + "/cert"}
        ),
    ),
    "embedded jwk of the attacker": (
        "InvalidSignatureError",
        lambda key, attacker: SigningKey(attacker.private_key, key.kid).sign(
            claims(), headers={"jwk": attacker.public_jwk()}
        ),
    ),
    "unknown crit header": (
        "Unsupported critical extension",
        lambda key, attacker: key.sign(claims(), headers={"crit": ["exp-ext"], "exp-ext": 1}),
    ),
    "signature with == appended": ("not canonical base64url", lambda key, attacker: key.sign(claims()) + "=="),
    "payload with a character outside base64url": (
        "not canonical base64url",
        lambda key, attacker: key.sign(claims()).replace(".", ".+", 1),
    ),
    "over 8 KB": ("token too long", lambda key, attacker: key.sign(claims(padding="x" * 9000))),
    "empty": ("not a bearer token", lambda key, attacker: ""),
    "whitespace inside": ("not a bearer token", lambda key, attacker: key.sign(claims()).replace(".", ". ", 1)),
}
ATTACKER_URL = "http://127.0.0.1:9"  # replaced by the attacker's real server in the test below


@pytest.fixture(scope="module")
def attacker() -> SigningKey:
    return SigningKey.generate(kid="attacker")


@pytest.fixture(scope="module")
def attacker_server(attacker):
    global ATTACKER_URL
    with JwksStub(attacker.jwks()) as server:
        ATTACKER_URL = server.url
        yield server


def test_the_hostile_suite_positive_control_a_valid_token_signed_the_same_way_verifies(verifier, key):
    assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tokens_are_rejected_for_their_own_reason_without_calls_they_ask_for(
    verifier, key, attacker, attacker_server, case
):
    attacker_server.requests.clear()
    reason, make = HOSTILE[case]
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(bearer(make(key, attacker)))
    assert reason in str(refused.value)
    assert attacker_server.requests == []


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Token abc", "Bearer a b"])
def test_headers_that_are_not_one_bearer_token_are_rejected(verifier, header):
    with pytest.raises(InvalidToken):
        verifier.verify(header)


# --- the key cache ----------------------------------------------------------------------------------------------


def test_concurrent_first_requests_to_a_fresh_app_all_pass_on_one_jwks_fetch(service_env, jwks_server, tokens):
    # Given a freshly started gateway (no keys cached yet) and a tenant slow enough to keep the first fetch in flight
    from waitress import create_server

    from localdev.gateway import LocalGateway
    from localdev.template import load_api
    from progress_tracking import tokens as token_module
    from tests.helpers import ROOT

    token_module.cached_verifier.cache_clear()
    server = create_server(LocalGateway(load_api(ROOT / "template.yaml")), host="127.0.0.1", port=0, threads=12)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}"
    jwks_server.requests.clear()
    jwks_server.delay = 0.5
    start = threading.Barrier(12)

    def first_request(n: int) -> int:
        user = f"cold-start-{n}"
        start.wait()
        headers = {"Authorization": f"Bearer {tokens.user(user)}"}
        return requests.get(f"{url}/api/progress/{user}", headers=headers, timeout=30).status_code

    try:
        # When twelve first requests arrive together
        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(first_request, range(12)))
    finally:
        jwks_server.delay = 0.0
        server.close()
    # Then every one waited for the one fetch in flight and passed
    assert statuses == [200] * 12
    assert jwks_server.requests == ["/.well-known/jwks.json"]


def test_callers_arriving_during_a_fetch_wait_for_it_instead_of_failing(jwks, key):
    jwks.delay = 0.5
    verifier = TokenVerifier(ISSUER, (AUDIENCE,), JwksCache(jwks.jwks_url))
    with ThreadPoolExecutor(8) as pool:
        identities = list(pool.map(lambda _: verifier.verify(bearer(key.sign(claims()))), range(8)))
    assert [identity.principal for identity in identities] == ["auth0|alice"] * 8
    assert jwks.requests == ["/.well-known/jwks.json"]


def test_a_removed_key_stops_verifying_within_the_maximum_age(verifier, key, jwks, clock):
    # Given a cached key that the tenant then removes (rotated out after a leak)
    verifier.verify(bearer(key.sign(claims())))
    rotated = SigningKey.generate(kid="next")
    jwks.document = rotated.jwks()
    # Then it keeps verifying until the cached set reaches its maximum age, and not a moment after
    clock.now += JWKS_MAX_AGE_SECONDS - 1
    assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"
    assert len(jwks.requests) == 1
    clock.now += 1
    with pytest.raises(InvalidToken, match="unknown kid"):
        verifier.verify(bearer(key.sign(claims())))
    assert verifier.verify(bearer(rotated.sign(claims()))).principal == "auth0|alice"  # positive control
    assert len(jwks.requests) == 2


def test_a_failed_refresh_at_the_maximum_age_keeps_the_keys_and_says_so(verifier, key, jwks, clock, caplog):
    verifier.verify(bearer(key.sign(claims())))
    jwks.up = False
    clock.now += JWKS_MAX_AGE_SECONDS
    assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"
    assert len(jwks.requests) == 2
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "JWKS fetch failed; keeping cached keys"
    ]
    # and it does not hammer the tenant while it is down: the next try waits for the retry interval
    verifier.verify(bearer(key.sign(claims())))
    assert len(jwks.requests) == 2
    jwks.up = True
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS
    verifier.verify(bearer(key.sign(claims())))
    assert len(jwks.requests) == 3


def test_keys_are_fetched_once_and_cached(verifier, key, jwks):
    for _ in range(5):
        verifier.verify(bearer(key.sign(claims())))
    assert jwks.requests == ["/.well-known/jwks.json"]


def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(verifier, key, jwks, clock):
    verifier.verify(bearer(key.sign(claims())))
    for n in range(50):
        with pytest.raises(InvalidToken):
            verifier.verify(bearer(SigningKey(key.private_key, f"random-{n}").sign(claims())))
    assert len(jwks.requests) == 1  # within the interval of the first fetch: no refetch at all
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS
    for n in range(50):
        with pytest.raises(InvalidToken):
            verifier.verify(bearer(SigningKey(key.private_key, f"late-{n}").sign(claims())))
    assert len(jwks.requests) == 2  # one refetch for the first unknown kid once the interval passed


def test_a_rotated_key_is_picked_up_after_the_interval(verifier, key, jwks, clock):
    verifier.verify(bearer(key.sign(claims())))
    rotated = SigningKey.generate(kid="next")
    jwks.document = {"keys": [key.public_jwk(), rotated.public_jwk()]}
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS
    assert verifier.verify(bearer(rotated.sign(claims()))).principal == "auth0|alice"
    assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"


def test_cached_keys_keep_working_while_the_jwks_endpoint_is_down(verifier, key, jwks, clock):
    verifier.verify(bearer(key.sign(claims())))
    jwks.up = False
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS
    with pytest.raises(InvalidToken):
        verifier.verify(bearer(SigningKey.generate(kid="new").sign(claims())))
    assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"


def test_a_key_rotated_in_while_the_jwks_endpoint_was_down_verifies_soon_after_it_is_back(verifier, key, jwks, clock):
    verifier.verify(bearer(key.sign(claims())))
    rotated = SigningKey.generate(kid="rotated-during-outage")
    clock.now += JWKS_REFETCH_INTERVAL_SECONDS
    jwks.up = False
    with pytest.raises(InvalidToken):  # the refetch for the new kid fails: nothing to verify it with yet
        verifier.verify(bearer(rotated.sign(claims())))
    jwks.document, jwks.up = {"keys": [key.public_jwk(), rotated.public_jwk()]}, True
    clock.now += 9
    with pytest.raises(InvalidToken):  # still rate-limited: a flood of kids cannot hammer a recovering tenant
        verifier.verify(bearer(rotated.sign(claims())))
    clock.now += 1
    assert verifier.verify(bearer(rotated.sign(claims()))).principal == "auth0|alice"  # not 300 s later
    assert len(jwks.requests) == 3


def test_a_jwks_endpoint_down_at_cold_start_rejects_tokens_and_recovers(verifier, key, jwks, clock):
    jwks.up = False
    with pytest.raises(InvalidToken):
        verifier.verify(bearer(key.sign(claims())))
    jwks.up = True
    clock.now += 10
    assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"


# --- unusable entries in the key set ------------------------------------------------------------------------------


def _public_jwk_of_a_new_key(kid: str) -> dict:
    return SigningKey.generate(kid=kid).public_jwk()


def _private_jwk(key: SigningKey) -> dict:
    """The key as a JWK with its private members, as a tenant must never publish it."""
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.private_key)), **_without(key.public_jwk(), "n")}


def _without(entry: dict, member: str) -> dict:
    return {name: value for name, value in entry.items() if name != member}


# Each entry a tenant's key set might hold beside its good keys, and that cannot verify our tokens: (what makes it
# unusable, as logged; the entry). Every one is skipped and logged, and never costs the key set its good keys.
UNUSABLE_ENTRIES: dict[str, tuple[str, Callable[[], object]]] = {
    "bad n": ("InvalidKeyError", lambda: {**_public_jwk_of_a_new_key("bad-n"), "n": "not-a-modulus!"}),
    "n too short": ("InvalidKeyError", lambda: {**_public_jwk_of_a_new_key("short-n"), "n": "AQ"}),
    "missing e": ("InvalidKeyError", lambda: _without(_public_jwk_of_a_new_key("no-e"), "e")),
    "n not a string": ("InvalidKeyError", lambda: {**_public_jwk_of_a_new_key("numeric-n"), "n": 12345}),
    "unknown kty": ("not an RSA key", lambda: {**_public_jwk_of_a_new_key("kty-xyz"), "kty": "XYZ"}),
    "kty not a string": ("not an RSA key", lambda: {**_public_jwk_of_a_new_key("kty-list"), "kty": ["RSA"]}),
    "use enc": ("not a signing key", lambda: {**_public_jwk_of_a_new_key("for-encryption"), "use": "enc"}),
    "use not a string": ("not a signing key", lambda: {**_public_jwk_of_a_new_key("use-list"), "use": ["sig"]}),
    "alg of another algorithm": (
        "for another algorithm",
        lambda: {**_public_jwk_of_a_new_key("rs512"), "alg": "RS512"},
    ),
    "kid not a string": ("no kid", lambda: {**_public_jwk_of_a_new_key("x"), "kid": 7}),
    "a 1024-bit key": (
        "shorter than 2048 bits",
        lambda: {
            **json.loads(
                jwt.algorithms.RSAAlgorithm.to_jwk(
                    rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
                )
            ),
            "kid": "weak",
        },
    ),
    "private key published": ("private key material", lambda: _private_jwk(SigningKey.generate(kid="leaked"))),
    "a string, not an object": ("not a JSON object", lambda: "a key"),
    "null": ("not a JSON object", lambda: None),
}


@pytest.mark.parametrize("case", sorted(UNUSABLE_ENTRIES))
def test_an_unusable_entry_is_skipped_and_logged_and_rotation_goes_on_beside_it(key, clock, caplog, case):
    reason, make = UNUSABLE_ENTRIES[case]
    unusable = make()
    # Given a key set that holds the unusable entry beside the key that signs today's tokens
    with JwksStub({"keys": [unusable, key.public_jwk()]}) as tenant:
        verifier = TokenVerifier(ISSUER, (AUDIENCE,), JwksCache(tenant.jwks_url, clock=clock))
        # Then the good key verifies, and the entry was skipped with its reason
        caplog.clear()
        assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"
        [skipped] = [record for record in caplog.records if record.getMessage() == "Skipping an unusable JWKS key"]
        assert reason in skipped.reason, skipped.reason
        # and a key the tenant adds beside the entry is accepted once the refetch interval has passed
        added = SigningKey.generate(kid="added")
        tenant.document = {"keys": [unusable, key.public_jwk(), added.public_jwk()]}
        clock.now += JWKS_REFETCH_INTERVAL_SECONDS
        assert verifier.verify(bearer(added.sign(claims()))).principal == "auth0|alice"
        # and a key the tenant removes stops verifying at the maximum age, while the one it kept goes on verifying
        tenant.document = {"keys": [added.public_jwk(), unusable]}
        clock.now += JWKS_MAX_AGE_SECONDS - 1
        assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"
        clock.now += 1
        with pytest.raises(InvalidToken, match="unknown kid"):
            verifier.verify(bearer(key.sign(claims())))
        assert verifier.verify(bearer(added.sign(claims()))).principal == "auth0|alice"
        assert len(tenant.requests) == 3


def test_a_token_signed_with_the_key_of_an_unusable_entry_is_refused(key, clock):
    # Real keys whose entries are unusable: one for encryption, one whose private part the tenant published.
    for_encryption = SigningKey.generate(kid="for-encryption")
    leaked = SigningKey.generate(kid="leaked")
    served = {"keys": [{**for_encryption.public_jwk(), "use": "enc"}, _private_jwk(leaked), key.public_jwk()]}
    with JwksStub(served) as tenant:
        verifier = TokenVerifier(ISSUER, (AUDIENCE,), JwksCache(tenant.jwks_url, clock=clock))
        assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"  # the control
        for refused in (for_encryption, leaked):
            with pytest.raises(InvalidToken, match="unknown kid"):
                verifier.verify(bearer(refused.sign(claims())))


def test_a_key_set_with_only_unusable_entries_keeps_the_cached_keys_and_says_so(verifier, key, jwks, clock, caplog):
    verifier.verify(bearer(key.sign(claims())))
    jwks.document = {"keys": [{**key.public_jwk(), "n": "not-a-modulus!"}]}
    clock.now += JWKS_MAX_AGE_SECONDS
    caplog.clear()
    assert verifier.verify(bearer(key.sign(claims()))).principal == "auth0|alice"
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        "Skipping an unusable JWKS key",
        "JWKS fetched without a usable key; keeping cached keys",
    ]


def test_an_unreachable_jwks_url_is_a_rejection_not_a_crash(key, clock):
    verifier = TokenVerifier(ISSUER, (AUDIENCE,), JwksCache("http://127.0.0.1:9/jwks.json", clock=clock))
    with pytest.raises(InvalidToken):
        verifier.verify(bearer(key.sign(claims())))


@pytest.fixture
def authorizer(service_env, caplog):
    """The authorizer function, verifying against the JWKS its environment serves; returns its Allow policy or the
    reason it logged for refusing (its `Unauthorized` checked to be exactly what API Gateway turns into a 401)."""
    from localdev.lambda_context import LocalLambdaContext
    from tests.helpers import FUNCTIONS

    handler = FUNCTIONS["authorizer"].load()

    def call(token: str) -> dict | str:
        event = {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {token}",
            "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/GET/api/progress/alice",
        }
        caplog.clear()
        try:
            return handler(event, LocalLambdaContext("AuthorizerFunction"))
        except Exception as raised:
            # Exactly this exception (API Gateway turns it into 401); anything else would be a 500 at API Gateway.
            assert type(raised) is Exception and str(raised) == "Unauthorized"
        [refusal] = [record for record in caplog.records if record.getMessage() == "Token rejected"]
        return str(refusal.reason)

    return call


def test_the_authorizer_positive_control_allows_a_valid_token_signed_by_the_served_key(authorizer, signing_key):
    policy = authorizer(signing_key.sign(claims()))
    assert isinstance(policy, dict) and policy["principalId"] == "auth0|alice"
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_authorizer_refuses_every_hostile_token_for_its_own_reason(authorizer, signing_key, attacker, case):
    # signing_key is the key the authorizer's JWKS serves, so only the case's own flaw can refuse the token.
    reason, make = HOSTILE[case]
    refused = authorizer(make(signing_key, attacker))
    assert isinstance(refused, str), f"{case} was allowed"
    assert reason in refused


def test_a_lone_surrogate_sub_is_accepted_and_logged_escaped(authorizer, signing_key, caplog):
    policy = authorizer(signing_key.sign(claims(sub="auth0|\ud800x")))
    assert isinstance(policy, dict) and policy["principalId"] == "auth0|\ud800x"
    [accepted] = [record for record in caplog.records if record.getMessage() == "Token accepted"]
    assert accepted.principal == "auth0|\\ud800x"
    accepted.principal.encode("utf-8")  # the audit line can be written


def test_the_jwks_fetch_reads_a_key_set_and_refuses_anything_else(key):
    from localdev.stubs import StubServer
    from progress_tracking.tokens import MAX_JWKS_BYTES, fetch_jwks

    answers = {
        "/jwks.json": (200, key.jwks()),
        "/down": (503, {"message": "down"}),
        "/moved": (302, key.jwks()),  # a redirect is not followed (nor its body taken)
        "/html": (200, b"<html>not json</html>"),
        "/list": (200, {"keys": "not a list"}),
        "/huge": (200, {"keys": [], "padding": "x" * MAX_JWKS_BYTES}),
    }
    with StubServer(lambda path: answers[path.split("?")[0]]) as server:
        # The control: the same server's key set is read, query string and all.
        assert fetch_jwks(f"{server.url}/jwks.json?v=1") == key.jwks()
        for path in ("/down", "/moved", "/html", "/list", "/huge"):
            with pytest.raises(ValueError):
                fetch_jwks(f"{server.url}{path}")
        assert server.requests[0] == "/jwks.json?v=1"
    with pytest.raises(ValueError):
        fetch_jwks("ftp://127.0.0.1/jwks.json")


# --- a scope is one word --------------------------------------------------------------------------------------------

# A signed scope or permission value with whitespace inside, each hiding admin:progress beside read:progress.
HIDDEN_ADMIN = {
    "permission with a space": {"permissions": ["read:progress admin:progress"]},
    "permission with a tab": {"permissions": ["read:progress\tadmin:progress"]},
    "permission with an em space": {"permissions": ["read:progress\u2003admin:progress"]},
    "permission with a newline": {"permissions": ["read:progress\nadmin:progress"]},
    "scope with a tab": {"scope": "read:progress\tadmin:progress"},
    "scope with an em space": {"scope": "read:progress\u2003admin:progress"},
    "scope with a no-break space": {"scope": "read:progress\u00a0admin:progress"},
}


@pytest.mark.parametrize("case", sorted(HIDDEN_ADMIN))
def test_the_authorizer_passes_no_scope_value_with_whitespace_inside(authorizer, signing_key, case):
    # Given a token whose one honest scope is write:progress, and a value hiding admin:progress
    token = signing_key.sign(claims(**{"scope": "write:progress", **HIDDEN_ADMIN[case]}))
    policy = authorizer(token)
    # Then the token is allowed, with the honest scope alone, and the handlers read exactly that
    assert isinstance(policy, dict), policy
    from progress_tracking.authz import caller_from_context

    scopes = caller_from_context({**policy["context"], "principalId": policy["principalId"]}).scopes
    assert scopes == ({"write:progress"} if "scope" not in HIDDEN_ADMIN[case] else set())


def test_the_authorizer_positive_control_passes_each_scope_and_permission_as_one(authorizer, signing_key):
    from progress_tracking.authz import caller_from_context

    policy = authorizer(signing_key.sign(claims(scope="read:progress  write:progress", permissions=["admin:progress"])))
    scopes = caller_from_context({**policy["context"], "principalId": policy["principalId"]}).scopes
    assert scopes == {"read:progress", "write:progress", "admin:progress"}


@pytest.mark.parametrize("case", sorted(HIDDEN_ADMIN))
def test_a_scope_value_with_whitespace_inside_grants_nothing_through_the_gateway(api, tokens, new_user, case):
    # Given alice's token with her honest scopes, and a value hiding admin:progress (which would let her act for bob)
    alice, bob = new_user("alice"), new_user("bob")
    log(api, tokens.user(bob), bob)
    honest = "read:progress delete:progress"
    hidden = HIDDEN_ADMIN[case]
    extra = {"permissions": hidden["permissions"]} if "permissions" in hidden else {}
    scope = f"{honest} {hidden['scope']}" if "scope" in hidden else honest
    token = tokens.user(alice, scope=scope, extra=extra)
    # Then she reads her own data (her honest scope stands), and neither reads nor erases bob's
    assert api.call("GET", f"/api/progress/{alice}", token).status_code == 200
    assert_error(api.call("GET", f"/api/progress/{bob}", token), 403, "forbidden")
    assert_error(api.call("DELETE", f"/api/progress/user/{bob}/logs?erase=true", token), 403, "insufficient_scope")
    assert len(api.call("GET", f"/api/progress/{bob}", tokens.user(bob)).json()["progress_logs"]) == 1
    # The control: admin:progress as a value of its own does let her read bob's data
    admin = tokens.user(alice, scope=honest, extra={"permissions": ["admin:progress"]})
    assert api.call("GET", f"/api/progress/{bob}", admin).status_code == 200
