"""Repository configuration ([tool.certpipe] or .certpipe.toml): paths from the repo root, CLI on top."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, NOW

from certpipe import config
from certpipe.errors import ConfigError, UsageError

# The temporary repository: where each fixture is copied to.
LAYOUT = {
    "certs/site.crt": "pem-pair/site.crt",
    "certs/site.key": "pem-pair/site.key",
    "certs/root.pem": "ca/root.pem",
    "certs/intermediate.pem": "ca/intermediate.pem",
    "certs/soon.pem": "expiring/soon.pem",  # 14 days left at NOW: expiring-soon (warning)
    "certs/old/expired.pem": "expired/expired.pem",  # expired (error)
    "tests/fixtures/lonely.key": "orphan/lonely.key",  # orphan-key; an unencrypted key
}


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A git-less repository root (a .git folder stops the upward config search) holding fixture copies."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    for dest, src in LAYOUT.items():
        (root / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / src, root / dest)
    monkeypatch.chdir(root)
    return root


def write_pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(f'[project]\nname = "demo"\n\n[tool.certpipe]\n{body}\n')


def write_dotfile(root: Path, body: str) -> None:
    (root / ".certpipe.toml").write_text(body + "\n")


def check(run_cli, *args: str) -> tuple[int, dict]:
    code, out, err = run_cli("check", *args, "--now", NOW, "--format", "json")
    assert code in (0, 1), err
    return code, json.loads(out)


def found(doc: dict) -> set[tuple[str, str]]:
    """(rule, source) of every finding, on items and on files."""
    every = [
        *(f for i in doc["items"] for f in i["findings"]),
        *(f for r in doc["files"] for f in r["findings"]),
    ]
    return {(f["rule"], f["source"]) for f in every}


def rules(doc: dict) -> set[str]:
    return {rule for rule, _ in found(doc)}


def usage_error(run_cli, *args: str) -> str:
    """The one stderr line of a run that must end in exit code 2."""
    code, out, err = run_cli("check", *args, "--now", NOW)
    assert code == 2 and out == "", (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


# Rule selection: the file, then the command line over it


def test_pyproject_ignore_drops_a_rule(repo, run_cli):
    assert check(run_cli, "certs")[0] == 1
    write_pyproject(repo, 'ignore = ["expired"]')
    code, doc = check(run_cli, "certs")
    assert code == 0
    assert "expired" not in rules(doc) and "expiring-soon" in rules(doc)


def test_dotfile_severity_override_makes_expiring_soon_an_error(repo, run_cli):
    args = ("certs/soon.pem", "certs/intermediate.pem", "certs/root.pem")
    assert check(run_cli, *args)[0] == 0
    write_dotfile(repo, '[severity]\n"expiring-soon" = "error"')
    code, doc = check(run_cli, *args)
    assert code == 1
    [soon] = [f for f in doc["items"][0]["findings"] if f["rule"] == "expiring-soon"]
    assert soon["severity"] == "error"


def test_dotfile_wins_over_pyproject_in_the_same_folder(repo, run_cli):
    write_pyproject(repo, 'ignore = ["expiring-soon"]')
    write_dotfile(repo, 'ignore = ["expired"]')
    assert rules(check(run_cli, "certs")[1]) & {"expired", "expiring-soon"} == {"expiring-soon"}


def test_unencrypted_key_is_off_by_default_and_select_all_turns_it_on(repo, run_cli):
    assert "unencrypted-key" not in rules(check(run_cli, ".")[1])
    write_pyproject(repo, 'select = ["ALL"]')
    assert ("unencrypted-key", "certs/site.key") in found(check(run_cli, ".")[1])


def test_select_list_turns_on_exactly_those_rules(repo, run_cli):
    write_pyproject(repo, 'select = ["expired", "unencrypted-key"]')
    code, doc = check(run_cli, ".")
    assert code == 1 and rules(doc) == {"expired", "unencrypted-key"}


def test_cli_select_replaces_the_files_select(repo, run_cli):
    write_pyproject(repo, 'select = ["expired"]')
    code, doc = check(run_cli, ".", "--select", "expiring-soon")
    assert code == 0 and rules(doc) == {"expiring-soon"}


def test_cli_select_reports_a_rule_the_file_ignores(repo, run_cli):
    write_pyproject(repo, 'ignore = ["expired", "expiring-soon"]')
    code, doc = check(run_cli, "certs", "--select", "expired")
    assert code == 1 and rules(doc) == {"expired"}


def test_cli_ignore_adds_to_the_files_ignore(repo, run_cli):
    write_pyproject(repo, 'ignore = ["expiring-soon"]')
    code, doc = check(run_cli, "certs", "--ignore", "expired")
    assert code == 0 and not rules(doc) & {"expired", "expiring-soon"}


def test_fail_on_from_the_file_and_the_cli_over_it(repo, run_cli):
    args = ("certs/soon.pem", "certs/intermediate.pem", "certs/root.pem")
    write_dotfile(repo, 'fail-on = "warning"')
    assert check(run_cli, *args)[0] == 1
    assert check(run_cli, *args, "--fail-on", "error")[0] == 0


def test_no_config_ignores_the_file(repo, run_cli):
    write_pyproject(repo, 'ignore = ["expired"]')
    assert check(run_cli, "certs", "--no-config")[0] == 1


def test_config_option_names_the_file(repo, run_cli):
    (repo / "ci.toml").write_text('ignore = ["expired"]\n')
    assert check(run_cli, "certs", "--config", "ci.toml")[0] == 0


# expiry-warn-days


@pytest.mark.parametrize(("days", "warned"), [(20, True), (7, False), (0, False)])
def test_expiry_warn_days_from_the_file(repo, run_cli, days, warned):
    write_pyproject(repo, f"expiry-warn-days = {days}")
    assert ("expiring-soon" in rules(check(run_cli, "certs")[1])) is warned


@pytest.mark.parametrize(
    ("file_days", "cli_days", "warned"), [(7, "30", True), (30, "7", False), (30, "0", False)]
)
def test_cli_expiry_warn_days_overrides_the_file(repo, run_cli, file_days, cli_days, warned):
    write_pyproject(repo, f"expiry-warn-days = {file_days}")
    doc = check(run_cli, "certs", "--expiry-warn-days", cli_days)[1]
    assert ("expiring-soon" in rules(doc)) is warned


# Paths: relative to the configuration's folder however certpipe is run

EXCLUDE_RUNS = [  # (working folder below the repo, arguments)
    ("", ("check", ".")),
    ("", ("check", "certs/")),
    ("", ("check", "certs/site.crt", "certs/site.key", "certs/old/expired.pem")),  # what pre-commit passes
    ("certs", ("check", ".")),
    ("certs", ("check", "old/expired.pem", "site.crt", "site.key")),
]


@pytest.mark.parametrize(("cwd", "args"), EXCLUDE_RUNS)
def test_exclude_glob_is_relative_to_the_repo_root(repo, run_cli, monkeypatch, cwd, args):
    write_pyproject(repo, 'exclude = ["certs/old/**"]')
    monkeypatch.chdir(repo / cwd)
    code, out, err = run_cli(*args, "--now", NOW, "--format", "json")
    doc = json.loads(out)
    assert code == 0, err
    assert "expired" not in rules(doc)
    assert not any(f["status"] != "skipped" and "expired.pem" in f["path"] for f in doc["files"])


def test_exclude_skips_a_named_file_with_a_reason(repo, run_cli):
    write_pyproject(repo, 'exclude = ["certs/old"]')
    doc = check(run_cli, "certs/old/expired.pem")[1]
    assert [(f["path"], f["status"]) for f in doc["files"]] == [("certs/old/expired.pem", "skipped")]
    assert "excluded" in doc["files"][0]["reason"]


IGNORE_RUNS = [  # (working folder, arguments, whether certs/site.key is among the checked files)
    ("", (".",), True),
    ("", ("tests",), False),
    ("", ("certs/site.crt", "certs/site.key", "tests/fixtures/lonely.key"), True),
    ("tests", (".",), False),
    ("tests/fixtures", ("lonely.key", "../../certs/site.key"), True),
]


@pytest.mark.parametrize(("cwd", "args", "site_key"), IGNORE_RUNS)
def test_per_path_ignores_let_test_fixtures_hold_plain_keys(repo, run_cli, monkeypatch, cwd, args, site_key):
    write_pyproject(
        repo,
        'select = ["ALL"]\n[tool.certpipe.per-path-ignores]\n'
        '"tests/fixtures/**" = ["unencrypted-key", "orphan-key"]',
    )
    monkeypatch.chdir(repo / cwd)
    doc = check(run_cli, *args)[1]
    assert any("lonely.key" in f["path"] and f["status"] == "unused" for f in doc["files"])
    assert not {f for f in found(doc) if "lonely.key" in f[1]}
    # The same rule still holds outside the ignored folder.
    assert (
        any(rule == "unencrypted-key" and src.endswith("certs/site.key") for rule, src in found(doc))
        is site_key
    )


def test_per_path_ignore_all_silences_every_rule_there(repo, run_cli):
    write_dotfile(repo, 'select = ["ALL"]\n[per-path-ignores]\n"certs/old/" = ["ALL"]')
    code, doc = check(run_cli, "certs")
    assert code == 0
    assert not {f for f in found(doc) if "old/" in f[1]}
    assert ("unencrypted-key", "certs/site.key") in found(doc)


def test_trust_is_relative_to_the_repo_root(repo, run_cli, monkeypatch):
    monkeypatch.chdir(repo / "certs")
    args = ("site.crt", "site.key", "intermediate.pem")
    assert check(run_cli, *args)[1]["summary"]["warning"] == 1  # chain-incomplete: the root is not given
    write_pyproject(repo, 'trust = ["certs/root.pem"]')
    code, doc = check(run_cli, *args)
    assert code == 0 and doc["summary"]["ready"] == 1 and not rules(doc)


# Mistakes: exit 2, one line naming the file and the key, no traceback


def test_unknown_key_exits_2_naming_it_and_the_likely_key(repo, run_cli):
    write_pyproject(repo, "expiry_warn_days = 7")
    line = usage_error(run_cli, "certs")
    assert "pyproject.toml [tool.certpipe]: unknown key 'expiry_warn_days'" in line
    assert "did you mean 'expiry-warn-days'?" in line


def test_unknown_key_in_dotfile_lists_the_known_keys(repo, run_cli):
    write_dotfile(repo, "colour = true")
    line = usage_error(run_cli, "certs")
    assert ".certpipe.toml: unknown key 'colour'" in line and "expiry-warn-days" in line


@pytest.mark.parametrize(
    "body",
    [
        'select = ["expird"]',
        'ignore = ["expird"]',
        '[tool.certpipe.severity]\nexpird = "error"',
        '[tool.certpipe.per-path-ignores]\n"tests/**" = ["expird"]',
    ],
)
def test_bad_rule_slug_in_the_file_exits_2(repo, run_cli, body):
    write_pyproject(repo, body)
    line = usage_error(run_cli, "certs")
    assert "unknown rule 'expird'" in line and "certpipe rules" in line


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_bad_rule_slug_on_the_command_line_exits_2(repo, run_cli, option):
    assert f"{option} 'expird': unknown rule" in usage_error(run_cli, "certs", option, "expird")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            '[tool.certpipe.severity]\nexpired = "fatal"',
            "severity of 'expired' must be error, warning or info",
        ),
        ('[tool.certpipe.severity]\nALL = "info"', "'ALL' cannot be given one severity"),
        ("expiry-warn-days = -1", "'expiry-warn-days' must be a non-negative integer"),
        ('expiry-warn-days = "30"', "'expiry-warn-days' must be a non-negative integer"),
        ("max-iterations = 0", "'max-iterations' must be at least 1"),
        ('exclude = "certs/old"', "'exclude' must be a list of strings"),
        ('exclude = ["/etc/ssl/**"]', "must be a glob relative to the configuration's folder"),
        ('exclude = ["../other/**"]', "must be a glob relative to the configuration's folder"),
        ('fail-on = "always"', "'fail-on' must be error, warning or never"),
        ("trust-system = 1", "'trust-system' must be true or false"),
        ("select = [", "not valid TOML"),
    ],
)
def test_bad_values_exit_2_with_the_key_named(repo, run_cli, body, says):
    write_pyproject(repo, body)
    assert says in usage_error(run_cli, "certs")


def test_config_option_on_a_pyproject_without_the_table_exits_2(repo, run_cli):
    (repo / "sub").mkdir()
    (repo / "sub" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert "has no [tool.certpipe] table" in usage_error(run_cli, "certs", "--config", "sub/pyproject.toml")
    assert "--config missing.toml: no such file" in usage_error(run_cli, "certs", "--config", "missing.toml")


# The pieces, without the CLI


@pytest.mark.parametrize(
    ("rel", "pattern", "hit"),
    [
        ("certs/old/a.pem", "certs/old/**", True),
        ("certs/old", "certs/old/**", True),  # the folder itself, so discover prunes it
        ("certs/a.pem", "certs/old/**", False),
        ("certs/old/a.pem", "certs/old", True),
        ("certs/old/a.pem", "certs/old/", True),
        ("certs/older/a.pem", "certs/old", False),
        ("a.key", "*.key", True),
        ("deep/down/a.key", "*.key", True),
        ("fixtures/a.pem", "**/fixtures/**", True),
        ("src/tests/fixtures/a.pem", "**/fixtures/**", True),
        ("tests/a.key", "tests/**/*.key", True),
        ("tests/x/y/a.key", "tests/**/*.key", True),
        ("tests/fixtures/a.key", "./tests/fixtures/*", True),
    ],
)
def test_matches(rel, pattern, hit):
    assert config.matches(rel, pattern) is hit


def test_relative_to_the_root_or_none_outside(tmp_path, monkeypatch):
    (tmp_path / "repo" / "certs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "certs")
    root = str(tmp_path / "repo")
    assert config.relative("a.pem", root) == "certs/a.pem"
    assert config.relative("../b/c.pem", root) == "b/c.pem"
    assert config.relative(".", root) == "certs"
    assert config.relative(root, root) == ""
    assert config.relative(str(tmp_path / "elsewhere.pem"), root) is None


def test_relative_sees_through_a_symlinked_checkout(tmp_path):
    (tmp_path / "real" / "certs").mkdir(parents=True)
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert (
        config.relative(str(tmp_path / "link" / "certs" / "a.pem"), str(tmp_path / "real")) == "certs/a.pem"
    )


def test_parse_resolves_trust_against_the_root_and_expands_all(tmp_path):
    conf = config.parse(
        {"trust": ["ca/root.pem"], "ignore": ["ALL"], "per-path-ignores": {"tests/**": ["ALL"]}},
        "x.toml",
        root=tmp_path,
    )
    assert conf.trust == (str(tmp_path / "ca" / "root.pem"),) and conf.root == str(tmp_path)
    assert set(conf.ignore) == set(config.BY_SLUG)
    assert conf.per_path_ignores == (("tests/**", frozenset(config.BY_SLUG)),)


def test_parse_rejects_a_non_table():
    with pytest.raises(ConfigError, match="must be a table"):
        config.parse(["select"], "x.toml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("file", "select", "ignore", "off", "on"),
    [
        ({}, None, None, {"unencrypted-key"}, {"expired", "orphan-key"}),
        ({"select": ["ALL"]}, None, None, set(), {"unencrypted-key", "expired"}),
        ({"select": ["ALL"], "ignore": ["orphan-key"]}, None, None, {"orphan-key"}, {"unencrypted-key"}),
        ({"select": ["expired"]}, ["orphan-key"], None, {"expired"}, {"orphan-key"}),
        ({"ignore": ["expired"]}, ["expired"], None, {"orphan-key"}, {"expired"}),
        ({"ignore": ["expired"]}, ["ALL"], None, {"expired"}, {"unencrypted-key"}),
        ({"ignore": ["expired"]}, None, ["orphan-key"], {"expired", "orphan-key"}, {"duplicate"}),
        ({}, None, ["ALL"], set(config.BY_SLUG), set()),
    ],
)
def test_disabled_rules(file, select, ignore, off, on):
    disabled = config.disabled_rules(config.parse(file, "x.toml"), select, ignore)
    assert off <= disabled and not on & disabled


def test_disabled_rules_rejects_an_unknown_cli_rule():
    with pytest.raises(UsageError, match=r"--ignore 'nope': unknown rule"):
        config.disabled_rules(config.Config(), None, ["nope"])


def test_find_stops_at_the_repository_root(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.certpipe]\n")
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "sub").mkdir()
    assert config.find(tmp_path / "repo" / "sub") is None
    (tmp_path / "repo" / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    assert config.find(tmp_path / "repo" / "sub") is None
    (tmp_path / "repo" / ".certpipe.toml").write_text("")
    assert config.find(tmp_path / "repo" / "sub") == tmp_path / "repo" / ".certpipe.toml"
