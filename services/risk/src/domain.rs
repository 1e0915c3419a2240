//! How a ZIP code's row in the rating table becomes a risk score (`model.rs` rates the ZIP codes
//! the table does not hold). No HTTP, no SQL.
//!
//! The score is the sum of four factor contributions, each computed in basis points (1/10,000)
//! so the arithmetic is exact; the caps add up to exactly 1.0:
//!
//! | factor              | contribution                                             | cap  |
//! |---------------------|----------------------------------------------------------|------|
//! | flood zone          | V/VE 0.50, A/AE 0.40, AH/AO 0.35, AR 0.30, A99 0.25, D 0.20, X 0.05 | 0.50 |
//! | elevation           | ≤10 ft 0.20, ≤25 ft 0.12, ≤50 ft 0.06, ≤100 ft 0.03, else 0 | 0.20 |
//! | distance to water   | <0.5 mi 0.15, <1 mi 0.10, <3 mi 0.05, <10 mi 0.02, else 0 | 0.15 |
//! | flood claims (10 y) | 0.001 per claim                                          | 0.15 |

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use nfip_kit::validate::ZipCode;

/// FEMA flood zone designation, as printed on Flood Insurance Rate Maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum FloodZone {
    /// 1% annual chance flood, no base flood elevation determined.
    A,
    /// 1% annual chance flood, base flood elevation determined.
    AE,
    /// 1% annual chance shallow flooding (ponding), 1–3 ft.
    AH,
    /// 1% annual chance shallow flooding (sheet flow), 1–3 ft.
    AO,
    /// Flood protection (levee) being restored.
    AR,
    /// To be protected by a federal flood protection system under construction.
    A99,
    /// Coastal 1% annual chance flood with wave action, no base flood elevation.
    V,
    /// Coastal 1% annual chance flood with wave action, base flood elevation determined.
    VE,
    /// Moderate to minimal risk: outside the 1% annual chance floodplain.
    X,
    /// Possible but undetermined flood hazard.
    D,
}

impl FloodZone {
    pub const ALL: [FloodZone; 10] = [
        FloodZone::A,
        FloodZone::AE,
        FloodZone::AH,
        FloodZone::AO,
        FloodZone::AR,
        FloodZone::A99,
        FloodZone::V,
        FloodZone::VE,
        FloodZone::X,
        FloodZone::D,
    ];

    pub fn code(self) -> &'static str {
        match self {
            FloodZone::A => "A",
            FloodZone::AE => "AE",
            FloodZone::AH => "AH",
            FloodZone::AO => "AO",
            FloodZone::AR => "AR",
            FloodZone::A99 => "A99",
            FloodZone::V => "V",
            FloodZone::VE => "VE",
            FloodZone::X => "X",
            FloodZone::D => "D",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FloodZone::V | FloodZone::VE => "coastal high-hazard area with wave action",
            FloodZone::A | FloodZone::AE => "special flood hazard area (1% annual chance)",
            FloodZone::AH | FloodZone::AO => "shallow flooding area (1% annual chance)",
            FloodZone::AR => "area behind a levee being restored",
            FloodZone::A99 => "area behind federal flood protection under construction",
            FloodZone::D => "undetermined flood hazard",
            FloodZone::X => "moderate-to-minimal flood hazard",
        }
    }

    fn basis_points(self) -> u32 {
        match self {
            FloodZone::V | FloodZone::VE => 5_000,
            FloodZone::A | FloodZone::AE => 4_000,
            FloodZone::AH | FloodZone::AO => 3_500,
            FloodZone::AR => 3_000,
            FloodZone::A99 => 2_500,
            FloodZone::D => 2_000,
            FloodZone::X => 500,
        }
    }
}

impl FromStr for FloodZone {
    type Err = String;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        FloodZone::ALL
            .into_iter()
            .find(|zone| zone.code() == code)
            .ok_or_else(|| {
                let known: Vec<_> = FloodZone::ALL.iter().map(|z| z.code()).collect();
                format!("unknown flood zone `{code}` (known: {})", known.join(", "))
            })
    }
}

/// What the risk table holds for one ZIP code.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipRating {
    pub zipcode: ZipCode,
    /// Two-letter USPS state code.
    pub state: String,
    pub flood_zone: FloodZone,
    /// Mean elevation above sea level, in feet.
    pub elevation_ft: f64,
    /// Distance to the nearest coast, river or lake, in miles.
    pub distance_to_water_mi: f64,
    /// Flood insurance claims filed in the ZIP code over the last ten years.
    pub flood_claims_10y: u32,
}

impl ZipRating {
    /// Checks the values a rating table may hold, naming the first that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.state.len() == 2 && self.state.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(format!("state `{}` is not a two-letter code", self.state));
        }
        if !self.elevation_ft.is_finite() || !(-300.0..=30_000.0).contains(&self.elevation_ft) {
            return Err(format!(
                "elevation_ft {} is out of range",
                self.elevation_ft
            ));
        }
        if !self.distance_to_water_mi.is_finite() || self.distance_to_water_mi < 0.0 {
            return Err(format!(
                "distance_to_water_mi {} must be zero or more",
                self.distance_to_water_mi
            ));
        }
        Ok(())
    }
}

/// A score in basis points: 0 (no risk) to 10,000 (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BasisPoints(pub u32);

impl BasisPoints {
    /// As a fraction of 1, exact to four decimal places.
    pub fn as_fraction(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FactorKind {
    FloodZone,
    Elevation,
    DistanceToWater,
    ClaimsHistory,
    /// The model's: how far the ZIP code is from the sea coast.
    DistanceToCoast,
    /// The model's: hurricanes and typhoons, by coastal state and latitude.
    CoastalStorms,
    /// The model's: the flood risk every place has.
    Baseline,
}

/// Where a rating comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The rating table shipped with the service.
    Table,
    /// The illustrative model, for a ZIP code the rating table does not hold.
    Model,
    /// A rating table an operator imported.
    Imported,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Source::Table => "table",
            Source::Model => "model",
            Source::Imported => "imported",
        }
    }
}

impl FromStr for Source {
    type Err = String;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        [Source::Table, Source::Model, Source::Imported]
            .into_iter()
            .find(|source| source.code() == code)
            .ok_or_else(|| format!("unknown rating source `{code}`"))
    }
}

/// Where a stored rating comes from and which version of that data it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub source: Source,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub kind: FactorKind,
    pub explanation: String,
    pub contribution: BasisPoints,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub score: BasisPoints,
    pub factors: Vec<Factor>,
}

pub fn assess(rating: &ZipRating) -> Assessment {
    let zone = rating.flood_zone;
    let elevation = match rating.elevation_ft {
        e if e <= 10.0 => 2_000,
        e if e <= 25.0 => 1_200,
        e if e <= 50.0 => 600,
        e if e <= 100.0 => 300,
        _ => 0,
    };
    let distance = match rating.distance_to_water_mi {
        d if d < 0.5 => 1_500,
        d if d < 1.0 => 1_000,
        d if d < 3.0 => 500,
        d if d < 10.0 => 200,
        _ => 0,
    };
    let claims = rating.flood_claims_10y.saturating_mul(10).min(1_500);
    let factors = vec![
        Factor {
            kind: FactorKind::FloodZone,
            explanation: format!("flood zone {}: {}", zone.code(), zone.describe()),
            contribution: BasisPoints(zone.basis_points()),
        },
        Factor {
            kind: FactorKind::Elevation,
            explanation: format!("{} ft above sea level", rating.elevation_ft),
            contribution: BasisPoints(elevation),
        },
        Factor {
            kind: FactorKind::DistanceToWater,
            explanation: format!("{} mi from the nearest water", rating.distance_to_water_mi),
            contribution: BasisPoints(distance),
        },
        Factor {
            kind: FactorKind::ClaimsHistory,
            explanation: format!(
                "{} flood claims in the last 10 years",
                rating.flood_claims_10y
            ),
            contribution: BasisPoints(claims),
        },
    ];
    let score = factors
        .iter()
        .map(|f| f.contribution.0)
        .sum::<u32>()
        .min(10_000);
    Assessment {
        score: BasisPoints(score),
        factors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(zone: FloodZone, elevation_ft: f64, distance: f64, claims: u32) -> ZipRating {
        ZipRating {
            zipcode: ZipCode::parse("33139").unwrap(),
            state: "FL".into(),
            flood_zone: zone,
            elevation_ft,
            distance_to_water_mi: distance,
            flood_claims_10y: claims,
        }
    }

    #[test]
    fn the_worst_case_scores_exactly_one() {
        let a = assess(&rating(FloodZone::VE, 2.0, 0.1, 10_000));
        assert_eq!(a.score, BasisPoints(10_000));
        assert_eq!(a.score.as_fraction(), 1.0);
    }

    #[test]
    fn contributions_add_up() {
        let a = assess(&rating(FloodZone::AE, 12.0, 0.8, 42));
        let parts: Vec<u32> = a.factors.iter().map(|f| f.contribution.0).collect();
        assert_eq!(parts, vec![4_000, 1_200, 1_000, 420]);
        assert_eq!(a.score, BasisPoints(6_620));
        assert_eq!(a.score.as_fraction(), 0.662);
    }

    #[test]
    fn high_dry_and_far_is_low() {
        let a = assess(&rating(FloodZone::X, 5_280.0, 25.0, 0));
        assert_eq!(a.score, BasisPoints(500));
    }

    #[test]
    fn zip_codes_are_five_digits() {
        assert!(ZipCode::parse("02139").is_ok());
        for bad in ["2139", "021390", "0213a", "", "02139-1234"] {
            assert!(ZipCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flood_zones_round_trip_their_codes() {
        for zone in FloodZone::ALL {
            assert_eq!(zone.code().parse::<FloodZone>(), Ok(zone));
        }
        assert!("Z".parse::<FloodZone>().is_err());
    }
}
