"""Batch behaviour users expect (issue 4): every file accounted for, idempotent and resumable runs,
naming, per-file passwords, import scripts and a quiet stderr."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, NOW, PASSWORDS, ROOT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import make_cert

LOCKED_PASSWORD = "not-a-candidate-7f3e"  # fixtures/make_fixtures.py: deliberately not in passwords.txt
# (path inside the corpus, fixture it is copied from): a good pair + CAs, a duplicate, a broken file,
# a README, a non-certificate YAML, an orphan key, a locked PFX, a PFX that passwords.txt opens and an
# expired item.
LAYOUT = (
    ("ca/root.pem", "ca/root.pem"),
    ("ca/intermediate.pem", "ca/intermediate.pem"),
    ("pair/site.crt", "pem-pair/site.crt"),
    ("pair/site.key", "pem-pair/site.key"),
    ("dup/site-copy.crt", "duplicate/site-copy.crt"),
    ("der/leaf.cer", "der/leaf.cer"),
    ("der/leaf.key", "der/leaf.key"),
    ("pfx/modern.pfx", "pfx/modern.pfx"),
    ("expired/expired.pem", "expired/expired.pem"),
    ("broken/truncated.pem", "broken/truncated.pem"),
    ("docs/README.md", "notcert/README.md"),
    ("docs/values.yaml", "notcert/values.yaml"),
    ("orphan/lonely.key", "orphan/lonely.key"),
    ("locked/locked.pfx", "locked/locked.pfx"),
)
SITE_SHA1 = "8C7D3ED8F90380E8F9DB8961CF6562AD803247B1"
DER_SHA1 = "695F0CCFED32A64150FCC05D875C5A04F67234AE"
SHOP_SHA1 = "0EF3C42FAAB17EC9A434CBDAD06925578A2CA45D"
EXPIRED_SHA1 = "53BA8543CFD1B05D2B555FB66A2650E8E1F7DD50"
ALL_ITEMS = ["der-example-com", "expired-example-com", "shop-modern-example-com", "site-example-com"]
READY = ["der-example-com", "shop-modern-example-com", "site-example-com"]
NOT_MATERIAL = "not certificate material (by name and content)"
# path -> (format, status, items it fed, reason, rules of its findings)
EXPECTED_FILES = {
    "in/broken/truncated.pem": (
        "pem",
        "failed",
        [],
        "in/broken/truncated.pem: line 1: PEM block without a matching END line (truncated?).",
        ["unreadable-input"],
    ),
    # the CA files feed every chain; shop-modern's chain may come from its own PFX instead (see _ca_entry)
    "in/ca/intermediate.pem": ("pem", "used", ALL_ITEMS, None, []),
    "in/ca/root.pem": ("pem", "used", ALL_ITEMS, None, []),
    "in/der/leaf.cer": ("der", "used", ["der-example-com"], None, []),
    "in/der/leaf.key": ("der", "used", ["der-example-com"], None, []),
    "in/docs/README.md": ("unknown", "skipped", [], NOT_MATERIAL, []),
    "in/docs/values.yaml": ("unknown", "skipped", [], NOT_MATERIAL, []),
    "in/dup/site-copy.crt": ("pem", "used", ["site-example-com"], None, []),
    "in/expired/expired.pem": ("pem", "used", ["expired-example-com"], None, []),
    "in/locked/locked.pfx": (
        "pkcs12",
        "failed",
        [],
        "in/locked/locked.pfx: PKCS#12 needs a password; none of the 6 candidates opened it "
        "(use --password-file, --password-env or --passwords).",
        ["password-required"],
    ),
    "in/orphan/lonely.key": (
        "pem",
        "unused",
        [],
        "in/orphan/lonely.key: private key (RSA 2048) matches no certificate in the input.",
        ["orphan-key"],
    ),
    "in/pair/site.crt": ("pem", "used", ["site-example-com"], None, []),
    "in/pair/site.key": ("pem", "used", ["site-example-com"], None, []),
    "in/pfx/modern.pfx": ("pkcs12", "used", ["shop-modern-example-com"], None, []),
}
BUNDLE_FILES = ["certificate.json", "import-request.json", "key.json", "secret.json"]
RUN_FILES = ["import.ps1", "import.sh", "manifest.csv", "manifest.json", "report.html"]
SUMMARY = re.compile(
    r"certpipe: 14 files \(2 skipped\), 4 certificates: 3 ready, 0 warning, 1 error; "
    r"(\d+) files written, (\d+) unchanged in \d+\.\d\ds"
)


def _build(root: Path, layout=LAYOUT) -> Path:
    for dest, src in layout:
        target = root / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / src, target)
    return root


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    """The small corpus in ./in (so source paths read 'in/...'); the working folder is tmp_path."""
    _build(tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    return tmp_path


CONVERT = ("--now", NOW, "--password-file", str(PASSWORDS), "--jobs", "1", "--no-config")


@pytest.fixture
def convert(run_cli):
    """certpipe convert in --out out (pinned instant, passwords.txt, one process, no repository config)."""

    def run(*extra: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        return run_cli("convert", "in", "--out", "out", *CONVERT, *extra, env=env)

    return run


def _manifest(out: Path = Path("out")) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _files(doc: dict) -> dict:
    return {
        f["path"]: (f["format"], f["status"], f["items"], f["reason"], [x["rule"] for x in f["findings"]])
        for f in doc["files"]
    }


def _ca_entry(entry: tuple) -> tuple:
    """A CA file's entry with its items checked: all chains but shop-modern's, which its PFX also holds."""
    fmt, status, items, reason, rules = entry
    assert {"der-example-com", "expired-example-com", "site-example-com"} <= set(items) <= set(ALL_ITEMS)
    return fmt, status, ALL_ITEMS, reason, rules


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _csv_rows(out: Path = Path("out")) -> list[list[str]]:
    return list(csv.reader(io.StringIO((out / "manifest.csv").read_text())))


# ---------------------------------------------------------------- accounting


def test_every_input_file_is_accounted_for_in_manifest_and_report(corpus, convert):
    code, stdout, _ = convert("--format", "json")
    assert code == 1  # the corpus holds errors on purpose
    manifest = _manifest()
    files = _files(manifest)
    for ca in ("in/ca/intermediate.pem", "in/ca/root.pem"):
        files[ca] = _ca_entry(files[ca])
    assert files == EXPECTED_FILES
    report = json.loads(stdout)
    assert report["files"] == manifest["files"]
    assert (
        manifest["summary"]
        == report["summary"]
        == {
            "certificates": 4,
            "error": 1,
            "errors": 3,
            "files": 14,
            "ready": 3,
            "skipped": 2,
            "warning": 0,
            "warnings": 1,
        }
    )
    assert (manifest["version"], manifest["vault"], manifest["content_type"], manifest["evaluated_at"]) == (
        1,
        "example",
        "application/x-pkcs12",
        "2026-06-01T00:00:00Z",
    )
    items = {i["name"]: i for i in manifest["items"]}
    assert list(items) == ALL_ITEMS
    for name in READY:
        assert items[name]["files"] == [
            f"{name}/{f}" for f in ("certificate.json", "key.json", "secret.json", "import-request.json")
        ]
        assert items[name]["skipped"] is None and items[name]["status"] == "ready"
    assert items["site-example-com"]["sources"] == [
        "in/dup/site-copy.crt",
        "in/pair/site.crt",
        "in/pair/site.key",
    ]
    assert (
        items["site-example-com"]["sha1"],
        items["site-example-com"]["subject"],
        items["site-example-com"]["not_after"],
    ) == (SITE_SHA1, "CN=site.example.com", "2035-01-01T00:00:00Z")
    assert items["shop-modern-example-com"]["sources"] == ["in/pfx/modern.pfx"]
    assert items["expired-example-com"] == {
        "name": "expired-example-com",
        "status": "error",
        "sources": ["in/expired/expired.pem"],
        "subject": "CN=expired.example.com",
        "not_after": "2021-01-01T00:00:00Z",
        "sha1": EXPIRED_SHA1,
        "files": [],
        "skipped": "not written: expired",
    }
    site = next(i for i in report["items"] if i["name"] == "site-example-com")
    assert [(f["rule"], f["severity"], f["source"]) for f in site["findings"]] == [
        ("duplicate", "info", "in/dup/site-copy.crt")
    ]
    assert sorted(p.name for p in Path("out").iterdir()) == sorted([*READY, *RUN_FILES])
    for name in READY:
        assert sorted(p.name for p in (Path("out") / name).iterdir()) == BUNDLE_FILES
    # the HTML report names every file that was skipped or failed
    html = (Path("out") / "report.html").read_text()
    for path, (_, status, *_rest) in EXPECTED_FILES.items():
        if status in ("skipped", "failed"):
            assert path in html


def test_manifest_csv_has_a_row_per_source_and_item_and_one_per_file_without_items(corpus, convert):
    convert()
    rows = _csv_rows()
    assert rows[0] == ["source", "item", "status", "subject", "not_after", "sha1"]
    der = ["der-example-com", "ready", "CN=der.example.com", "2035-01-01T00:00:00Z", DER_SHA1]
    site = ["site-example-com", "ready", "CN=site.example.com", "2035-01-01T00:00:00Z", SITE_SHA1]
    expired = ["expired-example-com", "error", "CN=expired.example.com", "2021-01-01T00:00:00Z", EXPIRED_SHA1]
    shop = [
        "shop-modern-example-com",
        "ready",
        "CN=shop-modern.example.com",
        "2035-01-01T00:00:00Z",
        SHOP_SHA1,
    ]
    sourced = [
        ["in/der/leaf.cer", *der],
        ["in/der/leaf.key", *der],
        ["in/dup/site-copy.crt", *site],
        ["in/expired/expired.pem", *expired],
        ["in/pair/site.crt", *site],
        ["in/pair/site.key", *site],
        ["in/pfx/modern.pfx", *shop],
    ]
    assert sorted(r for r in rows[1:] if r[0] not in ("in/ca/root.pem", "in/ca/intermediate.pem")) == sorted(
        [
            *sourced,
            ["in/broken/truncated.pem", "", "failed", "", "", ""],
            ["in/docs/README.md", "", "skipped", "", "", ""],
            ["in/docs/values.yaml", "", "skipped", "", "", ""],
            ["in/locked/locked.pfx", "", "failed", "", "", ""],
            ["in/orphan/lonely.key", "", "unused", "", "", ""],
        ]
    )


def test_manifest_csv_pairs_match_manifest_json_for_every_file(corpus, convert):
    convert()
    rows = _csv_rows()[1:]
    files = _manifest()["files"]
    expected = {(f["path"], item) for f in files for item in f["items"]} | {
        (f["path"], "") for f in files if not f["items"]
    }
    assert {(r[0], r[1]) for r in rows} == expected
    assert len(rows) == len(expected) and {r[0] for r in rows} == set(EXPECTED_FILES)


def test_a_ca_file_feeding_chains_is_used_even_when_a_bundle_also_holds_the_ca(
    tmp_path, monkeypatch, convert
):
    _build(tmp_path / "in", (*LAYOUT[:4], ("bundle/combined.pem", "bundle/combined.pem")))
    monkeypatch.chdir(tmp_path)
    convert()
    files = _files(_manifest())
    assert files["in/ca/intermediate.pem"][1] == "used"
    assert "site-example-com" in files["in/ca/intermediate.pem"][2]


def test_a_reused_key_is_taken_from_the_items_own_folder(tmp_path, monkeypatch, convert):
    key = ec.derive_private_key(7, ec.SECP256R1())
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for host in ("a", "b"):
        cert, _ = make_cert(
            f"{host}.example.com", key=key, sans=(f"{host}.example.com",), serial=1000 + ord(host)
        )
        (tmp_path / "in" / host).mkdir(parents=True)
        (tmp_path / "in" / host / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "in" / host / "tls.key").write_bytes(pem_key)
    monkeypatch.chdir(tmp_path)
    convert()
    manifest = _manifest()
    assert {i["name"]: i["sources"] for i in manifest["items"]} == {
        "a-example-com": ["in/a/tls.crt", "in/a/tls.key"],
        "b-example-com": ["in/b/tls.crt", "in/b/tls.key"],
    }
    assert {p: (s, i) for p, (_, s, i, _, _) in _files(manifest).items()} == {
        "in/a/tls.crt": ("used", ["a-example-com"]),
        "in/a/tls.key": ("used", ["a-example-com"]),
        "in/b/tls.crt": ("used", ["b-example-com"]),
        "in/b/tls.key": ("used", ["b-example-com"]),
    }


# ---------------------------------------------------------------- idempotent, --force


def _age(out: Path) -> dict[Path, tuple[int, int]]:
    """Date every file far back (timestamps are coarser than a run); return each (mtime_ns, inode)."""
    old = 1_000_000_000 * 10**9
    for p in out.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(old, old))
    return {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*") if p.is_file()}


def test_rerun_rewrites_nothing_and_the_summary_says_unchanged(corpus, convert):
    convert()
    before_bytes = _tree(Path("out"))
    before = _age(Path("out"))
    code, _, stderr = convert()
    assert code == 1
    assert {
        p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in Path("out").rglob("*") if p.is_file()
    } == before
    assert _tree(Path("out")) == before_bytes and len(before_bytes) == 3 * 4 + 5
    assert SUMMARY.fullmatch(stderr.strip()).groups() == ("0", "12")


def test_force_rewrites_every_file_with_the_same_bytes(corpus, convert):
    convert()
    before_bytes = _tree(Path("out"))
    before = _age(Path("out"))
    code, _, stderr = convert("--force")
    assert code == 1
    after = {p: (p.stat().st_mtime_ns, p.stat().st_ino) for p in Path("out").rglob("*") if p.is_file()}
    assert set(after) == set(before)
    assert all(after[p][0] != before[p][0] and after[p][1] != before[p][1] for p in before)
    assert _tree(Path("out")) == before_bytes
    assert SUMMARY.fullmatch(stderr.strip()).groups() == ("12", "0")


# ---------------------------------------------------------------- interrupted runs (real subprocesses)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A 300-item corpus from bench/make_corpus.py and the tree an uninterrupted run writes from it."""
    root = tmp_path_factory.mktemp("big")
    corpus = root / "corpus"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "make_corpus.py"), "300", str(corpus)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # the corpus is dated from today
    done = subprocess.run(
        _command(corpus, root / "reference", now), cwd=root, capture_output=True, timeout=120
    )
    assert done.returncode == 1, done.stderr  # it holds broken files on purpose
    reference = _tree(root / "reference")
    assert sum(1 for p in reference if p.endswith("/secret.json")) > 250
    return root, corpus, now, reference


def _command(corpus: Path, out: Path, now: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "certpipe",
        "convert",
        str(corpus),
        "--out",
        str(out),
        "--password-file",
        str(corpus / "passwords.txt"),
        "--now",
        now,
        "--jobs",
        "2",
        "--no-config",
    ]


def _default_sigint() -> None:
    # A shell starting a background job ignores SIGINT for it, and the child would inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(cmd: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "wb") as err:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            preexec_fn=_default_sigint,
        )


def _wait_for_items(proc: subprocess.Popen, out: Path, count: int = 3) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        if out.is_dir() and sum(1 for p in out.iterdir() if p.is_dir()) >= count:
            return
        time.sleep(0.002)
    raise AssertionError("no item folder appeared within 60 s")


def _group_gone(pgid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


TEMP = re.compile(r"\..+\.tmp")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGINT, 130)], ids=["SIGKILL", "SIGINT"]
)
def test_an_interrupted_run_leaves_only_complete_files_and_a_rerun_finishes_it(big, sig, code):
    root, corpus, now, reference = big
    out = root / f"out-{sig.name}"
    proc = _start(_command(corpus, out, now), root, root / f"{sig.name}.err")
    try:
        _wait_for_items(proc, out)
        os.killpg(proc.pid, sig)  # the whole job, as Ctrl-C in a terminal or `kill -- -PGID` does
        assert proc.wait(timeout=60) == code
        assert _group_gone(proc.pid, 10), "worker processes outlived the interrupted run"
    finally:
        _kill_group(proc.pid)
    stderr = (root / f"{sig.name}.err").read_text()
    assert "Traceback" not in stderr
    left = _tree(out)
    assert "manifest.json" not in left  # it was cut mid-run
    finals = {p: data for p, data in left.items() if not TEMP.fullmatch(p.rsplit("/", 1)[-1])}
    assert finals, "nothing was written before the interruption"
    for path, data in finals.items():  # never a partial file under a final name
        assert data == reference.get(path), path
        if path.endswith(".json"):
            json.loads(data)
    again = subprocess.run(_command(corpus, out, now), cwd=root, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1, again.stderr
    assert not [p for p in out.rglob("*") if TEMP.fullmatch(p.name)]
    assert _tree(out) == reference
    bundles = sum(1 for p in reference if "/" in p)
    match = re.search(r"; (\d+) files written, (\d+) unchanged in ", again.stderr)
    assert match and (int(match[1]), int(match[2])) == (bundles - len(finals), len(finals))


@pytest.mark.slow
def test_killing_the_main_process_alone_stops_all_writing(big):
    root, corpus, now, _ = big
    out = root / "out-orphans"
    proc = _start(_command(corpus, out, now), root, root / "orphans.err")
    try:
        _wait_for_items(proc, out)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        at_kill = sum(1 for p in out.iterdir() if p.is_dir())
        gone = _group_gone(proc.pid, 3)
        grown = sum(1 for p in out.iterdir() if p.is_dir()) - at_kill
    finally:
        _kill_group(proc.pid)  # only the session this test started
    assert gone, "worker processes are still running"
    assert grown == 0


def test_an_interrupt_ends_in_one_line_and_exit_130(corpus, monkeypatch, capsys):
    from certpipe import cli, pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "convert", interrupted)
    monkeypatch.setattr(
        sys, "argv", ["certpipe", "convert", "in", "--out", "out", "--now", NOW, "--no-config"]
    )
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 130
    err = capsys.readouterr().err
    assert err.startswith("certpipe: interrupted") and err.count("\n") == 1


# ---------------------------------------------------------------- naming


def _colons(sha1: str) -> str:
    return ":".join(sha1[i : i + 2] for i in range(0, 40, 2))


def test_names_map_renames_by_sha1_in_any_spelling_and_by_source_path(corpus, convert):
    Path("names.csv").write_text(
        "sha1,name\n"
        f"{SITE_SHA1.lower()},web-site\n"
        f"{_colons(DER_SHA1)},der-p384\n"
        f"{EXPIRED_SHA1}, old-expired \n"
        "in/pfx/modern.pfx,shop-prod\n"
    )
    code, _, _ = convert("--names", "names.csv")
    assert code == 1
    manifest = _manifest()
    assert [(i["name"], i["sha1"]) for i in manifest["items"]] == [
        ("der-p384", DER_SHA1),
        ("old-expired", EXPIRED_SHA1),
        ("shop-prod", SHOP_SHA1),
        ("web-site", SITE_SHA1),
    ]
    assert sorted(p.name for p in Path("out").iterdir() if p.is_dir()) == [
        "der-p384",
        "shop-prod",
        "web-site",
    ]
    cert = json.loads(Path("out/web-site/certificate.json").read_text())
    assert cert["id"].startswith("https://example.vault.azure.net/certificates/web-site/")
    assert _files(manifest)["in/pair/site.key"][2] == ["web-site"]
    assert [r[1] for r in _csv_rows() if r[0] == "in/pfx/modern.pfx"] == ["shop-prod"]
    script = Path("out/import.sh").read_text().splitlines()
    assert [line for line in script if line.startswith("import_one ")] == [
        "import_one der-p384",
        "import_one shop-prod",
        "import_one web-site",
    ]


def test_two_items_mapped_to_one_name_are_told_apart_by_source_path(corpus, convert):
    Path("names.csv").write_text(f"{SITE_SHA1},shared\n{DER_SHA1.lower()},shared\n")
    convert("--names", "names.csv")
    # in/der/leaf.cer sorts before in/dup/site-copy.crt, so the DER item keeps the name
    assert [(i["name"], i["sha1"]) for i in _manifest()["items"]][:3] == [
        ("expired-example-com", EXPIRED_SHA1),
        ("shared", DER_SHA1),
        ("shared-8c7d3ed8", SITE_SHA1),
    ]


@pytest.mark.parametrize(
    ("row", "line"),
    [("abc,bad_name", 2), ("abc,has space", 2), ("abc," + "x" * 128, 2), ("abc,", 2), ("only-one-column", 2)],
)
def test_an_invalid_name_in_the_map_exits_2_with_one_line(corpus, convert, row, line):
    Path("names.csv").write_text(f"in/pair/site.crt,fine-name\n{row}\n")
    code, stdout, stderr = convert("--names", "names.csv")
    assert code == 2 and stdout == ""
    assert stderr == (
        f"certpipe: error: --names names.csv: line {line}: expected 'sha1-or-path,name' with an AKV "
        "name (letters, digits and '-', at most 127).\n"
    )
    assert not Path("out").exists()


TAG_LAYOUT = (
    ("ca/root.pem", "ca/root.pem"),
    ("ca/intermediate.pem", "ca/intermediate.pem"),
    ("team-a/web/site.crt", "pem-pair/site.crt"),
    ("team-a/web/site.key", "pem-pair/site.key"),
    ("team-b/leaf.cer", "der/leaf.cer"),
    ("team-b/leaf.key", "der/leaf.key"),
)
TAGGED = ("certificate.json", "key.json", "secret.json", "import-request.json")


def _tags(out: Path, name: str) -> list:
    return [json.loads((out / name / f).read_text()).get("tags") for f in TAGGED]


def test_tag_from_path_puts_the_folder_into_every_document(tmp_path, monkeypatch, run_cli):
    _build(tmp_path / "in", TAG_LAYOUT)
    monkeypatch.chdir(tmp_path / "in")
    base = ["convert", ".", "--now", NOW, "--jobs", "1", "--no-config"]
    assert run_cli(*base, "--out", "../plain")[0] == 0
    assert _tags(tmp_path / "plain", "site-example-com") == [None] * 4
    code, stdout, _ = run_cli(*base, "--out", "../tagged", "--tag-from-path", "--format", "json")
    assert code == 0
    out = tmp_path / "tagged"
    assert _tags(out, "site-example-com") == [{"source-path": "team-a/web"}] * 4
    assert _tags(out, "der-example-com") == [{"source-path": "team-b"}] * 4
    assert {i["name"]: i["tags"] for i in json.loads(stdout)["items"]} == {
        "der-example-com": {"source-path": "team-b"},
        "site-example-com": {"source-path": "team-a/web"},
    }


def test_tag_from_path_is_relative_to_the_scanned_root(tmp_path, run_cli):
    _build(tmp_path / "share", TAG_LAYOUT)
    code, _, _ = run_cli(
        "convert",
        str(tmp_path / "share"),
        "--out",
        str(tmp_path / "out"),
        "--tag-from-path",
        "--now",
        NOW,
        "--jobs",
        "1",
        "--no-config",
    )
    assert code == 0
    assert _tags(tmp_path / "out", "site-example-com") == [{"source-path": "team-a/web"}] * 4


def _collision_names(run_cli, *roots: str) -> dict[str, str]:
    code, stdout, _ = run_cli("check", *roots, "--now", NOW, "--format", "json", "--jobs", "1", "--no-config")
    assert code == 0
    return {i["sources"][0]: i["name"] for i in json.loads(stdout)["items"]}


def test_name_collisions_are_resolved_by_source_path_whatever_the_order(tmp_path, monkeypatch, run_cli):
    _build(tmp_path / "in", (("c/a.pem", "collision/a.pem"), ("c/b.pem", "collision/b.pem")))
    monkeypatch.chdir(tmp_path)
    expected = {"in/c/a.pem": "dup-example-com", "in/c/b.pem": "dup-example-com-7d2a730f"}
    assert _collision_names(run_cli, "in") == expected
    assert _collision_names(run_cli, "in/c/b.pem", "in/c/a.pem") == expected
    # swap the contents: the name follows the path, the suffix follows the certificate in the later path
    _build(tmp_path / "in", (("c/a.pem", "collision/b.pem"), ("c/b.pem", "collision/a.pem")))
    assert _collision_names(run_cli, "in") == {
        "in/c/a.pem": "dup-example-com",
        "in/c/b.pem": "dup-example-com-84cc62d9",
    }
    code, _, _ = run_cli("convert", "in", "--out", "out", "--now", NOW, "--jobs", "1", "--no-config")
    assert code == 0
    assert sorted(p.name for p in Path("out").iterdir() if p.is_dir()) == [
        "dup-example-com",
        "dup-example-com-84cc62d9",
    ]


# ---------------------------------------------------------------- per-file passwords


@pytest.mark.parametrize("kind", ["file", "env"])
def test_password_map_opens_the_locked_pfx_and_only_it(corpus, convert, kind):
    Path("secrets").mkdir()
    Path("secrets/locked.pw").write_text(LOCKED_PASSWORD + "\n")
    if kind == "file":  # a relative file: is resolved next to the map
        Path("secrets/map.txt").write_text("# per-file passwords\n\nin/locked/*.pfx = file:locked.pw\n")
        env = None
    else:
        Path("secrets/map.txt").write_text("locked.pfx = env:LOCKED_PW\n")
        env = {"LOCKED_PW": LOCKED_PASSWORD}
    code, stdout, stderr = convert("--passwords", "secrets/map.txt", "--format", "json", env=env)
    assert code == 1
    manifest = _manifest()
    assert _files(manifest)["in/locked/locked.pfx"] == ("pkcs12", "used", ["locked-example-com"], None, [])
    assert [i["status"] for i in manifest["items"] if i["name"] == "locked-example-com"] == ["ready"]
    assert sorted(p.name for p in Path("out/locked-example-com").iterdir()) == BUNDLE_FILES
    texts = [stdout, stderr, *(p.read_text() for p in Path("out").rglob("*") if p.is_file())]
    assert not [t for t in texts if LOCKED_PASSWORD in t]


def test_password_map_globs_also_match_the_path_inside_the_scanned_folder(corpus, convert):
    # Scanning "in", the file shows as in/locked/locked.pfx; a map written for the share itself
    # ("locked/*.pfx") must still reach it.
    Path("locked.pw").write_text(LOCKED_PASSWORD + "\n")
    Path("map.txt").write_text("locked/*.pfx = file:locked.pw\n")
    convert("--passwords", "map.txt")
    assert _files(_manifest())["in/locked/locked.pfx"][1:3] == ("used", ["locked-example-com"])


def test_password_map_entry_for_other_files_leaves_the_pfx_locked(corpus, convert):
    Path("secrets.pw").write_text(LOCKED_PASSWORD + "\n")
    Path("map.txt").write_text("in/pfx/*.pfx = file:secrets.pw\n")
    convert("--passwords", "map.txt")
    assert _files(_manifest())["in/locked/locked.pfx"][1:3] == ("failed", [])
    assert not Path("out/locked-example-com").exists()


@pytest.mark.parametrize("entry", ["locked.pfx = file:missing.pw", "locked.pfx = env:CERTPIPE_TEST_UNSET"])
def test_password_map_pointing_at_nothing_exits_2_with_one_line(corpus, convert, entry):
    Path("map.txt").write_text(entry + "\n")
    code, stdout, stderr = convert("--passwords", "map.txt")
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("certpipe: error: ")
    wanted = (
        ("missing.pw", "No such file or directory")
        if "file:" in entry
        else ("CERTPIPE_TEST_UNSET", "not set")
    )
    assert all(w in stderr for w in wanted)
    assert not Path("out").exists()


def test_a_malformed_password_map_line_exits_2(corpus, convert):
    Path("map.txt").write_text("# ok\nlocked.pfx file:x\n")
    code, _, stderr = convert("--passwords", "map.txt")
    assert code == 2
    assert stderr == (
        "certpipe: error: --passwords map.txt: line 2: expected 'GLOB = file:PATH' or 'GLOB = env:VAR'.\n"
    )


# ---------------------------------------------------------------- import scripts

FAKE_AZ = """#!{python}
import json, os, sys
from cryptography.hazmat.primitives.serialization import pkcs12
args = sys.argv[1:]
path = args[args.index("-f") + 1]
key, cert, extra = pkcs12.load_key_and_certificates(open(path, "rb").read(), None)
assert key is not None and cert is not None
with open(os.environ["AZ_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "subject": cert.subject.rfc4514_string(), "extra": len(extra),
                          "mode": os.stat(path).st_mode & 0o777}}) + "\\n")
"""


def test_import_scripts_list_every_ready_item_and_no_password(corpus, convert):
    convert()
    sh = Path("out/import.sh")
    assert stat.S_IMODE(sh.stat().st_mode) == 0o755
    assert stat.S_IMODE(Path("out/import.ps1").stat().st_mode) == 0o644
    assert subprocess.run(["bash", "-n", str(sh)], capture_output=True).returncode == 0
    lines = sh.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert [line for line in lines if line.startswith("import_one ")] == [f"import_one {n}" for n in READY]
    ps1 = Path("out/import.ps1").read_text()
    assert "  foreach ($name in @('der-example-com', 'shop-modern-example-com', 'site-example-com')) {" in (
        ps1.splitlines()
    )
    for text in (sh.read_text(), ps1):
        assert "--password" not in text and "expired-example-com" not in text
        for secret in (*PASSWORDS.read_text().split(), LOCKED_PASSWORD):
            assert secret not in text


def test_import_sh_calls_az_once_per_ready_item_with_a_valid_pfx(corpus, convert, tmp_path):
    convert()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(FAKE_AZ.format(python=sys.executable))
    (bin_dir / "az").chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    log = tmp_path / "az.log"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "AZ_LOG": str(log)}
    env.pop("VAULT", None)
    refused = subprocess.run(["./import.sh"], cwd="out", env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "set VAULT" in refused.stderr and not log.exists()
    done = subprocess.run(
        ["./import.sh"], cwd="out", env={**env, "VAULT": "v"}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"imported {n}" for n in READY]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["args"][:7] for c in calls] == [
        ["keyvault", "certificate", "import", "--vault-name", "v", "-n", n] for n in READY
    ]
    assert [(c["args"][7], Path(c["args"][8]).name, c["args"][9:]) for c in calls] == [
        ("-f", f"{n}.pfx", ["--output", "none"]) for n in READY
    ]
    assert [(c["subject"], c["extra"], c["mode"]) for c in calls] == [
        ("CN=der.example.com", 2, 0o600),
        ("CN=shop-modern.example.com", 2, 0o600),
        ("CN=site.example.com", 2, 0o600),
    ]
    assert not [c for c in calls if Path(c["args"][8]).exists()]  # the decoded PFX files are removed


# ---------------------------------------------------------------- stderr when it is not a terminal


def test_no_progress_output_off_a_terminal_only_the_summary_line(corpus, convert):
    code, stdout, stderr = convert("--format", "json")
    assert code == 1
    json.loads(stdout)
    assert "\x1b" not in stderr and "\r" not in stderr
    assert len(stderr.splitlines()) == 1
    assert SUMMARY.fullmatch(stderr.strip()).groups() == ("12", "0")
    code, _, stderr = convert("--quiet")
    assert (code, stderr) == (1, "")


def test_sha1_of_the_layout_matches_the_fixtures():
    """Guards the constants above against a regenerated fixture set."""
    from cryptography import x509

    def sha1(rel: str) -> str:
        data = (FIXTURES / rel).read_bytes()
        cert = (
            x509.load_der_x509_certificate(data)
            if rel.endswith(".cer")
            else x509.load_pem_x509_certificate(data)
        )
        return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()

    assert (sha1("pem-pair/site.crt"), sha1("der/leaf.cer"), sha1("expired/expired.pem")) == (
        SITE_SHA1,
        DER_SHA1,
        EXPIRED_SHA1,
    )


# ---- the worker pool itself ----


def _squares(chunk, offset):
    return [(os.getpid(), v * v + offset) for v in chunk]


@pytest.mark.parametrize("forking", [True, False], ids=["inherited", "pickled"])
def test_the_pool_returns_one_result_per_value_in_order(monkeypatch, forking):
    import multiprocessing

    from certpipe import pipeline

    if not forking:  # as on macOS or Windows: chunks travel pickled
        monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    seen = []
    got = pipeline._map_chunks(_squares, list(range(1001)), (7,), 2, lambda *a: seen.append(a), "x")
    assert [v for _, v in got] == [i * i + 7 for i in range(1001)]
    assert {pid for pid, _ in got} - {os.getpid()}  # it ran in workers
    assert seen[-1] == ("x", 1001, 1001) and len(seen) == 16
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)


def test_arguments_the_pool_cannot_pickle_run_in_process_where_processes_do_not_fork(monkeypatch):
    import multiprocessing

    from certpipe import pipeline

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    unpicklable = lambda v: v + 1  # noqa: E731

    def add(chunk, fn):
        return [(os.getpid(), fn(v)) for v in chunk]

    got = pipeline._map_chunks(add, list(range(100)), (unpicklable,), 2, None, "x")
    assert got == [(os.getpid(), v + 1) for v in range(100)]


def test_pools_started_from_two_threads_each_get_their_own_inputs():
    import threading

    from certpipe import pipeline

    got: dict[int, list] = {}

    def run(offset):
        got[offset] = pipeline._map_chunks(_squares, list(range(300)), (offset,), 2, None, "x")

    threads = [threading.Thread(target=run, args=(offset,)) for offset in (1, 2, 3, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for offset in (1, 2, 3, 4):
        assert [v for _, v in got[offset]] == [i * i + offset for i in range(300)]


def test_the_pool_with_nothing_to_do_returns_nothing():
    from certpipe import pipeline

    assert pipeline._map_chunks(_squares, [], (0,), 2, None, "x") == []
