from __future__ import annotations

from datetime import date

import pytest

from catalog_service.domain.tokens import BadToken, CursorCodec, OfferCodec, OfferRef

OFFERS = OfferCodec("unit-test-token-secret")
REF = OfferRef("SKU-000001", "fashion-show-las-vegas", "872830828ffffff", date(2026, 11, 25))


def test_an_offer_id_decodes_back_to_its_reference() -> None:
    assert OFFERS.decode(OFFERS.encode(REF)) == REF


def test_an_offer_id_is_the_same_length_whatever_the_mall() -> None:
    other = OfferRef(REF.sku, "tysons-corner-center", REF.cell, REF.day)

    assert len(OFFERS.encode(REF)) == len(OFFERS.encode(other))
    assert "fashion" not in OFFERS.encode(REF).casefold()


def test_an_offer_id_changes_with_the_cell_and_the_day() -> None:
    ids = {
        OFFERS.encode(REF),
        OFFERS.encode(OfferRef(REF.sku, REF.mall_id, "872830829ffffff", REF.day)),
        OFFERS.encode(OfferRef(REF.sku, REF.mall_id, REF.cell, date(2026, 11, 26))),
    }

    assert len(ids) == 3


@pytest.mark.parametrize("token", ["", "abc", "A" * 171])
def test_a_forged_offer_id_is_refused(token: str) -> None:
    with pytest.raises(BadToken):
        OFFERS.decode(token)


def test_another_secret_cannot_read_an_offer_id() -> None:
    with pytest.raises(BadToken):
        OfferCodec("another-secret-entirely").decode(OFFERS.encode(REF))


def test_a_cursor_round_trips_and_a_changed_one_is_refused() -> None:
    cursors = CursorCodec("unit-test-token-secret")
    cursor = cursors.encode(("plain tee", "SKU-000001"))

    assert cursors.decode(cursor) == ("plain tee", "SKU-000001")
    with pytest.raises(BadToken):
        cursors.decode(cursor[:-1] + ("A" if cursor[-1] != "A" else "B"))
    with pytest.raises(BadToken):
        cursors.decode("%%%")
