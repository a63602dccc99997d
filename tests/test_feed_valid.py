"""The region feeds are valid Atom (issue 18): feedparser reads them without complaint, and
every id is an IRI (RFC 3987, checked by the ``rfc3987`` package) of a registered scheme, the
entries' as tag URIs (RFC 4151) that stay the same when the feed is fetched again.

The W3C feed validator is not packaged on PyPI; these are the checks it failed us on."""

from __future__ import annotations

import re

import feedparser
import pytest
import rfc3987

from alerts.demo import warnings as demo_warnings
from tests.builders import CONFIG
from tests.conftest import make_app

# RFC 4151: tag:<authority>,<yyyy[-mm[-dd]]>:<specific>
TAG = re.compile(r"tag:[a-z0-9.-]+\.[a-z]{2,},\d{4}(-\d\d(-\d\d)?)?:[\w.~!$&'()*+,;=:@/?-]+")
REGISTERED = {"tag", "https", "http", "urn"}


@pytest.fixture
def app(db_path):
    return make_app(db_path, **CONFIG | {"DATABASE": str(db_path)})


def assert_iri(value: str) -> None:
    parts = rfc3987.parse(value, rule="IRI")  # raises ValueError on a bad IRI
    assert parts["scheme"] in REGISTERED, value


def test_every_feed_is_atom_with_iris_for_ids(client, db):
    demo_warnings.seed(db, CONFIG)
    for region in ("00070", "01", "vn"):
        response = client.get(f"/feeds/{region}.atom")
        assert response.status_code == 200, region
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == "atom10"
        assert_iri(parsed.feed.id)
        ids = [entry.id for entry in parsed.entries]
        assert ids and len(set(ids)) == len(ids)
        for entry in parsed.entries:
            assert_iri(entry.id)
            assert TAG.fullmatch(entry.id), entry.id
            assert entry.author and entry.title and entry.updated_parsed
        again = feedparser.parse(client.get(f"/feeds/{region}.atom").data)
        assert [entry.id for entry in again.entries] == ids


def test_the_cancellation_and_the_update_are_entries_of_their_own(client, db):
    demo_warnings.seed(db, CONFIG)
    parsed = feedparser.parse(client.get("/feeds/00070.atom").data)
    specifics = sorted(entry.id.rsplit(":", 1)[1] for entry in parsed.entries)
    assert any(s.endswith(".cancel") for s in specifics), specifics
    assert any(s.endswith(".2") for s in specifics), specifics  # Phường Hoàn Kiếm's update
