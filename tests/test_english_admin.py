"""The English admin has no Vietnamese left that is not data (issue 18): on the staff's
pages of a day (tests/staff_day_setup.py) and the other admin pages, every text a reader
sees or hears (text, names of charts and regions, titles, placeholders) is English, a name
or text from the database (a unit, a region, a person, a channel account, a template, a
warning's own words), or inside an element marked ``lang="vi"`` (what residents receive,
quoted in the previews). Dates are unambiguous in English ("4 Dec 2026", never 04/12) and
dd/mm/yyyy in Vietnamese."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser_fixtures import sign_in_browser
from tests.builders import CONFIG
from tests.conftest import make_app
from tests.staff_day_setup import seed_staff_day
from tests.staff_day_setup import staff_pages
from tests.test_accessibility import ADMIN_PAGES
from tests.test_accessibility import DESKTOP
from tests.test_accessibility import tab

pytestmark = pytest.mark.browser

VIETNAMESE_WORD = re.compile(
    r"\S*[àáảãạăắằẳẵặâấầẩẫậèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵđ]\S*", re.I
)
NUMERIC_DATE = re.compile(r"\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b")
VIETNAMESE_DATE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
MONTH_NAME = re.compile(r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")
# Every text of the page in the page's language (in English: outside an element marked
# Vietnamese): text nodes (an SVG's <title> included) and the attributes a screen reader or
# a tooltip gives.
SHOWN_TEXTS = """(lang) => {
  const inLanguage = (el) => !el.closest('script, style, template')
    && (lang !== 'en' || !(el.closest('[lang]')?.lang || '').startsWith('vi'));
  const texts = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement && inLanguage(node.parentElement) && node.data.trim()) {
      texts.push(node.data.trim());
    }
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
    if (!inLanguage(el)) continue;
    for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
    }
  }
  return texts;
}"""


@pytest.fixture
def app(db_path):
    return make_app(db_path, **CONFIG | {"DATABASE": str(db_path)})


def data_names(db) -> re.Pattern:
    """Every name and text the database holds that a page may show as it is, longest first:
    regions (also without "Thành phố"/"Tỉnh", as the provinces' grid writes them), units,
    people, channel accounts and their settings, reasons, the templates and the warnings'
    own fields."""
    names = set()
    for sql in (
        "SELECT name FROM units",
        "SELECT full_name FROM users",
        "SELECT name FROM channel_accounts",
        "SELECT reject_reason FROM warnings WHERE reject_reason IS NOT NULL",
    ):
        names |= {row[0] for row in db.execute(sql)}
    for (name,) in db.execute("SELECT name FROM regions"):
        names |= {name, name.removeprefix("Thành phố ").removeprefix("Tỉnh ")}
    for sql in (
        "SELECT content FROM warnings",
        "SELECT fields FROM warning_templates",
        "SELECT settings FROM channel_accounts",
    ):
        for (fields,) in db.execute(sql):
            names |= {v for v in json.loads(fields).values() if isinstance(v, str) and v}
    names |= {row[0] for row in db.execute("SELECT name FROM warning_templates")}
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


def _leftovers(texts: list[str], names: re.Pattern, lang: str) -> set[str]:
    """What in ``texts`` is neither a name from the database nor right for ``lang``."""
    wrong = set()
    for text in texts:
        rest = names.sub(" ", text)
        if lang == "en":
            wrong |= {f"Vietnamese {w!r} in {text[:70]!r}" for w in VIETNAMESE_WORD.findall(rest)}
            wrong |= {f"date {d!r} in {text[:70]!r}" for d in NUMERIC_DATE.findall(rest)}
        else:
            wrong |= {f"English date {d!r} in {text[:70]!r}" for d in MONTH_NAME.findall(rest)}
    return wrong


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_the_staff_pages_speak_one_language_and_write_dates_for_it(
    browser, app, live_server, db, fakes, lang
):
    ids = seed_staff_day(db, fakes, app.config)
    names = data_names(db)
    pages = staff_pages(ids)
    pages["bo.admin"] += [p for p in ADMIN_PAGES if not p.startswith("/admin/demo")]
    pages["bo.admin"] += [
        f"/admin/warnings/{ids['returned']}",
        f"/admin/warnings/{ids['draft']}/edit",
    ]
    context, page = tab(browser, live_server, lang, DESKTOP)
    wrong, dates, headings = [], 0, {}
    for username, paths in pages.items():
        context.clear_cookies()
        context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
        sign_in_browser(page, live_server, username)
        for path in paths:
            page.goto(live_server + path)
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            texts = page.evaluate(SHOWN_TEXTS, lang)
            wrong += [f"{path}: {w}" for w in sorted(_leftovers(texts, names, lang))]
            pattern = MONTH_NAME if lang == "en" else VIETNAMESE_DATE
            dates += sum(len(pattern.findall(names.sub(" ", t))) for t in texts)
            headings[username, path] = page.locator("h1").first.inner_text()
    context.close()
    assert not wrong, "\n".join(wrong)
    assert dates > 20  # the work lists, timelines and reach tables wrote their dates
    assert (
        headings["hoankiem.canbo", "/account/"]
        == {"en": "My account", "vi": "Tài khoản của tôi"}[lang]
    )
