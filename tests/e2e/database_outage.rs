//! Postgres goes away under load and comes back: a TCP proxy between galleryd and the database is cut
//! (every connection dropped, new ones refused, as when the server stops) and restored, while
//! clients keep creating image definitions and reading them.
//!
//! While the database is gone, galleryd answers: `/_galleryd/ready` says 503, ARM requests get 503
//! `ServiceUnavailable` with `Retry-After`, never a 500 and never a driver's message, and no request
//! hangs. When it is back, galleryd serves again by itself. Afterwards every acknowledged write is
//! there, every write that failed is absent or whole, and the tables agree with each other. The
//! recovery times are printed (run with `--nocapture` to see them).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use galleryd_tests::tcp_proxy::TcpProxy;
use galleryd_tests::{Backend, GALLERY_API, TestApp};
use tokio::sync::Mutex;

use crate::consistency;

/// Longer than any answer may take: a request still unanswered then is a hang.
const HANG: Duration = Duration::from_secs(20);
/// Concurrent writers.
const WRITERS: usize = 4;

/// What one write got.
#[derive(Debug, Clone)]
struct Attempt {
    name: String,
    status: u16,
    code: String,
    retry_after: Option<String>,
    text: String,
    /// How long the answer took.
    took: Duration,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(HANG)
        .build()
        .expect("client")
}

/// Creates image definitions `w<writer>-<n>` until `stop`, recording every answer.
async fn write_until(
    app: Arc<TestApp>,
    writer: usize,
    stop: Arc<AtomicBool>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
) {
    let client = client();
    let mut number = 0;
    while !stop.load(Ordering::Relaxed) {
        number += 1;
        let name = format!("w{writer}-{number}");
        let url = format!(
            "{}{}?api-version={GALLERY_API}",
            app.http,
            app.image_path("rg", "gallery", &name)
        );
        let body = TestApp::image_body("publisher", &format!("offer-{name}"), "sku");
        let started = Instant::now();
        let response = client
            .put(&url)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|error| panic!("PUT {name} got no answer: {error}"));
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.unwrap_or_default();
        let code = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|body| body["error"]["code"].as_str().map(str::to_string))
            .unwrap_or_default();
        attempts.lock().await.push(Attempt {
            name,
            status,
            code,
            retry_after,
            text,
            took: started.elapsed(),
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads the gallery until `stop`; returns the statuses seen.
async fn read_until(app: Arc<TestApp>, stop: Arc<AtomicBool>) -> Vec<u16> {
    let client = client();
    let url = format!(
        "{}{}?api-version={GALLERY_API}",
        app.http,
        app.gallery_path("rg", "gallery")
    );
    let mut statuses = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let response = client
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET the gallery got no answer: {error}"));
        statuses.push(response.status().as_u16());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    statuses
}

/// `/_galleryd/ready`'s status and how long it took to answer.
async fn ready(app: &TestApp) -> (u16, Duration) {
    let started = Instant::now();
    let response = client()
        .get(format!("{}/_galleryd/ready", app.http))
        .send()
        .await
        .expect("/_galleryd/ready answers");
    (response.status().as_u16(), started.elapsed())
}

/// Asserts what every answer of the outage must be: a success, a 404/409 of the service's rules,
/// or a 503 `ServiceUnavailable` with `Retry-After`, never another 5xx or a driver's message.
fn assert_clean(attempt: &Attempt) {
    if attempt.status < 500 {
        return;
    }
    assert_eq!(
        (attempt.status, attempt.code.as_str()),
        (503, "ServiceUnavailable"),
        "{}: {}",
        attempt.name,
        attempt.text
    );
    assert!(
        attempt
            .retry_after
            .as_deref()
            .is_some_and(|seconds| seconds.parse::<u32>().is_ok_and(|seconds| seconds > 0)),
        "a 503 without a positive Retry-After: {attempt:?}"
    );
    for driver_text in [
        "sqlx",
        "error communicating",
        "terminating",
        "pool",
        "io error",
    ] {
        assert!(
            !attempt.text.to_lowercase().contains(driver_text),
            "a 503 leaking a driver message: {}",
            attempt.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_under_load_gives_503s_and_galleryd_recovers_by_itself() {
    let proxy = TcpProxy::to_postgres().await;
    let app = TestApp::start_with(Backend::Postgres, |config| {
        config.database_url = config
            .database_url
            .as_deref()
            .map(|url| proxy.url_through(url));
    })
    .await;
    let database_url = app.database.as_ref().expect("a database").url.clone();
    app.create_group("rg", "westus").await;
    app.create_gallery("rg", "gallery").await;
    let app = Arc::new(app);

    let stop = Arc::new(AtomicBool::new(false));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        writers.push(tokio::spawn(write_until(
            app.clone(),
            writer,
            stop.clone(),
            attempts.clone(),
        )));
    }
    let reader = tokio::spawn(read_until(app.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(800)).await;

    // The database goes away.
    proxy.cut().await;
    let cut_at = Instant::now();
    let mut ready_while_down = Vec::new();
    while cut_at.elapsed() < Duration::from_secs(3) {
        ready_while_down.push(ready(&app).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let acknowledged_before_restore = attempts
        .lock()
        .await
        .iter()
        .filter(|attempt| attempt.status == 201)
        .count();

    // It comes back; galleryd must notice by itself.
    let restored_at = Instant::now();
    proxy.restore().await;
    let mut ready_after = None;
    while restored_at.elapsed() < Duration::from_secs(15) {
        if ready(&app).await.0 == 200 {
            ready_after = Some(restored_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready_after = ready_after.expect("/_galleryd/ready turned 200 again after the restore");
    let writes_before_restore = attempts.lock().await.len();
    let mut first_write_after = None;
    while restored_at.elapsed() < Duration::from_secs(15) {
        let succeeded = attempts.lock().await[writes_before_restore..]
            .iter()
            .any(|attempt| attempt.status == 201);
        if succeeded {
            first_write_after = Some(restored_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first_write_after = first_write_after.expect("writes succeed again after the restore");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    let reads = reader.await.expect("reader");

    // While down: ready said 503 every time, and said it without waiting for the database.
    assert!(!ready_while_down.is_empty());
    for (status, took) in &ready_while_down {
        assert_eq!(*status, 503, "/_galleryd/ready while the database is gone");
        assert!(
            *took < Duration::from_secs(5),
            "/_galleryd/ready took {took:?} while the database was gone"
        );
    }
    let attempts = attempts.lock().await.clone();
    for attempt in &attempts {
        assert_clean(attempt);
    }
    let refused = attempts
        .iter()
        .filter(|attempt| attempt.status == 503)
        .count();
    assert!(refused > 0, "no write met the outage: {attempts:?}");
    assert!(
        reads.iter().all(|status| matches!(status, 200 | 503)),
        "reads answered {reads:?}"
    );

    // Afterwards: every acknowledged write is there, and every failed one is absent or whole.
    let mut present = 0;
    for attempt in &attempts {
        let response = app
            .get(&app.image_path("rg", "gallery", &attempt.name))
            .await;
        match attempt.status {
            201 => {
                response.assert_status(200);
                present += 1;
            }
            _ => match response.status {
                404 => {}
                200 => present += 1,
                other => panic!("{} answers {other} after the outage", attempt.name),
            },
        }
        if response.status == 200 {
            assert_eq!(
                response.json()["properties"]["provisioningState"],
                "Succeeded",
                "{}",
                response.text
            );
        }
    }
    let (listed, _) = app
        .list_all(&format!(
            "{}/images?api-version={GALLERY_API}",
            app.gallery_path("rg", "gallery")
        ))
        .await;
    assert_eq!(listed.len(), present, "the list and the GETs disagree");
    consistency::assert_resources_whole(&database_url).await;
    let running = consistency::operations_in_progress(&database_url).await;
    assert!(running.is_empty(), "operations left running: {running:?}");

    // And galleryd keeps serving.
    app.create_image("rg", "gallery", "after", "publisher", "after", "sku")
        .await;
    let slowest_refusal = attempts
        .iter()
        .filter(|attempt| attempt.status == 503)
        .map(|attempt| attempt.took)
        .max()
        .unwrap_or_default();
    let slowest_ready = ready_while_down
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    println!(
        "database outage: {} writes ({} acknowledged, {} refused with 503, {} of them before the restore), {} reads; \
         slowest 503 {} ms, slowest ready while down {} ms; ready again {} ms after the restore, first write {} ms after it",
        attempts.len(),
        attempts
            .iter()
            .filter(|attempt| attempt.status == 201)
            .count(),
        refused,
        acknowledged_before_restore,
        reads.len(),
        slowest_refusal.as_millis(),
        slowest_ready.as_millis(),
        ready_after.as_millis(),
        first_write_after.as_millis(),
    );
}
