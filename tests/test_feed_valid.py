"""The region feeds are valid Atom (issue 18): feedparser reads them without complaint, and
every id is an IRI (RFC 3987, checked by the ``rfc3987`` package) of a registered scheme, the
entries' as tag URIs (RFC 4151) that stay the same when the feed is fetched again.

The W3C feed validator is not packaged on PyPI; these are the checks it failed us on, and an
independent one: RFC 4287's own RELAX NG schema (its Appendix B, written out as the RFC gives
it in tests/data/atom-rfc4287.rnc), converted by ``rnc2rng`` and applied by lxml (libxml2),
with the schema's two Schematron rules (every entry has an author and a link or a content)
evaluated as the XPath they are."""

from __future__ import annotations

import re

import feedparser
import pytest
import rfc3987
import rnc2rng
from lxml import etree

from alerts.demo import warnings as demo_warnings
from tests.builders import CONFIG
from tests.builders import DATA
from tests.conftest import make_app

# RFC 4151: tag:<authority>,<yyyy[-mm[-dd]]>:<specific>
TAG = re.compile(r"tag:[a-z0-9.-]+\.[a-z]{2,},\d{4}(-\d\d(-\d\d)?)?:[\w.~!$&'()*+,;=:@/?-]+")
REGISTERED = {"tag", "https", "http", "urn"}
SCHEMATRON = "{http://www.ascc.net/xml/schematron}"
ATOM = {"atom": "http://www.w3.org/2005/Atom"}


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


def rfc4287_schema() -> tuple[etree.RelaxNG, list[tuple[str, str, str]]]:
    """RFC 4287's schema, and its Schematron rules as (context, test, message)."""
    converted = rnc2rng.dumps(rnc2rng.loads((DATA / "atom-rfc4287.rnc").read_text()))
    # The RFC's ``namespace local = ""`` becomes xmlns:local="", which XML forbids; the
    # converted patterns name the empty namespace themselves (<nsName ns=""/>).
    grammar = etree.fromstring(converted.replace('xmlns:local=""', "").encode("utf-8"))
    rules = [
        (rule.get("context"), check.get("test"), " ".join(check.text.split()))
        for rule in grammar.iter(f"{SCHEMATRON}rule")
        for check in rule.iter(f"{SCHEMATRON}assert")
    ]
    return etree.RelaxNG(grammar), rules


def broken_rules(document, rules) -> list[str]:
    """The message of every Schematron rule some node of ``document`` breaks."""
    return [
        message
        for context, test, message in rules
        for node in document.xpath(f"//{context}", namespaces=ATOM)
        if not node.xpath(test, namespaces=ATOM)
    ]


def test_every_feed_is_valid_against_the_schema_of_rfc_4287(client, db):
    demo_warnings.seed(db, CONFIG)
    schema, rules = rfc4287_schema()
    assert len(rules) == 3  # the feed's author rule, the entry's link and author rules
    for region in ("00070", "01", "vn", "48"):
        document = etree.fromstring(client.get(f"/feeds/{region}.atom").data)
        assert schema.validate(document), (region, schema.error_log.filter_from_errors())
        assert not broken_rules(document, rules), region


def test_the_schema_refuses_a_feed_that_breaks_it(client, db):
    """The check can fail: an entry without its id; then no author anywhere."""
    demo_warnings.seed(db, CONFIG)
    schema, rules = rfc4287_schema()
    document = etree.fromstring(client.get("/feeds/00070.atom").data)
    entry = document.find("atom:entry", ATOM)
    entry.remove(entry.find("atom:id", ATOM))
    assert not schema.validate(document)
    for person in document.iterfind(".//atom:author", ATOM):
        person.getparent().remove(person)
    assert "An atom:entry must have an atom:author if its feed does not." in broken_rules(
        document, rules
    )
