"""Shared test inputs: the committed fixtures, the pinned instant, and the cryptography-vectors package."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
NOW = "2026-06-01T00:00:00Z"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
PASSWORDS = FIXTURES / "passwords.txt"


@cache
def fixture_manifest() -> dict:
    return json.loads((FIXTURES / "manifest.json").read_text())


def vectors_dir() -> Path:
    import cryptography_vectors

    return Path(cryptography_vectors.__file__).parent


@cache
def fixtures_result():
    """One check of the whole fixtures folder at the pinned instant (shared: it is read-only)."""
    from certpipe import pipeline

    opts = pipeline.Options(
        paths=(str(FIXTURES),),
        at=AT,
        passwords=tuple(PASSWORDS.read_bytes().split()),
        jobs=1,
    )
    return pipeline.check(opts)


def cli(*args: object, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Invoke the CLI in-process; returns (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from certpipe.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def run_cli():
    """The in-process CLI, as a fixture."""
    return cli
