"""emit.jsontext.dumps must give exactly json.dumps(indent=2, sort_keys=True, ensure_ascii=False)."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from conftest import fixtures_result

from certpipe.emit.akv import build
from certpipe.emit.document import document
from certpipe.emit.jsontext import dumps
from certpipe.emit.sarif import render_sarif


def _stdlib(doc: Any) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)


class Colour(enum.StrEnum):
    RED = "red"


CASES: list[Any] = [
    {},
    [],
    "",
    0,
    -17,
    10**30,
    True,
    None,
    {"b": [], "a": {}, "c": [{}], "d": [[], [1, [2, {"x": None}]]]},
    {"text": 'quote " backslash \\ tab \t nul \x00 del \x7f line\u2028 é 証明書 \U0001f512'},
    {"z": 1, "Z": 2, "_": 3, "ä": 4, "10": 5, "9": 6},
    ("tuple", ("inner",)),
    {"float": 1.5, "nan": float("nan"), "inf": float("-inf")},  # falls back: the same text
    {2: "int keys", 1: "x"},  # non-string keys: fall back
    {"enum": Colour.RED, "bool": False},  # a str subclass: falls back
]


@pytest.mark.parametrize("doc", CASES, ids=range(len(CASES)))
def test_same_text_as_json_dumps(doc: Any) -> None:
    assert dumps(doc) == _stdlib(doc)


def test_mixed_keys_that_cannot_sort_raise_like_json_dumps() -> None:
    with pytest.raises(TypeError):
        dumps({1: "a", "b": 2})
    with pytest.raises(TypeError):
        dumps({"set": {1}})


def test_every_document_from_the_fixtures_matches() -> None:
    result = fixtures_result()
    docs: list[Any] = [document(result), json.loads(render_sarif(result, tool_version="0"))]
    for item in result.items:
        if item.status.value != "error":
            bundle = build(item, "example", "application/x-pkcs12")
            docs.extend(json.loads(data) for name, data in bundle.files.items() if name.endswith(".json"))
    assert len(docs) > 40
    for doc in docs:
        assert dumps(doc) == _stdlib(doc)
