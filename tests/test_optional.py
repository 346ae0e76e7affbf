"""Hiding an optional package for one import, and handing it back afterwards."""

from __future__ import annotations

import importlib
import sys

import pytest

from index.optional import hidden, importing


def test_a_hidden_package_cannot_be_imported_until_the_block_ends() -> None:
    name = "json.tool"  # in the standard library, and not imported by the tests
    sys.modules.pop(name, None)
    with hidden(name), pytest.raises(ImportError):
        importlib.import_module(name)
    assert importlib.import_module(name).__name__ == name


def test_a_package_already_loaded_is_left_alone() -> None:
    import json

    with hidden("json"), importing():
        assert importlib.import_module("json") is json
    assert sys.modules["json"] is json
