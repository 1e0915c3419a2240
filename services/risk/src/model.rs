//! The illustrative model that rates every U.S. ZIP code the rating table does not. No HTTP, no
//! SQL.
//!
//! Its inputs are what open data shipped with the service supports: each ZIP code's state,
//! latitude and distance to the sea coast (`data/zip_locations.csv.gz`, built by `just risk-data`
//! from the `zipcodes` and `global-land-mask` packages). No packaged source has elevation or
//! claims, so the model has neither. It is **not** FEMA's flood maps and must not price real
//! policies. The score is the sum of three contributions, in basis points:
//!
//! | factor            | contribution                                                        | max  |
//! |-------------------|---------------------------------------------------------------------|------|
//! | distance to coast | 0.40 at the coast, halving every 10 mi                              | 0.40 |
//! | coastal storms    | in a hurricane or typhoon state: 0.25 × latitude weight, halving every 50 mi from the coast; the weight is 1 south of 25°N and falls to 0 at 43°N | 0.25 |
//! | baseline          | 0.05 everywhere: rain, rivers and drainage flood inland too         | 0.05 |
//!
//! Every contribution falls as the distance to the coast grows, so the score does too. The flood
//! zone is estimated from the score: VE from 0.55, AE from 0.30, X below.

use std::io::BufRead;
use std::sync::{Arc, OnceLock};

use crate::domain::{Assessment, BasisPoints, Factor, FactorKind, FloodZone, ZipCode};

/// The model's own version: raised whenever the formula changes, and part of every answer's
/// `data_version`.
pub const MODEL_VERSION: u32 = 1;

/// What `just risk-data` writes: a `# <sources>` line, a header, then one row per ZIP code.
const BUNDLED: &[u8] = include_bytes!("../data/zip_locations.csv.gz");
const HEADER: &str = "zipcode,state,latitude,longitude,coast_mi";

/// States and territories with an Atlantic or Gulf hurricane coast, or in the typhoon belt.
const STORM_COASTS: &[&str] = &[
    "TX", "LA", "MS", "AL", "FL", "GA", "SC", "NC", "VA", "DC", "MD", "DE", "NJ", "NY", "CT", "RI",
    "MA", "NH", "ME", "PR", "VI", "HI", "GU", "MP", "AS", "FM", "MH", "PW",
];

/// One ZIP code's place: what the model rates it from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZipLocation {
    zipcode: u32,
    state: [u8; 2],
    latitude: f32,
    longitude: f32,
    coast_mi: f32,
}

impl ZipLocation {
    pub fn zipcode(&self) -> String {
        format!("{:05}", self.zipcode)
    }

    /// Two-letter USPS state or territory code.
    pub fn state(&self) -> &str {
        // Checked to be two ASCII capitals when the table was read.
        std::str::from_utf8(&self.state).unwrap_or("??")
    }

    /// Degrees north (negative south), to three decimal places.
    pub fn latitude(&self) -> f64 {
        rounded(self.latitude, 1_000.0)
    }

    /// Degrees east (negative west), to three decimal places.
    pub fn longitude(&self) -> f64 {
        rounded(self.longitude, 1_000.0)
    }

    /// Great-circle distance to the nearest sea coast, in miles, to a tenth.
    pub fn coast_mi(&self) -> f64 {
        rounded(self.coast_mi, 10.0)
    }

    fn has_storm_coast(&self) -> bool {
        STORM_COASTS.contains(&self.state())
    }
}

/// Every U.S. ZIP code in use, sorted, with where its numbers come from.
#[derive(Debug)]
pub struct Locations {
    /// The model's version and the data's sources, as each model answer reports them.
    version: String,
    places: Vec<ZipLocation>,
}

impl Locations {
    /// The table compiled into the binary, read once per process.
    pub fn bundled() -> Result<Arc<Locations>, String> {
        static BUNDLED_TABLE: OnceLock<Result<Arc<Locations>, String>> = OnceLock::new();
        BUNDLED_TABLE
            .get_or_init(|| {
                let text = std::io::BufReader::new(flate2::read::GzDecoder::new(BUNDLED));
                Locations::parse(text)
                    .map(Arc::new)
                    .map_err(|e| format!("bundled ZIP locations: {e}"))
            })
            .clone()
    }

    fn parse(text: impl BufRead) -> Result<Locations, String> {
        let mut lines = text.lines().enumerate().map(|(index, line)| {
            line.map(|line| (index + 1, line))
                .map_err(|e| format!("line {}: {e}", index + 1))
        });
        let first = lines.next().transpose()?.map(|(_, line)| line);
        let sources = first
            .as_deref()
            .and_then(|line| line.strip_prefix("# "))
            .and_then(|line| line.split(';').next())
            .ok_or("line 1: no `# <sources>` line")?
            .to_owned();
        match lines.next().transpose()? {
            Some((_, header)) if header == HEADER => {}
            _ => return Err(format!("line 2: the header is not `{HEADER}`")),
        }
        let mut places = Vec::with_capacity(45_000);
        for line in lines {
            let (number, line) = line?;
            let place = parse_row(&line).map_err(|e| format!("line {number}: {e}"))?;
            if places
                .last()
                .is_some_and(|last: &ZipLocation| last.zipcode >= place.zipcode)
            {
                return Err(format!("line {number}: ZIP codes must be sorted"));
            }
            places.push(place);
        }
        places.shrink_to_fit();
        Ok(Locations {
            version: format!("model {MODEL_VERSION} on {sources}"),
            places,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn get(&self, zipcode: &ZipCode) -> Option<&ZipLocation> {
        let wanted: u32 = zipcode.as_str().parse().ok()?;
        self.places
            .binary_search_by_key(&wanted, |place| place.zipcode)
            .ok()
            .map(|index| &self.places[index])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ZipLocation> {
        self.places.iter()
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }
}

/// The decimal a table's `f32` was written as, without the noise of widening it to `f64`.
fn rounded(value: f32, scale: f64) -> f64 {
    (f64::from(value) * scale).round() / scale
}

fn parse_row(line: &str) -> Result<ZipLocation, String> {
    let fields: Vec<&str> = line.split(',').collect();
    let [zipcode, state, latitude, longitude, coast_mi] = fields[..] else {
        return Err(format!("{} fields, not 5", fields.len()));
    };
    let zipcode = ZipCode::parse(zipcode)?;
    let state: [u8; 2] = state
        .as_bytes()
        .try_into()
        .ok()
        .filter(|s: &[u8; 2]| s.iter().all(u8::is_ascii_uppercase))
        .ok_or_else(|| format!("state `{state}` is not a two-letter code"))?;
    let number = |name: &str, text: &str, range: std::ops::RangeInclusive<f32>| {
        text.parse::<f32>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| format!("{name} `{text}` is not a number in {range:?}"))
    };
    Ok(ZipLocation {
        zipcode: zipcode.as_str().parse().map_err(|_| "ZIP code")?,
        state,
        latitude: number("latitude", latitude, -90.0..=90.0)?,
        longitude: number("longitude", longitude, -180.0..=180.0)?,
        coast_mi: number("coast_mi", coast_mi, 0.0..=13_000.0)?,
    })
}

/// The model's flood zone and score for a place.
pub fn assess(place: &ZipLocation) -> (FloodZone, Assessment) {
    let miles = place.coast_mi();
    let halving = |every: f64| 0.5_f64.powf(miles / every);
    let coast = (4_000.0 * halving(10.0)).round() as u32;
    let latitude = place.latitude();
    let storms = if place.has_storm_coast() {
        let weight = ((43.0 - latitude) / 18.0).clamp(0.0, 1.0);
        (2_500.0 * weight * halving(50.0)).round() as u32
    } else {
        0
    };
    let hemisphere = if latitude < 0.0 { 'S' } else { 'N' };
    let factors = vec![
        Factor {
            kind: FactorKind::DistanceToCoast,
            explanation: format!("{miles:.1} mi from the sea coast"),
            contribution: BasisPoints(coast),
        },
        Factor {
            kind: FactorKind::CoastalStorms,
            explanation: if place.has_storm_coast() {
                format!(
                    "{} at {:.1}°{hemisphere}: a hurricane or typhoon coast",
                    place.state(),
                    latitude.abs()
                )
            } else {
                format!("{} has no hurricane or typhoon coast", place.state())
            },
            contribution: BasisPoints(storms),
        },
        Factor {
            kind: FactorKind::Baseline,
            explanation: String::from("rain, rivers and drainage can flood anywhere"),
            contribution: BasisPoints(500),
        },
    ];
    let score = BasisPoints(factors.iter().map(|f| f.contribution.0).sum());
    let zone = match score.0 {
        5_500.. => FloodZone::VE,
        3_000.. => FloodZone::AE,
        _ => FloodZone::X,
    };
    (zone, Assessment { score, factors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> Arc<Locations> {
        Locations::bundled().unwrap()
    }

    fn at(zipcode: &str) -> ZipLocation {
        *bundled().get(&ZipCode::parse(zipcode).unwrap()).unwrap()
    }

    fn score(zipcode: &str) -> u32 {
        assess(&at(zipcode)).1.score.0
    }

    #[test]
    fn the_bundled_table_holds_every_zip_code_in_use() {
        let table = bundled();
        assert!(table.len() > 40_000, "{}", table.len());
        assert!(
            table.version().starts_with("model 1 on zipcodes "),
            "{}",
            table.version()
        );
        assert_eq!(at("20740").state(), "MD");
        assert_eq!(at("00501").zipcode(), "00501");
        for not_a_place in ["00000", "99999", "09001"] {
            assert!(table.get(&ZipCode::parse(not_a_place).unwrap()).is_none());
        }
    }

    #[test]
    fn every_zip_code_has_a_score_in_range_and_a_zone() {
        for place in bundled().iter() {
            let (zone, assessment) = assess(place);
            let sum: u32 = assessment.factors.iter().map(|f| f.contribution.0).sum();
            assert_eq!(assessment.score.0, sum, "{}", place.zipcode());
            assert!((500..=10_000).contains(&sum), "{}: {sum}", place.zipcode());
            assert!(FloodZone::ALL.contains(&zone));
        }
    }

    #[test]
    fn the_score_never_rises_with_distance_to_the_coast() {
        let distances = [
            0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0,
            150.0, 250.0, 500.0, 1_000.0, 3_000.0,
        ];
        for place in bundled().iter() {
            let mut previous = u32::MAX;
            for &coast_mi in &distances {
                let score = assess(&ZipLocation { coast_mi, ..*place }).1.score.0;
                assert!(score <= previous, "{} at {coast_mi} mi", place.zipcode());
                previous = score;
            }
        }
    }

    #[test]
    fn known_places_rank_sensibly() {
        // Galveston and Key West above New Orleans' inland suburbs, above College Park, above
        // Denver and Chicago (the Great Lakes are not the sea).
        assert!(score("77550") > score("20740"));
        assert!(score("33040") > score("20740"));
        assert!(score("20740") > score("80202"));
        assert!(score("94103") > score("80202"));
        assert_eq!(score("80202"), 500);
        assert_eq!(assess(&at("80202")).0, FloodZone::X);
        assert_eq!(assess(&at("77550")).0, FloodZone::VE);
    }

    #[test]
    fn a_broken_table_names_its_line() {
        let good = format!("# test; x\n{HEADER}\n00501,NY,40.815,-73.045,2.0\n");
        assert_eq!(
            Locations::parse(good.as_bytes()).unwrap().version(),
            "model 1 on test"
        );
        let unsorted = format!("{good}00500,NY,40.815,-73.045,2.0\n");
        assert_eq!(
            Locations::parse(unsorted.as_bytes()).unwrap_err(),
            "line 4: ZIP codes must be sorted"
        );
        let bad = format!("# test\n{HEADER}\n00501,ny,40.8,-73.0,2.0\n");
        assert_eq!(
            Locations::parse(bad.as_bytes()).unwrap_err(),
            "line 3: state `ny` is not a two-letter code"
        );
        assert!(Locations::parse("zipcode\n".as_bytes()).is_err());
    }
}
