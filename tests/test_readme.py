"""README.md promises: the set-up commands come first, and the rule table lists every rule."""

from __future__ import annotations

from conftest import ROOT

from certpipe.catalog import RULES

README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_setup_commands():
    head = README.split("## Commands")[0]
    commands = [line.strip() for line in head.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert "certpipe convert fixtures --out reports/demo" in commands[0]
    assert "pip install '.[test]'" in commands[1] and "pytest" in commands[1]
    assert commands[1].split("&& ", 1)[1] in (ROOT / ".ci" / "run").read_text()


def test_readme_rule_table_lists_every_rule_with_its_default_severity():
    for rule in RULES:
        assert f"| `{rule.slug}` | {rule.severity.value} |" in README, rule.slug
