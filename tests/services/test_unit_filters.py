"""The unit list's filters, read once for the API and the dashboard: the shared rules, and the
two ways of reading them (the form forgives case and spaces; the API reads what it was sent)."""

import pytest

from colloquy.domain.models import ReviewStatus
from colloquy.services.unit_filters import (
    API_READER,
    FORM_READER,
    STATUS_PROBLEM,
    parse_unit_filters,
)
from colloquy.store.protocol import UnitFilter


@pytest.mark.parametrize("reader", [API_READER, FORM_READER])
def test_no_filters_is_everything(reader) -> None:
    parsed = parse_unit_filters(reader)
    assert parsed.filters == UnitFilter()
    assert parsed.problems == []
    assert not parsed.unknown_status


@pytest.mark.parametrize("reader", [API_READER, FORM_READER])
def test_every_filter_read(reader) -> None:
    parsed = parse_unit_filters(reader, " approved ", " WEB ", "0.3", 0.8, "mo", "  cache miss ")
    assert parsed.problems == []
    assert parsed.filters == UnitFilter(
        status=ReviewStatus.APPROVED,
        domain="web",
        confidence_min=3000,
        confidence_max=8000,
        created_by="mo",
        text="cache miss",
    )


def test_status_case_is_forgiven_only_on_the_form() -> None:
    assert parse_unit_filters(FORM_READER, "Approved").filters.status is ReviewStatus.APPROVED
    parsed = parse_unit_filters(API_READER, "Approved")
    assert parsed.unknown_status
    assert parsed.filters.status is None
    assert parsed.problems == [STATUS_PROBLEM]


def test_unknown_status_is_left_out_with_a_problem() -> None:
    parsed = parse_unit_filters(FORM_READER, "bogus", domain="web")
    assert parsed.unknown_status
    assert parsed.problems == ["status must be pending, approved or rejected"]
    assert parsed.filters == UnitFilter(domain="web")


def test_author_spaces_are_forgiven_only_on_the_form() -> None:
    assert parse_unit_filters(FORM_READER, created_by="  mo ").filters.created_by == "mo"
    assert parse_unit_filters(API_READER, created_by="  mo ").filters.created_by == "  mo "
    assert parse_unit_filters(FORM_READER, created_by="   ").filters.created_by is None
    assert parse_unit_filters(FORM_READER, created_by="x" * 300).filters.created_by == "x" * 256


def test_text_is_trimmed_and_capped() -> None:
    assert parse_unit_filters(API_READER, text="   ").filters.text is None
    assert parse_unit_filters(FORM_READER, text=" " + "q" * 250).filters.text == "q" * 200


@pytest.mark.parametrize(
    ("reader", "message"),
    [
        (API_READER, "domain must be at most 64 characters once lower-cased"),
        (FORM_READER, "Domain must be at most 64 characters once lower-cased"),
    ],
)
def test_over_long_domain_is_named_as_each_reader_names_it(reader, message) -> None:
    parsed = parse_unit_filters(reader, domain="İ" * 64)
    assert parsed.problems == [message]
    assert parsed.filters.domain is None
    assert not parsed.unknown_status


@pytest.mark.parametrize("raw", ["high", "-0.1", "1.1", "nan", "inf"])
def test_bad_confidence_is_a_problem_for_each_bound(raw) -> None:
    parsed = parse_unit_filters(FORM_READER, confidence_min=raw, confidence_max=raw)
    assert parsed.problems == [
        "Minimum confidence must be a number from 0 to 1",
        "Maximum confidence must be a number from 0 to 1",
    ]
    assert parsed.filters == UnitFilter()


def test_blank_confidence_is_no_bound() -> None:
    parsed = parse_unit_filters(FORM_READER, confidence_min="  ", confidence_max="")
    assert parsed.problems == []
    assert (parsed.filters.confidence_min, parsed.filters.confidence_max) == (None, None)


def test_problems_come_in_the_form_order() -> None:
    parsed = parse_unit_filters(FORM_READER, "x", "d" * 65, "2", "-1")
    assert parsed.problems == [
        STATUS_PROBLEM,
        "Domain must be at most 64 characters once lower-cased",
        "Minimum confidence must be a number from 0 to 1",
        "Maximum confidence must be a number from 0 to 1",
    ]
