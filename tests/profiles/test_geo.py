from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rapport.profiles import geo

lat = st.floats(min_value=-80, max_value=80, allow_nan=False)
lon = st.floats(min_value=-179.9, max_value=179.9, allow_nan=False)


@given(lat, lon)
def test_snapped_point_stays_within_its_cell(la: float, lo: float) -> None:
    s_lat, s_lon = geo.snap(la, lo, 2.0)
    # Centre of a 2 km cell: never further than the half-diagonal (~1.42 km) plus rounding.
    assert geo.distance_km(la, lo, s_lat, s_lon) < 1.5


@given(lat, lon)
def test_snapping_is_idempotent(la: float, lo: float) -> None:
    once = geo.snap(la, lo, 2.0)
    assert geo.snap(*once, 2.0) == once


def test_moving_inside_a_cell_reveals_nothing() -> None:
    # A viewer trilaterating a target who moves ~200 m inside one cell sees the same point.
    centre = geo.snap(31.2304, 121.4737, 2.0)
    for d in (0.001, -0.001, 0.002, -0.002):
        assert geo.snap(centre[0] + d, centre[1] + d, 2.0) == centre


def test_buckets() -> None:
    assert geo.bucket(0.3) == "under_5km"
    assert geo.bucket(7) == "under_10km"
    assert geo.bucket(99.9) == "under_100km"
    assert geo.bucket(5000) == "over_100km"
