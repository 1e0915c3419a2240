-- One flood rating per ZIP code: the inputs the risk score is computed from.
CREATE TABLE zip_ratings (
    zipcode              TEXT PRIMARY KEY,
    state                TEXT NOT NULL,
    flood_zone           TEXT NOT NULL,
    elevation_ft         DOUBLE PRECISION NOT NULL,
    distance_to_water_mi DOUBLE PRECISION NOT NULL,
    flood_claims_10y     BIGINT NOT NULL
);
