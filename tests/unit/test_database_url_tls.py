"""The database URL rule: a URL that asks for TLS (sslmode=require, Neon's) verifies the server's certificate and
name against the system's CA bundle (sslmode=verify-full); local servers and explicit choices are left alone."""

from __future__ import annotations

import pytest
from psycopg2.extensions import libpq_version, parse_dsn

from progress_tracking.database_url import system_ca_file, verified_dsn

CA = "/etc/pki/tls/cert.pem"
NEON = "postgresql://app:s3cr%3Bt@ep-cool-rain-123456-pooler.eu-west-1.aws.neon.tech/progress?sslmode=require"


def test_a_url_that_requires_tls_verifies_the_certificate_and_the_host_name():
    verified = parse_dsn(verified_dsn(NEON, CA))
    assert (verified["sslmode"], verified["sslrootcert"]) == ("verify-full", CA)
    # Everything else as it was (the password's escaped character included).
    assert {k: v for k, v in verified.items() if not k.startswith("ssl")} == {
        k: v for k, v in parse_dsn(NEON).items() if not k.startswith("ssl")
    }
    assert parse_dsn(NEON)["password"] == "s3cr;t"


def test_a_keyword_dsn_follows_the_same_rule():
    verified = parse_dsn(verified_dsn("host=db.example.com dbname=progress user=app sslmode=require", CA))
    assert (verified["sslmode"], verified["sslrootcert"], verified["host"]) == ("verify-full", CA, "db.example.com")


def test_verify_modes_without_a_root_certificate_get_the_systems_and_keep_their_mode():
    for mode in ("verify-ca", "verify-full"):
        verified = parse_dsn(verified_dsn(f"postgresql://app@db.example.com/progress?sslmode={mode}", CA))
        assert (verified["sslmode"], verified["sslrootcert"]) == (mode, CA)


@pytest.mark.parametrize(
    "dsn",
    [
        # The URL chose otherwise: no TLS asked for, or TLS without verification on purpose, or its own CA.
        "postgresql://app@db.example.com/progress",
        "postgresql://app@db.example.com/progress?sslmode=disable",
        "postgresql://app@db.example.com/progress?sslmode=allow",
        "postgresql://app@db.example.com/progress?sslmode=prefer",
        "postgresql://app@db.example.com/progress?sslmode=require&sslrootcert=/opt/ca.pem",
        "postgresql://app@db.example.com/progress?sslmode=verify-full&sslrootcert=/opt/ca.pem",
        # This machine's servers (the local app, the tests, a local PgBouncer): no public certificate to verify.
        "postgresql://postgres@127.0.0.1:5432/progress?sslmode=require",
        "postgresql://postgres@localhost/progress?sslmode=require",
        "postgresql://postgres@[::1]:5432/progress?sslmode=require",
        "host=/var/run/postgresql dbname=progress sslmode=require",
        "dbname=progress sslmode=require",
    ],
)
def test_explicit_choices_and_local_servers_are_left_as_they_are(dsn):
    assert verified_dsn(dsn, CA) == dsn


def test_without_a_system_ca_bundle_the_url_is_left_as_it_is():
    assert verified_dsn(NEON, None) == NEON


def test_the_bundled_libpq_takes_the_result_and_this_system_has_a_ca_bundle():
    # parse_dsn is libpq's own parser: it refuses a keyword it does not know. psycopg2-binary's libpq is 17; its own
    # OpenSSL looks for "system" certificates under its build directory, hence the file the system's Python finds.
    assert libpq_version() >= 170000
    ca_file = system_ca_file()
    assert ca_file is not None
    assert parse_dsn(verified_dsn(NEON, ca_file))["sslrootcert"] == ca_file


def test_the_url_the_functions_connect_with_verifies_tls(monkeypatch):
    from progress_tracking import config, database_url

    monkeypatch.setenv("DATABASE_URL", NEON)
    config.get_settings.cache_clear()
    try:
        assert parse_dsn(database_url.resolve())["sslmode"] == "verify-full"
    finally:
        config.get_settings.cache_clear()


def test_a_value_that_is_no_dsn_is_left_for_connecting_to_refuse():
    assert verified_dsn("not a dsn", CA) == "not a dsn"
