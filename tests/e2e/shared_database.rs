//! Several galleryd processes on one Postgres database: what one writes, the others serve, even
//! though each keeps a cache of documents (Postgres announces every change to all of them).

use galleryd_tests::{Backend, GALLERY_API, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_changed_through_one_server_are_served_fresh_by_another() {
    let app = TestApp::start(Backend::Postgres).await;
    let (other, other_http, _directory) = app.second_server(|_| {}).await;
    app.create_group("rg", "westus").await;
    app.create_gallery("rg", "gal").await;
    let path = format!(
        "{}?api-version={GALLERY_API}",
        app.gallery_path("rg", "gal")
    );
    let through_other = format!("{other_http}{path}");

    // The other server reads (and caches) the gallery...
    let first = app
        .request(reqwest::Method::GET, &through_other, None)
        .await;
    first.assert_status(200);
    assert!(first.json()["properties"].get("description").is_none());
    // ...then it changes through the first server, and the other one serves the change.
    app.patch(
        &app.gallery_path("rg", "gal"),
        &json!({"properties": {"description": "changed elsewhere"}}),
    )
    .await
    .assert_status(200);
    let mut seen = String::new();
    for _ in 0..100 {
        let response = app
            .request(reqwest::Method::GET, &through_other, None)
            .await;
        seen = response.json()["properties"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if seen == "changed elsewhere" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen, "changed elsewhere",
        "the other server kept serving a stale document"
    );

    // Deletion too.
    app.delete(&app.gallery_path("rg", "gal"))
        .await
        .assert_status(202);
    let mut status = 200;
    for _ in 0..100 {
        status = app
            .request(reqwest::Method::GET, &through_other, None)
            .await
            .status;
        if status == 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        status, 404,
        "the other server kept serving a deleted document"
    );
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_two_servers_share_limits_and_uniqueness() {
    let app = TestApp::start_with(Backend::Postgres, |config| {
        config.max_galleries_per_region = 3
    })
    .await;
    let (other, other_http, _directory) = app
        .second_server(|config| config.max_galleries_per_region = 3)
        .await;
    app.create_group("rg", "westus").await;
    let put = |base: String, name: &'static str| {
        let app = &app;
        async move {
            let url = format!(
                "{base}{}?api-version={GALLERY_API}",
                app.gallery_path("rg", name)
            );
            app.request(
                reqwest::Method::PUT,
                &url,
                Some(&json!({"location": "westus"})),
            )
            .await
        }
    };
    put(app.http.clone(), "a").await.assert_status(201);
    put(other_http.clone(), "b").await.assert_status(201);
    put(other_http.clone(), "A").await.assert_status(200);
    put(app.http.clone(), "c").await.assert_status(201);
    put(other_http.clone(), "d")
        .await
        .assert_error(409, "OperationNotAllowed");
    other.shutdown().await;
}
