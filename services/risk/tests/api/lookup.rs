use nfip_risk::domain::{FloodZone, Provenance, Source, ZipCode, ZipRating};
use nfip_risk::ratings_csv::SAMPLE_VERSION;
use serde_json::Value;

use crate::helpers::{TestApp, problem, spawn_app};
use nfip_kit_test::Fetch;

trait Risk {
    async fn risk(&self, zipcode: &str) -> Value;
}

impl Risk for TestApp {
    async fn risk(&self, zipcode: &str) -> Value {
        let response = self.get(&format!("/api/risk/{zipcode}")).await;
        assert_eq!(response.status(), 200, "{zipcode}");
        response.json().await.unwrap()
    }
}

fn score(body: &Value) -> f64 {
    let score = body["risk_score"].as_f64().unwrap();
    let sum: f64 = body["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["contribution"].as_f64().unwrap())
        .sum();
    assert!(
        (sum - score).abs() < 1e-9,
        "factors add up to the score: {body}"
    );
    score
}

nfip_kit_test::backend_tests! {
    async fn a_table_row_answers_with_its_inputs_and_where_it_comes_from(db) {
        let app = spawn_app(db).await;
        let body = app.risk("33139").await;
        assert_eq!(body["zipcode"], "33139");
        assert_eq!(body["flood_zone"], "AE");
        assert_eq!(score(&body), 0.9);
        assert_eq!((&body["source"], &body["data_version"]), (&"table".into(), &SAMPLE_VERSION.into()));
        assert_eq!(body["elevation_ft"], 4.0);
        assert!(body.get("distance_to_coast_mi").is_none(), "{body}");
        let factors = body["factors"].as_array().unwrap();
        assert_eq!(factors.len(), 4);
        assert_eq!(factors[0]["factor"], "flood_zone");
    }

    async fn any_other_zip_code_in_use_is_rated_by_the_model(db) {
        let app = spawn_app(db).await;
        // College Park, MD: the seed's own example, not in the sample table.
        let body = app.risk("20740").await;
        assert_eq!((&body["source"], &body["state"]), (&"model".into(), &"MD".into()));
        let version = body["data_version"].as_str().unwrap();
        assert!(version.starts_with("model 1 on zipcodes "), "{version}");
        assert!(body["distance_to_coast_mi"].as_f64().unwrap() > 5.0, "{body}");
        for table_only in ["elevation_ft", "distance_to_water_mi", "flood_claims_10y"] {
            assert!(body.get(table_only).is_none(), "{table_only}: {body}");
        }
        let kinds: Vec<&str> = body["factors"].as_array().unwrap().iter().map(|f| f["factor"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["distance_to_coast", "coastal_storms", "baseline"]);
        let college_park = score(&body);
        // Miami Beach above College Park above Denver, in the table and in the model.
        assert!(score(&app.risk("33139").await) > score(&app.risk("80202").await));
        let (miami_beach, denver) = (app.risk("33109").await, app.risk("80211").await);
        assert_eq!((&miami_beach["source"], &denver["source"]), (&"model".into(), &"model".into()));
        assert_eq!((score(&denver), &denver["flood_zone"]), (0.05, &"X".into()));
        assert!(score(&miami_beach) > college_park && college_park > score(&denver));
        assert_eq!(miami_beach["flood_zone"], "VE");
    }

    async fn five_digits_that_are_no_zip_code_are_a_404_problem(db) {
        let app = spawn_app(db).await;
        let response = app
            .request(reqwest::Method::GET, "/api/risk/00000")
            .header("x-request-id", "lookup-404")
            .fetch()
            .await;
        assert_eq!(response.headers()["x-request-id"], "lookup-404");
        let body = problem(response, 404).await;
        assert_eq!(body["type"], "urn:nfip:problem:not-found");
        assert_eq!(body["detail"], "00000 is not a U.S. ZIP code in use");
        assert_eq!(body["request_id"], "lookup-404");
    }

    async fn an_import_replaces_the_whole_table_and_the_model_rates_the_rest(db) {
        let app = spawn_app(db).await;
        let replacement = ZipRating {
            zipcode: ZipCode::parse("12345").unwrap(),
            state: "NY".into(),
            flood_zone: FloodZone::X,
            elevation_ft: 400.0,
            distance_to_water_mi: 20.0,
            flood_claims_10y: 0,
        };
        let imported = Provenance { source: Source::Imported, version: "fema.csv, imported 2026-11-25T10:00:00Z".into() };
        app.store.replace_all(&[replacement], &imported).await.unwrap();
        let body = app.risk("12345").await;
        assert_eq!((score(&body), &body["source"]), (0.05, &"imported".into()));
        assert_eq!(body["data_version"], "fema.csv, imported 2026-11-25T10:00:00Z");
        assert_eq!(app.risk("33139").await["source"], "model");
        assert_eq!(app.store.count().await.unwrap(), 1);
    }

    async fn replicas_starting_together_seed_the_table_once(db) {
        let seeded = seeded_at_once(&db.url).await;
        assert_eq!(seeded.iter().filter(|n| **n > 0).count(), 1, "{seeded:?}");
        let store = nfip_risk::RatingStore::connect(&db.url).await.unwrap();
        assert_eq!(store.count().await.unwrap(), seeded.iter().sum::<usize>() as i64);
    }

    async fn the_sample_is_seeded_once(db) {
        let app = spawn_app(db).await;
        let seeded = app.store.count().await.unwrap();
        assert!(seeded > 40);
        assert_eq!(nfip_risk::seed_if_empty(&app.store).await.unwrap(), 0);
        assert_eq!(app.store.count().await.unwrap(), seeded);
    }
}

/// Four replicas on one database, each opening and seeding it as `main` does, all at once,
/// each as a process of its own: how many rows each seeded.
async fn seeded_at_once(url: &str) -> Vec<usize> {
    let replicas: Vec<_> = (0..4)
        .map(|_| {
            let url = url.to_owned();
            nfip_kit_test::as_a_process(async move {
                let store = nfip_risk::RatingStore::connect(&url).await.unwrap();
                let seeded = nfip_risk::seed_if_empty(&store).await.unwrap();
                store.db().close().await;
                seeded
            })
        })
        .collect();
    let joined = tokio::task::spawn_blocking(move || {
        let seeded = replicas.into_iter().map(|replica| replica.join());
        seeded.collect::<Result<Vec<_>, _>>()
    });
    joined.await.unwrap().expect("every replica starts")
}
