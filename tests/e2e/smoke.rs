//! The smallest end-to-end flow, proving the harness.

use galleryd_tests::{TestApp, both_stores};

both_stores! {
    async fn gallery_round_trip(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg1", "westus").await;
        let created = app.create_gallery("rg1", "gal1").await;
        created.assert_status(201);
        let fetched = app.get(&app.gallery_path("rg1", "gal1")).await;
        fetched.assert_status(200);
        assert_eq!(fetched.json()["properties"]["provisioningState"], "Succeeded");
    }
}
