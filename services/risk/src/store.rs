//! The rating table.

use nfip_kit::Db;
use nfip_kit::db::Row as AnyRow;
use nfip_kit::db::{Backend, DbError, Migration};

use crate::domain::{Provenance, ZipCode, ZipRating};

pub const MIGRATIONS: &[Migration] = nfip_kit::migrations!(
    "../migrations",
    "0001_zip_ratings.sql" => "zip ratings",
    "0002_rating_provenance.sql" => "rating provenance",
);

#[derive(Debug, Clone)]
pub struct RatingStore {
    db: Db,
}

impl RatingStore {
    pub async fn connect(url: &str) -> Result<RatingStore, DbError> {
        Ok(RatingStore {
            db: Db::connect(url, MIGRATIONS).await?,
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn get(
        &self,
        zipcode: &ZipCode,
    ) -> Result<Option<(ZipRating, Provenance)>, sqlx::Error> {
        nfip_kit::db::query(
            "SELECT zipcode, state, flood_zone, elevation_ft, distance_to_water_mi, \
             flood_claims_10y, source, data_version FROM zip_ratings WHERE zipcode = $1",
        )
        .bind(zipcode.as_str())
        .fetch_optional_as(&self.db, rating_from)
        .await
    }

    pub async fn count(&self) -> Result<i64, sqlx::Error> {
        nfip_kit::db::query("SELECT COUNT(*) AS n FROM zip_ratings")
            .fetch_one(&self.db)
            .await?
            .try_get("n")
    }

    /// Fills the table with `ratings` if it is empty, in one transaction; false if it was not.
    /// Replicas starting together take turns: the first fills it, the others find it full.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "seed"))]
    pub async fn seed(
        &self,
        ratings: &[ZipRating],
        provenance: &Provenance,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        if self.db.backend() == Backend::Postgres {
            // SQLite's write transaction already excludes other writers.
            nfip_kit::db::query("LOCK TABLE zip_ratings IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut tx)
                .await?;
        }
        let count: i64 = nfip_kit::db::query("SELECT COUNT(*) AS n FROM zip_ratings")
            .fetch_one(&mut tx)
            .await?
            .try_get("n")?;
        if count > 0 {
            return Ok(false);
        }
        insert(&mut tx, ratings, provenance).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces the whole table in one transaction: readers see the old table or the new one.
    #[tracing::instrument(level = "debug", name = "db write", skip_all, fields(db.operation.name = "replace_all"))]
    pub async fn replace_all(
        &self,
        ratings: &[ZipRating],
        provenance: &Provenance,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.db.begin_write().await?;
        nfip_kit::db::query("DELETE FROM zip_ratings")
            .execute(&mut tx)
            .await?;
        insert(&mut tx, ratings, provenance).await?;
        tx.commit().await
    }
}

async fn insert(
    tx: &mut nfip_kit::db::Tx,
    ratings: &[ZipRating],
    provenance: &Provenance,
) -> Result<(), sqlx::Error> {
    for rating in ratings {
        nfip_kit::db::query(
            "INSERT INTO zip_ratings \
                 (zipcode, state, flood_zone, elevation_ft, distance_to_water_mi, \
                  flood_claims_10y, source, data_version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(rating.zipcode.as_str())
        .bind(rating.state.as_str())
        .bind(rating.flood_zone.code())
        .bind(rating.elevation_ft)
        .bind(rating.distance_to_water_mi)
        .bind(i64::from(rating.flood_claims_10y))
        .bind(provenance.source.code())
        .bind(provenance.version.as_str())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

fn rating_from(row: &AnyRow) -> Result<(ZipRating, Provenance), sqlx::Error> {
    let decode = |column: &str, message: String| sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: message.into(),
    };
    let zipcode: String = row.try_get("zipcode")?;
    let flood_zone: String = row.try_get("flood_zone")?;
    let claims: i64 = row.try_get("flood_claims_10y")?;
    let source: String = row.try_get("source")?;
    let rating = ZipRating {
        zipcode: ZipCode::parse(&zipcode).map_err(|m| decode("zipcode", m))?,
        state: row.try_get("state")?,
        flood_zone: flood_zone.parse().map_err(|m| decode("flood_zone", m))?,
        elevation_ft: row.try_get("elevation_ft")?,
        distance_to_water_mi: row.try_get("distance_to_water_mi")?,
        flood_claims_10y: u32::try_from(claims)
            .map_err(|e| decode("flood_claims_10y", e.to_string()))?,
    };
    let provenance = Provenance {
        source: source.parse().map_err(|m| decode("source", m))?,
        version: row.try_get("data_version")?,
    };
    Ok((rating, provenance))
}
