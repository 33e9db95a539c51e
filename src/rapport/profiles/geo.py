"""Coarse location: coordinates are snapped to a grid before storage; others see a bucket only.

Rounding a displayed distance is not enough (trilateration beats it), so the exact point is
never stored: a point becomes the centre of its grid cell (default 2 km), distances are computed
between cell centres and shown as buckets.
"""

from __future__ import annotations

import math

EARTH_KM = 6371.0088
KM_PER_DEG_LAT = 111.32
BUCKETS: tuple[tuple[float, str], ...] = (
    (5, "under_5km"),
    (10, "under_10km"),
    (25, "under_25km"),
    (50, "under_50km"),
    (100, "under_100km"),
    (math.inf, "over_100km"),
)


def snap(lat: float, lon: float, cell_km: float) -> tuple[float, float]:
    """Return the centre of the grid cell containing (lat, lon)."""
    dlat = cell_km / KM_PER_DEG_LAT
    lat_c = (math.floor(lat / dlat) + 0.5) * dlat
    lat_c = max(-89.9, min(89.9, lat_c))
    dlon = min(360.0, dlat / max(math.cos(math.radians(lat_c)), 0.01))
    lon_c = (math.floor((lon + 180.0) / dlon) + 0.5) * dlon - 180.0
    if lon_c > 180.0:
        lon_c -= 360.0
    return round(lat_c, 6), round(lon_c, 6)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def bucket(km: float) -> str:
    for limit, label in BUCKETS:
        if km < limit:
            return label
    return BUCKETS[-1][1]


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) enclosing a radius; lon unbounded near the poles."""
    dlat = km / KM_PER_DEG_LAT
    cos = math.cos(math.radians(lat))
    dlon = 180.0 if cos < 0.01 else min(180.0, km / (KM_PER_DEG_LAT * cos))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
