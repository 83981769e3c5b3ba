"""The pre-commit hooks in .pre-commit-hooks.yaml, run for real with `pre-commit try-repo`.

try-repo clones the hook repository, makes a fresh virtualenv and pip-installs it (so it needs PyPI or
a pip cache, as CI does), then runs the hook in a throw-away git repository of fixture copies. It sees
only what is committed or tracked, so the tests snapshot this working tree (tracked and untracked,
minus what .gitignore leaves out) into a temporary repository first: what is tested is the code on
disk, not the last commit. Each run installs anew (try-repo keeps its store in a temporary folder,
whatever PRE_COMMIT_HOME says): a few seconds each with a warm pip cache.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow

HOOKS = ROOT / ".pre-commit-hooks.yaml"
GIT = shutil.which("git")
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "certpipe tests",
    "GIT_AUTHOR_EMAIL": "tests@certpipe.invalid",
    "GIT_COMMITTER_NAME": "certpipe tests",
    "GIT_COMMITTER_EMAIL": "tests@certpipe.invalid",
}
# Certificate material the hooks' `files` pattern must and must not select.
SELECTED = ["a.pem", "b.crt", "c.cer", "d.der", "e.key", "f.p12", "g.pfx", "h.p7b", "i.p7c", "J.PEM"]
NOT_SELECTED = ["akv.json", "values.yaml", "README.md", "pem", "a.pem.bak"]


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        [GIT or "git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_manifest_is_valid_and_selects_certificate_files():
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="pre-commit is not installed")
    hooks = {h["id"]: h for h in clientlib.load_manifest(str(HOOKS))}
    assert set(hooks) == {"certpipe-check", "certpipe-check-repo"}
    check, repo = hooks["certpipe-check"], hooks["certpipe-check-repo"]
    assert (check["entry"], check["language"], check["pass_filenames"]) == ("certpipe check", "python", True)
    assert (repo["entry"], repo["pass_filenames"], repo["always_run"]) == ("certpipe check .", False, False)
    # One process must see every file: pairing and chains work across files.
    assert check["require_serial"] and repo["require_serial"]
    for hook in hooks.values():
        assert all(re.search(hook["files"], name) for name in SELECTED)
        assert not any(re.search(hook["files"], name) for name in NOT_SELECTED)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> Path:
    """This working tree committed into a temporary repository, as try-repo wants it."""
    if PRE_COMMIT is None:
        pytest.skip("pre-commit is not installed (pip install pre-commit, or the 'test' extra)")
    if GIT is None:
        pytest.skip("git is not installed")
    snapshot = tmp_path_factory.mktemp("hook-repo")
    if (ROOT / ".git").exists():
        listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT).split("\0")
        for rel in filter(None, listed):
            if (ROOT / rel).is_file():  # deleted but not yet staged: absent
                (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, snapshot / rel)
    else:  # an unpacked sdist: what pip needs to install it
        for rel in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
            shutil.copy2(ROOT / rel, snapshot / rel)
        shutil.copytree(
            ROOT / "certpipe", snapshot / "certpipe", ignore=shutil.ignore_patterns("__pycache__")
        )
    git("init", "-q", cwd=snapshot)
    git("add", "-A", cwd=snapshot)
    git("commit", "-q", "-m", "snapshot of the working tree", cwd=snapshot)
    return snapshot


@pytest.fixture
def user_repo(tmp_path) -> Path:
    """A project using the hooks: fixture copies in their usual folders (pre-commit runs at its root)."""
    root = tmp_path / "project"
    for rel in (
        "pem-pair/site.crt",
        "pem-pair/site.key",
        "ca/root.pem",
        "ca/intermediate.pem",
        "der/leaf.cer",
        "der/leaf.key",
        "pkcs1/rsa.crt",
        "pkcs1/rsa.key",
        "expired/expired.pem",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / rel, root / rel)
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return root


def try_repo(hook_repo: Path, user_repo: Path, hook: str, *files: str) -> tuple[int, str]:
    proc = subprocess.run(
        [
            str(PRE_COMMIT),
            "try-repo",
            str(hook_repo),
            hook,
            "--verbose",
            "--color",
            "never",
            "--files",
            *files,
        ],
        cwd=user_repo,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **GIT_ENV},
    )
    output = proc.stdout + proc.stderr
    if "An unexpected error has occurred" in output or "[ERROR]" in output:
        pytest.fail(f"pre-commit could not set the hook up (is PyPI or a pip cache reachable?):\n{output}")
    return proc.returncode, output


# The hooks run at the real time: these certificates stay valid until 2035; expired.pem expired in 2021.


def test_hook_fails_on_an_expired_certificate(hook_repo, user_repo):
    code, output = try_repo(hook_repo, user_repo, "certpipe-check", "expired/expired.pem")
    assert code == 1, output
    assert re.search(r"^certpipe check\.+Failed$", output, re.M), output
    assert "error   expired: expired/expired.pem: CN=expired.example.com expired on 2021-01-01" in output


def test_hook_passes_pairs_with_their_chain_spread_over_many_files(hook_repo, user_repo):
    # Eight files: without require_serial pre-commit would split them over processes (4+ each), and a
    # certificate and its key could be checked apart (no-private-key, orphan-key).
    files = [
        "pem-pair/site.crt",
        "der/leaf.key",
        "ca/root.pem",
        "pkcs1/rsa.key",
        "pem-pair/site.key",
        "ca/intermediate.pem",
        "pkcs1/rsa.crt",
        "der/leaf.cer",
    ]
    code, output = try_repo(hook_repo, user_repo, "certpipe-check", *files)
    assert code == 0, output
    assert re.search(r"^certpipe check\.+Passed$", output, re.M), output
    assert "8 files (0 skipped), 3 certificates: 3 ready, 0 warning, 0 error" in output


def test_hook_honours_the_repository_configuration(hook_repo, user_repo):
    (user_repo / "pyproject.toml").write_text('[tool.certpipe]\nexclude = ["expired/**"]\n')
    code, output = try_repo(
        hook_repo,
        user_repo,
        "certpipe-check",
        "expired/expired.pem",
        "pem-pair/site.crt",
        "pem-pair/site.key",
        "ca/root.pem",
        "ca/intermediate.pem",
    )
    assert code == 0, output
    assert "5 files (1 skipped), 1 certificate: 1 ready" in output


def test_repo_hook_checks_the_whole_repository_when_a_certificate_changes(hook_repo, user_repo):
    shutil.rmtree(user_repo / "expired")
    # Only the certificate changed: the per-file hook cannot see its key, the repository hook can.
    code, output = try_repo(hook_repo, user_repo, "certpipe-check", "pem-pair/site.crt")
    assert code == 1 and "no-private-key" in output, output
    code, output = try_repo(hook_repo, user_repo, "certpipe-check-repo", "pem-pair/site.crt")
    assert code == 0, output
    assert re.search(r"^certpipe check \(whole repository\)\.+Passed$", output, re.M), output
    assert "8 files (0 skipped), 3 certificates: 3 ready, 0 warning, 0 error" in output
