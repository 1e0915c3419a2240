use nfip_risk::domain::{FloodZone, ZipCode, ZipRating};

use crate::helpers::{problem, spawn_app};

nfip_kit::backend_tests! {
    async fn returns_score_zone_and_factors(db) {
        let app = spawn_app(db).await;
        let response = app.get("/api/risk/33139").await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["zipcode"], "33139");
        assert_eq!(body["flood_zone"], "AE");
        assert_eq!(body["risk_score"], 0.9);
        let factors = body["factors"].as_array().unwrap();
        assert_eq!(factors.len(), 4);
        let sum: f64 = factors.iter().map(|f| f["contribution"].as_f64().unwrap()).sum();
        assert!((sum - 0.9).abs() < 1e-9, "factors add up to the score: {sum}");
        assert_eq!(factors[0]["factor"], "flood_zone");
    }

    async fn unknown_zip_is_a_404_problem_with_the_request_id(db) {
        let app = spawn_app(db).await;
        let response = app
            .http
            .get(app.server.url("/api/risk/99999"))
            .header("x-request-id", "lookup-404")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "lookup-404");
        let body = problem(response, 404).await;
        assert_eq!(body["type"], "urn:nfip:problem:not-found");
        assert_eq!(body["detail"], "no flood rating for ZIP code 99999");
        assert_eq!(body["request_id"], "lookup-404");
    }

    async fn an_import_replaces_the_whole_table(db) {
        let app = spawn_app(db).await;
        let replacement = ZipRating {
            zipcode: ZipCode::parse("12345").unwrap(),
            state: "NY".into(),
            flood_zone: FloodZone::X,
            elevation_ft: 400.0,
            distance_to_water_mi: 20.0,
            flood_claims_10y: 0,
        };
        app.ratings.replace_all(&[replacement]).await.unwrap();
        let body: serde_json::Value = app.get("/api/risk/12345").await.json().await.unwrap();
        assert_eq!(body["risk_score"], 0.05);
        problem(app.get("/api/risk/33139").await, 404).await;
        assert_eq!(app.ratings.count().await.unwrap(), 1);
    }

    async fn the_sample_is_seeded_once(db) {
        let app = spawn_app(db).await;
        let seeded = app.ratings.count().await.unwrap();
        assert!(seeded > 40);
        assert_eq!(nfip_risk::seed_if_empty(&app.ratings).await.unwrap(), 0);
        assert_eq!(app.ratings.count().await.unwrap(), seeded);
    }
}
