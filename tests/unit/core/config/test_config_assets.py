"""Asset references (core/config/assets.py): the written forms, describe() and the checks that
refuse what Airflow's asset normalizer would refuse or silently change."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sqlsentinel_airflow.core.config.assets import (
    AssetAll,
    AssetAny,
    AssetProblem,
    AssetRef,
    asset_refs,
    describe,
    parse_asset_condition,
    parse_asset_ref,
)


def test_leaf_forms() -> None:
    assert parse_asset_ref("s3://warehouse/orders") == AssetRef(uri="s3://warehouse/orders")
    assert parse_asset_ref({"uri": "file:///data/x.csv"}) == AssetRef(uri="file:///data/x.csv")
    assert parse_asset_ref({"name": "orders"}) == AssetRef(name="orders")
    assert parse_asset_ref("postgres://host:5432/db/schema/table").uri == (
        "postgres://host:5432/db/schema/table"
    )


def test_list_means_all_and_nesting() -> None:
    cond = parse_asset_condition(["s3://a", "s3://b"])
    assert cond == AssetAll(items=(AssetRef(uri="s3://a"), AssetRef(uri="s3://b")))
    nested = parse_asset_condition({"any": ["s3://a", {"all": ["s3://b", {"name": "c"}]}]})
    assert isinstance(nested, AssetAny)
    assert nested.items[1] == AssetAll(items=(AssetRef(uri="s3://b"), AssetRef(name="c")))


@pytest.mark.parametrize(
    ("written", "text"),
    [
        ("s3://a", "s3://a"),
        (["s3://a", "s3://b"], "s3://a and s3://b"),
        ({"any": ["s3://a", {"name": "b"}]}, "any of (s3://a, {name: b})"),
        (
            {"any": ["s3://a", {"all": ["s3://b", "s3://c"]}]},
            "any of (s3://a, (s3://b and s3://c))",
        ),
        ({"all": ["s3://a", {"any": ["s3://b", "s3://c"]}]}, "s3://a and any of (s3://b, s3://c)"),
        ({"all": ["s3://a"]}, "s3://a"),
    ],
)
def test_describe(written: Any, text: str) -> None:
    assert describe(parse_asset_condition(written)) == text


def test_asset_refs_are_the_leaves_once() -> None:
    cond = parse_asset_condition({"any": ["s3://a", {"all": ["s3://a", {"name": "b"}]}]})
    assert asset_refs(cond) == (AssetRef(uri="s3://a"), AssetRef(name="b"))


def test_ref_has_exactly_one_of_uri_and_name() -> None:
    with pytest.raises(ValueError, match="exactly one of `uri` and `name`"):
        AssetRef()
    with pytest.raises(ValueError, match="exactly one of `uri` and `name`"):
        AssetRef(uri="s3://a", name="a")


@pytest.mark.parametrize(
    ("written", "path", "message", "hint"),
    [
        ("orders", (), r"has no scheme", r"write \{name: orders\}"),
        ("", (), r"asset URI is empty", r"s3://warehouse/orders"),
        ("   ", (), r"asset URI is empty", None),
        ("airflow://x/y", (), r"scheme `airflow` is reserved by Airflow", r"x-warehouse"),
        ("AIRFLOW://x", (), r"scheme `airflow` is reserved", None),
        ("s3://bücket/x", (), r"non-ASCII character 'ü' \(U\+00FC\)", r"percent-encode"),
        ("s3://a/b c", (), r"whitespace or a control character \(U\+0020, character 9\)", None),
        ("s3://a/b\tc", (), r"U\+0009", None),
        ("s3://a/b\x00", (), r"U\+0000", None),
        ("postgres://u:pw@host:5432/d/s/t", (), r"user information", r"without user"),
        ("s3://user@host/x", (), r"user information", None),
        ("s3://" + "a" * 1500, (), r"1505 characters long; Airflow allows at most 1500", None),
        ("s3://host:port/x", (), r"not a valid URI", None),
        ({"uri": "orders"}, ("uri",), r"has no scheme", None),
        ({"name": ""}, ("name",), r"asset name is empty", None),
        ({"name": "self"}, ("name",), r"`self` is not allowed as an asset name", None),
        ({"name": "ordérs"}, ("name",), r"non-ASCII", None),
        ({"name": 3}, ("name",), r"expected a string, got 3", None),
        ({"uri": "s3://a", "name": "a"}, (), r"exactly one of `uri` and `name`", None),
        ({}, (), r"an empty mapping is not an asset", None),
        ({"url": "s3://a"}, ("url",), r"unknown key `url` in an asset reference", None),
        (3, (), r"expected an asset condition, got 3", None),
        (None, (), r"expected an asset condition, got null", None),
        ([], (), r"a list of assets is empty", None),
        ({"any": []}, ("any",), r"`any` is empty", None),
        ({"all": "s3://a"}, ("all",), r"`all` takes a list, got str", r"\{all: \[s3://a"),
        ({"all": ["s3://a"], "any": ["s3://b"]}, (), r"found both `all` and `any`", r"nest"),
        ({"any": ["s3://a"], "cron": "x"}, (), r"`any` stands alone.*found also `cron`", None),
        (["s3://a", {"any": ["s3://b", "nope"]}], (1, "any", 1), r"has no scheme", None),
        (
            {"any": ["s3://a", [True]]},
            ("any", 1, 0),
            r"expected an asset condition, got true",
            None,
        ),
    ],
)
def test_bad_conditions_are_located(
    written: Any, path: tuple[Any, ...], message: str, hint: str | None
) -> None:
    with pytest.raises(AssetProblem, match=message) as caught:
        parse_asset_condition(written)
    assert caught.value.path == path
    if hint is not None:
        assert caught.value.hint is not None
        assert re.search(hint, caught.value.hint), caught.value.hint


def test_custom_scheme_and_query_are_kept() -> None:
    assert parse_asset_ref("x-warehouse://orders?day=1").uri == "x-warehouse://orders?day=1"
