//! Reading a rating table from CSV (the bundled sample, or one an operator imports).
//!
//! Header: `zipcode,state,flood_zone,elevation_ft,distance_to_water_mi,flood_claims_10y`.
//! Every row is checked before anything is written; the first bad row is reported with its line.

use std::collections::HashMap;
use std::io::Read;

use serde::Deserialize;

use crate::domain::{ZipCode, ZipRating};

/// The sample table shipped in the repository and seeded on first start. Sample data, not FEMA's.
pub const SAMPLE: &str = include_str!("../data/zip_ratings.csv");
/// The sample's version, as its answers report it: change it whenever the sample changes.
pub const SAMPLE_VERSION: &str = "nfip sample table of 2026-11-25";

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    zipcode: String,
    state: String,
    flood_zone: String,
    elevation_ft: f64,
    distance_to_water_mi: f64,
    flood_claims_10y: u32,
}

pub fn parse(input: impl Read) -> Result<Vec<ZipRating>, CsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|error| CsvError {
            line: 1,
            message: error.to_string(),
        })?
        .clone();
    let mut ratings = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|error| CsvError {
            line: error.position().map_or(0, |p| p.line()),
            message: error.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let fail = |message: String| CsvError { line, message };
        let row: Row = record
            .deserialize(Some(&headers))
            .map_err(|error| match error.kind() {
                csv::ErrorKind::Deserialize { err, .. } => fail(err.to_string()),
                _ => fail(error.to_string()),
            })?;
        let rating = ZipRating {
            zipcode: ZipCode::parse(&row.zipcode).map_err(fail)?,
            state: row.state,
            flood_zone: row.flood_zone.parse().map_err(fail)?,
            elevation_ft: row.elevation_ft,
            distance_to_water_mi: row.distance_to_water_mi,
            flood_claims_10y: row.flood_claims_10y,
        };
        rating.validate().map_err(fail)?;
        if let Some(first) = seen.insert(row.zipcode.clone(), line) {
            return Err(fail(format!(
                "ZIP code {} repeats line {first}",
                row.zipcode
            )));
        }
        ratings.push(rating);
    }
    if ratings.is_empty() {
        return Err(CsvError {
            line: 1,
            message: String::from("no ratings: the file has a header and no rows"),
        });
    }
    Ok(ratings)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "zipcode,state,flood_zone,elevation_ft,distance_to_water_mi,flood_claims_10y\n";

    #[test]
    fn the_sample_parses() {
        let ratings = parse(SAMPLE.as_bytes()).unwrap();
        assert!(ratings.len() >= 40, "{}", ratings.len());
    }

    #[test]
    fn reports_the_line_of_a_bad_row() {
        let csv = format!("{HEADER}33139,FL,AE,4,0.2,120\n7011,LA,AE,1,0.5,10\n");
        assert_eq!(
            parse(csv.as_bytes()).unwrap_err(),
            CsvError {
                line: 3,
                message: "`7011` is not a 5-digit ZIP code".into()
            }
        );
        let csv = format!("{HEADER}33139,FL,Q,4,0.2,120\n");
        assert_eq!(parse(csv.as_bytes()).unwrap_err().line, 2);
        let csv = format!("{HEADER}33139,FL,AE,high,0.2,120\n");
        let error = parse(csv.as_bytes()).unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }

    #[test]
    fn refuses_duplicates_and_empty_files() {
        let csv = format!("{HEADER}33139,FL,AE,4,0.2,120\n33139,FL,X,40,2,1\n");
        assert_eq!(
            parse(csv.as_bytes()).unwrap_err().message,
            "ZIP code 33139 repeats line 2"
        );
        assert!(parse(HEADER.as_bytes()).is_err());
    }
}
