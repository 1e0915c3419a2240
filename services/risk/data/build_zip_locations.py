"""Builds services/risk/data/zip_locations.csv.gz: every U.S. ZIP code with its state, its location
and its distance to the sea coast, the inputs of the risk service's illustrative model.

Sources, both from PyPI and pinned in requirements.txt next to this script:

- `zipcodes` (MIT): the USPS ZIP code list with each code's state, type, whether it is still in
  use, and a latitude and longitude from GeoNames (CC BY 4.0). Military codes (APO/FPO/DPO: states
  AA, AE, AP) are mail routes, not places, and retired codes are not real any more: both are left
  out.
- `global-land-mask` (MIT): NOAA's GLOBE land/sea mask at 30 arc-seconds (about 1 km), public
  domain. Most lakes count as land in it, so the distance is to the sea, not to any water.

The distance to the coast is the great-circle distance from the ZIP code's point to the nearest sea
cell that touches land, found with a k-d tree over unit vectors. The output is sorted, rounded and
gzipped with a fixed timestamp: the same inputs give the same bytes.

Run with `just risk-data`.
"""

import csv
import gzip
import io
import math
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import zipcodes
from global_land_mask import globe
from scipy.spatial import cKDTree

OUT = Path(__file__).with_name("zip_locations.csv.gz")
EARTH_RADIUS_MI = 3958.8
NOT_PLACES = {"AA", "AE", "AP"}


def data_version() -> str:
    return f"zipcodes {version('zipcodes')}, global-land-mask {version('global-land-mask')}"


def places():
    """The ZIP codes that name places still in use, sorted."""
    kept, skipped = [], {"military": 0, "retired": 0}
    for z in zipcodes.list_all():
        if z["state"] in NOT_PLACES or z["zip_code_type"] == "MILITARY":
            skipped["military"] += 1
        elif not z["active"]:
            skipped["retired"] += 1
        else:
            kept.append((z["zip_code"], z["state"], float(z["lat"]), float(z["long"])))
    kept.sort()
    return kept, skipped


def unit_vectors(lat_deg, lon_deg):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def coast_cells():
    """Latitudes and longitudes of the sea cells next to a land cell (4-neighbourhood)."""
    sea = globe._mask
    land = ~sea
    touches = np.zeros_like(sea)
    touches[1:, :] |= land[:-1, :]
    touches[:-1, :] |= land[1:, :]
    touches[:, 1:] |= land[:, :-1]
    touches[:, :-1] |= land[:, 1:]
    touches[:, 0] |= land[:, -1]  # the grid wraps around at the antimeridian
    touches[:, -1] |= land[:, 0]
    rows, cols = np.nonzero(sea & touches)
    return globe._lat[rows], globe._lon[cols]


def main() -> int:
    kept, skipped = places()
    lat = np.array([p[2] for p in kept])
    lon = np.array([p[3] for p in kept])
    coast_lat, coast_lon = coast_cells()
    tree = cKDTree(unit_vectors(coast_lat, coast_lon))
    chord, _ = tree.query(unit_vectors(lat, lon))
    miles = 2 * EARTH_RADIUS_MI * np.arcsin(np.minimum(chord / 2, 1.0))
    on_sea = globe.is_ocean(lat, lon)

    text = io.StringIO()
    text.write(f"# {data_version()}; see build_zip_locations.py\n")
    rows = csv.writer(text, lineterminator="\n")
    rows.writerow(["zipcode", "state", "latitude", "longitude", "coast_mi"])
    for (zipcode, state, la, lo), mi, sea in zip(kept, miles, on_sea):
        # A point that falls in a sea cell (a pier, an island smaller than a cell) is on the coast.
        distance = 0.0 if sea else mi
        rows.writerow([zipcode, state, f"{la:.3f}", f"{lo:.3f}", f"{distance:.1f}"])

    data = text.getvalue().encode()
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(data)
    print(
        f"{OUT.name}: {len(kept)} ZIP codes ({skipped['military']} military and "
        f"{skipped['retired']} retired left out), {len(coast_lat)} coast cells, "
        f"{len(data)} bytes of CSV, {OUT.stat().st_size} gzipped; {data_version()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
