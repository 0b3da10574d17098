"""Configuration fails at start-up, with a message naming the variable, never later."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from fangkong.core import env
from fangkong.core.keys import DEMO_KEYS_FILE, load_demo_keys, load_production_keys

ROOT = Path(__file__).resolve().parents[2]
VAR = "FANGKONG_TEST_SETTING"


def _b64() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


# --- typed env helpers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "call"),
    [
        ("maybe", lambda: env.env_bool(VAR, False)),
        ("2", lambda: env.env_bool(VAR, True)),
        ("ten", lambda: env.env_int(VAR, 1)),
        ("1.5", lambda: env.env_int(VAR, 1)),
        ("0", lambda: env.env_int(VAR, 1, minimum=1)),
        ("sqlite", lambda: env.env_choice(VAR, "demo", ("demo", "production"))),
    ],
)
def test_bad_values_are_rejected_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, call: Any
) -> None:
    monkeypatch.setenv(VAR, value)
    with pytest.raises(ImproperlyConfigured, match=VAR):
        call()


def test_good_values_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for raw, expected in (("yes", True), ("OFF", False), (" 1 ", True), ("", False)):
        monkeypatch.setenv(VAR, raw)
        assert env.env_bool(VAR, not expected) is expected
    monkeypatch.setenv(VAR, " 42 ")
    assert env.env_int(VAR, 1, minimum=1) == 42
    monkeypatch.setenv(VAR, "Production")
    assert env.env_choice(VAR, "demo", ("demo", "production")) == "production"
    monkeypatch.setenv(VAR, "a, b,,c ")
    assert env.env_list(VAR, ()) == ["a", "b", "c"]
    monkeypatch.setenv(VAR, str(tmp_path / "x" / ".." / "y"))
    assert env.env_path(VAR, Path("/nope")) == tmp_path / "y"


def test_defaults_and_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    assert env.env_bool(VAR, True) is True
    assert env.env_int(VAR, 7) == 7
    assert env.env_str(VAR, "d") == "d"
    assert env.env_optional(VAR) is None
    with pytest.raises(ImproperlyConfigured, match=f"{VAR} is required"):
        env.env_str(VAR, required=True)
    monkeypatch.setenv(VAR, "   ")
    with pytest.raises(ImproperlyConfigured, match=f"{VAR} is required"):
        env.env_str(VAR, "default", required=True)


# --- production keys ----------------------------------------------------------------------


def _production(data_dir: Path, **overrides: str) -> Any:
    args = {
        "secret_key": secrets.token_urlsafe(50),
        "pii_spec": f"p1:{_b64()}",
        "blind_index_b64": _b64(),
        "audit_b64": _b64(),
        **overrides,
    }
    return load_production_keys(data_dir=data_dir, **args)


def test_production_accepts_fresh_keys(tmp_path: Path) -> None:
    load_demo_keys(tmp_path)  # a leftover demo file does not matter if nothing is reused
    keys = _production(tmp_path, pii_spec=f"p2:{_b64()},p1:{_b64()}")
    assert keys.active_key_id == "p2" and set(keys.pii_keys) == {"p2", "p1"}


@pytest.mark.parametrize("reused", ["pii", "old_pii", "secret", "blind", "audit"])
def test_production_refuses_demo_keys(tmp_path: Path, reused: str) -> None:
    demo = load_demo_keys(tmp_path)
    stored = json.loads((tmp_path / DEMO_KEYS_FILE).read_text())
    overrides = {
        "pii": {"pii_spec": stored["pii_keys"]},
        # the demo key kept as an old, decrypt-only key is refused too
        "old_pii": {"pii_spec": f"p9:{_b64()},{stored['pii_keys']}"},
        "secret": {"secret_key": demo.secret_key},
        "blind": {"blind_index_b64": stored["blind_index_key"]},
        "audit": {"audit_b64": stored["audit_key"]},
    }[reused]
    with pytest.raises(ImproperlyConfigured, match="demo"):
        _production(tmp_path, **overrides)


def test_production_refuses_a_short_secret(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="FANGKONG_SECRET_KEY"):
        _production(tmp_path, secret_key="s" * 39)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"pii_spec": "k1:short"}, "FANGKONG_PII_KEYS"),
        ({"blind_index_b64": base64.b64encode(b"16 bytes only!!!").decode()}, "BLIND_INDEX"),
        ({"audit_b64": base64.b64encode(b"16 bytes only!!!").decode()}, "FANGKONG_AUDIT_KEY"),
        ({"audit_b64": "not base64!"}, "FANGKONG_AUDIT_KEY"),
    ],
)
def test_production_refuses_malformed_keys(
    tmp_path: Path, override: dict[str, str], named: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=named):
        _production(tmp_path, **override)


def test_production_refuses_an_audit_key_shared_with_the_blind_index(tmp_path: Path) -> None:
    shared = _b64()
    with pytest.raises(ImproperlyConfigured, match="FANGKONG_AUDIT_KEY must differ"):
        _production(tmp_path, blind_index_b64=shared, audit_b64=shared)


def test_demo_keys_are_created_once_and_private(tmp_path: Path) -> None:
    first = load_demo_keys(tmp_path)
    assert load_demo_keys(tmp_path) == first
    assert len(first.audit_key) == 32 and first.audit_key != first.blind_index_key
    assert (tmp_path / DEMO_KEYS_FILE).stat().st_mode & 0o077 == 0


def test_a_demo_keys_file_from_before_the_audit_key_gains_one(tmp_path: Path) -> None:
    """A data dir made before the keyed audit chain keeps its keys and gets an audit key."""
    first = load_demo_keys(tmp_path)
    path = tmp_path / DEMO_KEYS_FILE
    stored = json.loads(path.read_text())
    del stored["audit_key"]
    path.write_text(json.dumps(stored))
    again = load_demo_keys(tmp_path)
    assert again.pii_keys == first.pii_keys and again.secret_key == first.secret_key
    assert len(again.audit_key) == 32
    assert load_demo_keys(tmp_path).audit_key == again.audit_key
    assert path.stat().st_mode & 0o077 == 0


# --- start-up in a fresh process ----------------------------------------------------------


def _start(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "VIRTUAL_ENV")
    child_env = {k: v for k, v in os.environ.items() if k in keep}
    child_env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        FANGKONG_MODE="production",
        FANGKONG_DATA_DIR=str(tmp_path),
    )
    child_env.update(extra)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_start_fails_without_keys(tmp_path: Path) -> None:
    done = _start(tmp_path)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "environment variable FANGKONG_SECRET_KEY is required but not set" in done.stderr
    assert "started" not in done.stdout


def test_production_start_requires_the_audit_key(tmp_path: Path) -> None:
    done = _start(
        tmp_path,
        FANGKONG_SECRET_KEY=secrets.token_urlsafe(50),
        FANGKONG_PII_KEYS=f"p1:{_b64()}",
        FANGKONG_BLIND_INDEX_KEY=_b64(),
    )
    assert done.returncode != 0
    assert "environment variable FANGKONG_AUDIT_KEY is required but not set" in done.stderr
    assert "started" not in done.stdout


def test_production_start_fails_on_demo_keys_and_succeeds_on_fresh_ones(tmp_path: Path) -> None:
    load_demo_keys(tmp_path)
    stored = json.loads((tmp_path / DEMO_KEYS_FILE).read_text())
    fresh = {
        "FANGKONG_SECRET_KEY": secrets.token_urlsafe(50),
        "FANGKONG_BLIND_INDEX_KEY": _b64(),
        "FANGKONG_AUDIT_KEY": _b64(),
    }
    refused = _start(tmp_path, FANGKONG_PII_KEYS=stored["pii_keys"], **fresh)
    assert refused.returncode != 0
    assert "production mode refuses the demo keys" in refused.stderr
    started = _start(tmp_path, FANGKONG_PII_KEYS=f"p1:{_b64()}", **fresh)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"
    demo_audit = {**fresh, "FANGKONG_AUDIT_KEY": stored["audit_key"]}
    refused = _start(tmp_path, FANGKONG_PII_KEYS=f"p1:{_b64()}", **demo_audit)
    assert refused.returncode != 0
    assert "production mode refuses the demo audit key" in refused.stderr


# --- transport security (FANGKONG_TLS) ----------------------------------------------------

TRANSPORT = (
    "TLS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_HTTPONLY",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
)
SHOW_TRANSPORT = (
    "import json, django; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{n: getattr(settings, n) for n in {TRANSPORT!r}}}))"
)


def _transport(tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "VIRTUAL_ENV")
    child_env = {k: v for k, v in os.environ.items() if k in keep}
    child_env.update(DJANGO_SETTINGS_MODULE="config.settings", FANGKONG_DATA_DIR=str(tmp_path))
    child_env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-c", SHOW_TRANSPORT],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _transport_settings(tmp_path: Path, **env_vars: str) -> dict[str, Any]:
    done = _transport(tmp_path, **env_vars)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


ALWAYS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "CSRF_COOKIE_HTTPONLY": True,
    "X_FRAME_OPTIONS": "DENY",
    "SECURE_CONTENT_TYPE_NOSNIFF": True,
    "SECURE_REFERRER_POLICY": "same-origin",
}


def test_demo_serves_plain_http_by_default(tmp_path: Path) -> None:
    got = _transport_settings(tmp_path, FANGKONG_MODE="demo")
    assert got == {
        **ALWAYS,
        "TLS": False,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_tls_turns_on_secure_cookies_hsts_and_the_redirect(tmp_path: Path) -> None:
    got = _transport_settings(tmp_path, FANGKONG_MODE="demo", FANGKONG_TLS="1")
    assert got == {
        **ALWAYS,
        "TLS": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_tls_behind_a_proxy_without_the_redirect(tmp_path: Path) -> None:
    got = _transport_settings(
        tmp_path,
        FANGKONG_TLS="yes",
        FANGKONG_SSL_REDIRECT="0",
        FANGKONG_TRUST_X_FORWARDED_PROTO="true",
    )
    assert got["SESSION_COOKIE_SECURE"] and got["SECURE_HSTS_SECONDS"] == 31_536_000
    assert got["SECURE_SSL_REDIRECT"] is False
    assert got["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_assumes_tls_unless_told_otherwise(tmp_path: Path) -> None:
    keys = {
        "FANGKONG_MODE": "production",
        "FANGKONG_SECRET_KEY": secrets.token_urlsafe(50),
        "FANGKONG_PII_KEYS": f"p1:{_b64()}",
        "FANGKONG_BLIND_INDEX_KEY": _b64(),
        "FANGKONG_AUDIT_KEY": _b64(),
    }
    assert _transport_settings(tmp_path, **keys)["SECURE_SSL_REDIRECT"] is True
    plain = _transport_settings(tmp_path, **keys, FANGKONG_TLS="0")
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["SECURE_HSTS_SECONDS"] == 0


@pytest.mark.parametrize(
    ("env_vars", "named"),
    [
        ({"FANGKONG_TLS": "maybe"}, "FANGKONG_TLS='maybe' is not a boolean"),
        ({"FANGKONG_SSL_REDIRECT": "sometimes"}, "FANGKONG_SSL_REDIRECT='sometimes'"),
        ({"FANGKONG_TRUST_X_FORWARDED_PROTO": "2"}, "FANGKONG_TRUST_X_FORWARDED_PROTO='2'"),
        ({"FANGKONG_SSL_REDIRECT": "1"}, "FANGKONG_SSL_REDIRECT=1 needs FANGKONG_TLS=1"),
    ],
)
def test_bad_transport_settings_stop_the_start(
    tmp_path: Path, env_vars: dict[str, str], named: str
) -> None:
    done = _transport(tmp_path, FANGKONG_MODE="demo", **env_vars)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and named in done.stderr


# --- the shared cache the throttles count in ------------------------------------------------

_PRINT_CACHE = (
    "import django, json; django.setup(); from django.conf import settings; "
    "print(json.dumps(settings.CACHES['default']))"
)


def _cache_setting(tmp_path: Path, **extra: str) -> dict[str, Any]:
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT", "VIRTUAL_ENV")
    child_env = {k: v for k, v in os.environ.items() if k in keep}
    child_env.update(
        DJANGO_SETTINGS_MODULE="config.settings", FANGKONG_DATA_DIR=str(tmp_path), **extra
    )
    done = subprocess.run(
        [sys.executable, "-c", _PRINT_CACHE],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_redis_url_makes_the_default_cache_redis(tmp_path: Path) -> None:
    """Throttles (search, look-ups) count in the default cache: shared when Redis is set."""
    plain = _cache_setting(tmp_path)
    assert plain["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    shared = _cache_setting(tmp_path, FANGKONG_REDIS_URL="redis://127.0.0.1:6379/3")
    assert shared["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert shared["LOCATION"] == "redis://127.0.0.1:6379/3"


def test_two_processes_count_together_in_redis() -> None:
    """One real round-trip: two cache clients (as two server processes) share one counter."""
    import redis
    from django.core.cache.backends.redis import RedisCache

    url = os.environ.get("FANGKONG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis at {url} is unreachable: {exc}")
    key = f"fangkong-test:{secrets.token_hex(8)}"
    one, two = RedisCache(url, {}), RedisCache(url, {})
    try:
        assert one.add(key, 0, timeout=60)
        assert one.incr(key) == 1
        assert two.incr(key) == 2
        assert one.get(key) == 2
    finally:
        one.delete(key)
