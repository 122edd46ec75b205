"""The search page puts results first: applied filters as removable chips, the form folded, grouped drop-downs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db


class ChipParser(HTMLParser):
    """The page's chips as (accessible name, query of their link), in order."""

    def __init__(self) -> None:
        super().__init__()
        self.chips: list[tuple[str, dict[str, list[str]]]] = []
        self._href: str | None = None
        self._text: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and "chip" in (attributes.get("class") or "").split():
            self._href, self._text = attributes["href"], []
        elif self._href is not None and tag == "span" and attributes.get("aria-hidden") == "true":
            self._hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._href is not None and tag == "span" and self._hidden_depth:
            self._hidden_depth -= 1
        elif self._href is not None and tag == "a":
            self.chips.append(("".join(self._text).strip(), parse_qs(urlsplit(self._href).query)))
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._href is not None and not self._hidden_depth:
            self._text.append(data)


def chips_of(html: str) -> dict[str, dict[str, list[str]]]:
    parser = ChipParser()
    parser.feed(html)
    return dict(parser.chips)


def edit_filters_tag(html: str) -> str:
    return re.search(r'<details class="edit-filters[^"]*"[^>]*>', html).group(0)


SEARCH = {
    "near": "11215",
    "radius": "50",
    "format": "individual,online",
    "insurance": ["aetna", "cigna"],
    "language": "es",
    "focus": "grief-loss",
    "q": "",
    "page": "1",
}


def test_each_filter_of_a_search_is_a_chip_whose_link_drops_exactly_that_value(client: Client) -> None:
    response = client.get("/therapists/", SEARCH)
    assert response.status_code == 200
    chips = chips_of(response.content.decode())
    assert list(chips) == [
        "Remove filter: Within 50 miles of 11215",
        "Remove filter: Individual",
        "Remove filter: Online (telehealth)",
        "Remove filter: Aetna",
        "Remove filter: Cigna",
        "Remove filter: Grief and loss",
        "Remove filter: Spanish",
    ]
    asked = {"near": ["11215"], "radius": ["50"], "format": ["individual", "online"],
             "insurance": ["aetna", "cigna"], "language": ["es"], "focus": ["grief-loss"]}  # fmt: skip
    assert chips["Remove filter: Aetna"] == {**asked, "insurance": ["cigna"]}
    assert chips["Remove filter: Online (telehealth)"] == {**asked, "format": ["individual"]}
    spanish = dict(asked)
    del spanish["language"]
    assert chips["Remove filter: Spanish"] == spanish
    place = {name: values for name, values in asked.items() if name not in ("near", "radius")}
    assert chips["Remove filter: Within 50 miles of 11215"] == place


def test_following_a_chip_searches_again_without_that_filter(client: Client) -> None:
    narrow = client.get("/therapists/", {"near": "11215", "insurance": "aetna", "accepting": "any"})
    chips = chips_of(narrow.content.decode())
    assert list(chips) == [
        "Remove filter: Within 25 miles of 11215",
        "Remove filter: Aetna",
        "Remove filter: Accepting or not",
    ]
    broad = client.get("/therapists/", chips["Remove filter: Aetna"])
    assert broad.context["count"] > narrow.context["count"]
    assert list(chips_of(broad.content.decode())) == [
        "Remove filter: Within 25 miles of 11215",
        "Remove filter: Accepting or not",
    ]


def test_removing_the_place_also_drops_its_radius_and_a_sort_by_distance(client: Client) -> None:
    response = client.get("/therapists/", {"near": "11215", "radius": "10", "ordering": "distance", "language": "en"})
    without_place = chips_of(response.content.decode())["Remove filter: Within 10 miles of 11215"]
    assert without_place == {"language": ["en"]}
    assert client.get("/therapists/", without_place).status_code == 200


def test_defaults_and_empty_parameters_make_no_chip(client: Client) -> None:
    """The form submits every field: an empty box or the page's default is not a filter the client chose."""
    empty_form = {"near": "", "radius": "25", "insurance": "", "accepting": "true", "language": "", "state": "",
                  "q": "", "ordering": ""}  # fmt: skip
    html = client.get("/therapists/", empty_form).content.decode()
    assert chips_of(html) == {}
    assert 'class="chips"' not in html


def test_keywords_state_and_age_are_chips_too(client: Client) -> None:
    html = client.get("/therapists/", {"q": "grief", "state": "ny", "age_group": "adults"}).content.decode()
    assert list(chips_of(html)) == [
        "Remove filter: Adults",
        "Remove filter: Licensed in New York",
        "Remove filter: Keywords: “grief”",
    ]


def test_the_form_is_open_on_a_first_visit_folded_after_a_search_and_open_to_fix_an_error(client: Client) -> None:
    first_visit = client.get("/therapists/").content.decode()
    assert " open" in edit_filters_tag(first_visit)
    assert "<summary>Edit filters</summary>" in first_visit

    after_search = client.get("/therapists/", {"near": "11215"}).content.decode()
    assert " open" not in edit_filters_tag(after_search)
    # Results come before nothing but the chips and the folded form.
    assert after_search.index('class="chip"') < after_search.index('id="results-heading"')
    assert after_search.index("<summary>Edit filters</summary>") < after_search.index('class="therapist-card"')

    error = client.get("/therapists/", {"near": "Atlantis, ZZ"})
    assert error.status_code == 400
    assert " open" in edit_filters_tag(error.content.decode())


def test_insurance_and_language_are_grouped_drop_downs_that_keep_the_choice(client: Client) -> None:
    html = client.get("/therapists/", {"insurance": "medicare-advantage", "language": "es"}).content.decode()
    insurance = re.search(r'<select name="insurance".*?</select>', html, re.S).group(0)
    assert " multiple" not in insurance.split(">", 1)[0]
    assert '<option value="">Any insurance</option>' in insurance
    medicare = re.search(r'<optgroup label="Medicare plans">(.*?)</optgroup>', insurance, re.S).group(1)
    assert re.search(r'<option value="medicare-advantage" selected>Medicare Advantage plans</option>', medicare)
    private = re.search(r'<optgroup label="Employer and private plans">(.*?)</optgroup>', insurance, re.S).group(1)
    assert 'value="aetna"' in private
    assert insurance.count("<option") == 32  # every plan, once, and "Any insurance"

    language = re.search(r'<select name="language".*?</select>', html, re.S).group(0)
    common = re.search(r'<optgroup label="Most asked for">(.*?)</optgroup>', language, re.S).group(1)
    assert re.findall(r'value="(\w+)"', common)[:3] == ["en", "es", "zh"]
    assert '<option value="es" selected>Spanish</option>' in common
    assert 'value="ja"' in re.search(r'<optgroup label="Other languages">(.*?)</optgroup>', language, re.S).group(1)


def test_a_link_with_several_insurers_keeps_them_all_in_a_list_box(client: Client) -> None:
    """A search copied from the API may name several plans: the form must not drop all but one."""
    html = client.get("/therapists/", {"insurance": "aetna,cigna"}).content.decode()
    opening = re.search(r'<select name="insurance"[^>]*>', html).group(0)
    assert " multiple" in opening
    assert re.search(r'<option value="aetna" selected>', html) and re.search(r'<option value="cigna" selected>', html)


def test_an_unknown_insurer_is_marked_on_its_drop_down(client: Client) -> None:
    html = client.get("/therapists/", {"insurance": "acme"}).content.decode()
    opening = re.search(r'<select name="insurance"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in opening and 'aria-describedby="id_insurance_error"' in opening
    assert '<p class="field-error" id="id_insurance_error">Unknown value' in html


def test_checkbox_labels_wrap_beside_their_box(client: Client) -> None:
    html = client.get("/").content.decode()
    assert re.search(r'<label class="check" for="id_concern_\d+"><input [^>]*><span>[^<]+</span></label>', html)


def test_chips_cost_no_query(client: Client) -> None:
    """Chip labels come from the cached reference rows: ten filters cost what one costs."""
    one = {"near": "10001", "radius": "500", "accepting": "any"}
    ten = {**one, "format": "individual,online", "insurance": "aetna,cigna", "focus": "grief-loss,role-disputes",
           "language": "en", "age_group": "adults"}  # fmt: skip
    client.get("/therapists/", one)  # warms the per-process caches
    with CaptureQueriesContext(connection) as one_filter:
        client.get("/therapists/", one)
    with CaptureQueriesContext(connection) as ten_filters:
        response = client.get("/therapists/", ten)
    assert len(chips_of(response.content.decode())) == 10
    assert response.context["therapists"]
    assert len(ten_filters) == len(one_filter)
