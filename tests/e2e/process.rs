//! The galleryd binary as users run it: zero-setup defaults, the data directory, HTTPS with the
//! generated certificate, restarts, graceful shutdown, `--in-memory`, `migrate` and JSON logs.

use std::io::{Read, Write};

use galleryd_tests::{
    DEVELOPMENT_SUBSCRIPTION_ID, DEVELOPMENT_TENANT_ID, GALLERY_API, GallerydProcess,
    RESOURCES_API, TempDirectory, TestDatabase, client_trusting,
};
use serde_json::json;

/// The status a request answers.
async fn status(request: reqwest::RequestBuilder) -> u16 {
    request
        .send()
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

const EPHEMERAL_PORTS: [(&str, &str); 2] =
    [("GALLERYD_HTTPS_PORT", "0"), ("GALLERYD_HTTP_PORT", "0")];

fn group_url(base: &str, group: &str) -> String {
    format!(
        "{base}/subscriptions/{DEVELOPMENT_SUBSCRIPTION_ID}/resourcegroups/{group}?api-version={RESOURCES_API}"
    )
}

fn gallery_url(base: &str, group: &str, gallery: &str) -> String {
    format!(
        "{base}/subscriptions/{DEVELOPMENT_SUBSCRIPTION_ID}/resourceGroups/{group}/providers/Microsoft.Compute/galleries/{gallery}?api-version={GALLERY_API}"
    )
}

#[tokio::test]
async fn serve_with_no_arguments_uses_sqlite_and_the_data_directory_and_survives_restarts() {
    let working_directory = TempDirectory::new();
    let data_dir = working_directory.0.join(".galleryd");
    let mut first = GallerydProcess::spawn(
        &[],
        &EPHEMERAL_PORTS,
        &working_directory.0,
        &working_directory.0,
    );
    let endpoints = first.wait_for_endpoints(&data_dir).await;
    assert_eq!(endpoints["tenantId"], DEVELOPMENT_TENANT_ID);
    assert_eq!(endpoints["subscriptionId"], DEVELOPMENT_SUBSCRIPTION_ID);
    let https = endpoints["https"].as_str().unwrap().to_string();
    let http = endpoints["http"].as_str().unwrap().to_string();
    assert!(
        https.starts_with("https://127.0.0.1:") && http.starts_with("http://127.0.0.1:"),
        "{endpoints}"
    );
    let certificate = std::path::PathBuf::from(endpoints["certificate"].as_str().unwrap());
    assert_eq!(
        certificate,
        data_dir.join("tls/ca.pem").canonicalize().unwrap()
    );
    first.wait_until_ready(&http).await;
    assert!(data_dir.join("galleryd.db").exists());
    assert!(
        first.output().contains(&certificate.display().to_string()),
        "the certificate path is printed"
    );

    let client = client_trusting(&certificate);
    assert_eq!(
        status(client.get(format!("{https}/_galleryd/health"))).await,
        200
    );
    assert_eq!(
        status(
            client
                .put(group_url(&https, "rg"))
                .json(&json!({"location": "westus"}))
        )
        .await,
        201
    );
    assert_eq!(
        status(
            client
                .put(gallery_url(&https, "rg", "kept"))
                .json(&json!({"location": "westus"}))
        )
        .await,
        201
    );
    first.terminate();
    assert_eq!(first.wait_for_exit(15).await, Some(0));

    std::fs::remove_file(data_dir.join("endpoints.json")).expect("endpoints.json of the first run");
    let mut second = GallerydProcess::spawn(
        &[],
        &EPHEMERAL_PORTS,
        &working_directory.0,
        &working_directory.0,
    );
    let endpoints = second.wait_for_endpoints(&data_dir).await;
    let https = endpoints["https"].as_str().unwrap().to_string();
    second
        .wait_until_ready(endpoints["http"].as_str().unwrap())
        .await;
    // Same certificate (clients keep trusting it), same data.
    let response = client_trusting(&certificate)
        .get(gallery_url(&https, "rg", "kept"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let directory = TempDirectory::new();
    let data_dir = directory.0.join("data");
    let data_dir_text = data_dir.display().to_string();
    let mut process = GallerydProcess::spawn(
        &["serve", "--data-dir", &data_dir_text],
        &EPHEMERAL_PORTS,
        &directory.0,
        &directory.0,
    );
    let endpoints = process.wait_for_endpoints(&data_dir).await;
    let http = endpoints["http"].as_str().unwrap().to_string();
    process.wait_until_ready(&http).await;
    let client = reqwest::Client::new();
    assert_eq!(
        status(
            client
                .put(group_url(&http, "rg"))
                .json(&json!({"location": "westus"}))
        )
        .await,
        201
    );

    // Send half a request, stop the server, then send the rest: the request still completes.
    let address = http.trim_start_matches("http://").to_string();
    let body = json!({"location": "westus"}).to_string();
    let path = gallery_url("", "rg", "inflight");
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body.as_bytes()[..5]).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    process.terminate();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "no new connections after SIGTERM"
    );
    stream.write_all(&body.as_bytes()[5..]).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(process.wait_for_exit(15).await, Some(0));
    assert!(process.output().contains("stopped"), "{}", process.output());

    std::fs::remove_file(data_dir.join("endpoints.json")).expect("endpoints.json of the first run");
    let mut restarted = GallerydProcess::spawn(
        &["serve", "--data-dir", &data_dir_text],
        &EPHEMERAL_PORTS,
        &directory.0,
        &directory.0,
    );
    let endpoints = restarted.wait_for_endpoints(&data_dir).await;
    let http = endpoints["http"].as_str().unwrap().to_string();
    restarted.wait_until_ready(&http).await;
    assert_eq!(
        status(client.get(gallery_url(&http, "rg", "inflight"))).await,
        200,
        "the in-flight write was kept"
    );
}

#[tokio::test]
async fn in_memory_writes_nothing_to_disk() {
    let directory = TempDirectory::new();
    let data_dir = directory.0.join("never-created");
    let data_dir_text = data_dir.display().to_string();
    let logs = TempDirectory::new();
    let mut process = GallerydProcess::spawn(
        &[
            "--in-memory",
            "--data-dir",
            &data_dir_text,
            "--log-format",
            "json",
        ],
        &EPHEMERAL_PORTS,
        &directory.0,
        &logs.0,
    );
    // No endpoints.json: find the port in the JSON log line.
    let mut http = None;
    for _ in 0..200 {
        http = process
            .output()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find_map(|line| line["http"].as_str().map(str::to_string));
        if http.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let http = http.unwrap_or_else(|| panic!("no listening line: {}", process.output()));
    process.wait_until_ready(&http).await;
    let client = reqwest::Client::new();
    let pem = client
        .get(format!("{http}/_galleryd/certificate"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let endpoints: serde_json::Value = client
        .get(format!("{http}/_galleryd/endpoints"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(endpoints["certificate"].is_null());
    assert_eq!(
        status(
            client
                .put(group_url(&http, "rg"))
                .json(&json!({"location": "westus"}))
        )
        .await,
        201
    );
    assert_eq!(
        status(
            client
                .put(gallery_url(&http, "rg", "g"))
                .json(&json!({"location": "westus"}))
        )
        .await,
        201
    );
    assert_eq!(status(client.get(gallery_url(&http, "rg", "g"))).await, 200);
    assert!(
        !data_dir.exists(),
        "--in-memory created {}",
        data_dir.display()
    );
    assert_eq!(
        std::fs::read_dir(&directory.0).unwrap().count(),
        0,
        "nothing written in the working directory"
    );

    // JSON logs: one line per request with method, path, status, latency and request id.
    process.terminate();
    assert_eq!(process.wait_for_exit(15).await, Some(0));
    let request_line = process
        .output()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["method"] == "PUT" && line["status"] == 201)
        .unwrap_or_else(|| panic!("no request log line: {}", process.output()));
    assert!(
        request_line["path"]
            .as_str()
            .unwrap()
            .contains("/resourcegroups/rg")
    );
    assert!(request_line["latency_ms"].is_number());
    assert_eq!(request_line["request_id"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn migrate_prepares_a_postgres_database_and_given_certificates_are_used() {
    let database = TestDatabase::create().await;
    let directory = TempDirectory::new();
    let data_dir_text = directory.0.join("data").display().to_string();
    let mut migrate = GallerydProcess::spawn(
        &[
            "migrate",
            "--database-url",
            &database.url,
            "--data-dir",
            &data_dir_text,
        ],
        &[],
        &directory.0,
        &directory.0,
    );
    assert_eq!(
        migrate.wait_for_exit(60).await,
        Some(0),
        "{}",
        migrate.output()
    );
    {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&database.url).await.unwrap();
        let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('resources', 'resource_groups', 'usage_counters', 'async_operations')")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        assert_eq!(tables, 4);
    }

    // Serve on that database with a certificate made elsewhere (here: by another galleryd).
    let tls_source = TempDirectory::new();
    let mut make_tls = GallerydProcess::spawn(
        &["--data-dir", &tls_source.0.display().to_string()],
        &EPHEMERAL_PORTS,
        &directory.0,
        &directory.0,
    );
    make_tls.wait_for_endpoints(&tls_source.0).await;
    make_tls.terminate();
    make_tls.wait_for_exit(15).await;
    let certificate = tls_source.0.join("tls/server.pem").display().to_string();
    let key = tls_source
        .0
        .join("tls/server-key.pem")
        .display()
        .to_string();

    let mut server = GallerydProcess::spawn(
        &[
            "serve",
            "--database-url",
            &database.url,
            "--data-dir",
            &data_dir_text,
            "--tls-cert",
            &certificate,
            "--tls-key",
            &key,
        ],
        &EPHEMERAL_PORTS,
        &directory.0,
        &directory.0,
    );
    let endpoints = server.wait_for_endpoints(&directory.0.join("data")).await;
    assert_eq!(endpoints["certificate"], certificate.as_str());
    server
        .wait_until_ready(endpoints["http"].as_str().unwrap())
        .await;
    let https = endpoints["https"].as_str().unwrap();
    let client = client_trusting(&tls_source.0.join("tls/ca.pem"));
    let ready: serde_json::Value = client
        .get(format!("{https}/_galleryd/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "postgres");
    assert!(
        !directory.0.join("data/tls").exists(),
        "no certificate generated when one is given"
    );
}
