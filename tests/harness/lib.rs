//! The test harness: a real galleryd on 127.0.0.1:0 against a fresh database per test.
//!
//! [`TestApp::start`] starts the same server the binary runs (in-process, ephemeral ports, its own
//! temporary data directory) on a brand-new Postgres database or SQLite file. [`both_stores!`]
//! declares a test once and runs its body on both backends. Requests go over real HTTP with
//! `reqwest`; helpers build ARM paths for the development subscription.
//!
//! Postgres is found at `GALLERYD_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates `galleryd_test_<uuid>` and
//! drops it afterwards.

pub mod tcp_proxy;

use std::path::PathBuf;

use galleryd::{Config, Server};
use serde_json::Value;

pub use gallery_domain::identity::{DEVELOPMENT_SUBSCRIPTION_ID, DEVELOPMENT_TENANT_ID};

/// The newest GalleryRP api-version.
pub const GALLERY_API: &str = "2026-03-03";
/// The resource-group api-version the `az` CLI sends.
pub const RESOURCES_API: &str = "2024-11-01";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Declares an async test whose body runs once on Postgres and once on SQLite:
/// `both_stores! { async fn name(backend) { let app = TestApp::start(backend).await; … } }`.
#[macro_export]
macro_rules! both_stores {
    ($(async fn $name:ident($backend:ident) $body:block)+) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let $backend = $crate::Backend::Postgres;
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $backend = $crate::Backend::Sqlite;
                    $body
                }
            }
        )+
    };
}

/// The Postgres server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("GALLERYD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// `admin_url` with its database name replaced by `name`.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (without_query, query) = match admin_url.find('?') {
        Some(index) => (&admin_url[..index], &admin_url[index..]),
        None => (admin_url, ""),
    };
    let authority_start = without_query.find("://").map_or(0, |index| index + 3);
    let base = match without_query[authority_start..].find('/') {
        Some(index) => &without_query[..authority_start + index],
        None => without_query,
    };
    format!("{base}/{name}{query}")
}

/// A Postgres database that exists for one test.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    /// Creates `galleryd_test_<uuid>`.
    pub async fn create() -> TestDatabase {
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let name = format!("galleryd_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "cannot reach Postgres at {admin_url} (set GALLERYD_TEST_POSTGRES_URL): {error}"
                )
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .expect("create test database");
        let _ = connection.close().await;
        let url = database_url(&admin_url, &name);
        TestDatabase { name, url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs outside any runtime guarantee: use a private one on a plain thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut connection) = sqlx::PgConnection::connect(&postgres_admin_url()).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut connection)
                        .await;
                    let _ = connection.close().await;
                }
            });
        })
        .join();
    }
}

/// A fresh temporary directory, removed when dropped.
pub struct TempDirectory(pub PathBuf);

impl TempDirectory {
    pub fn new() -> TempDirectory {
        let path =
            std::env::temp_dir().join(format!("galleryd-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDirectory(path)
    }
}

impl Default for TempDirectory {
    fn default() -> Self {
        TempDirectory::new()
    }
}

impl Drop for TempDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl TestResponse {
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// `error.code` of an ARM error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Asserts the status and ARM error code, with the body in the failure message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.error_code().as_str()),
            (status, code),
            "unexpected answer: {}",
            self.text
        );
    }

    /// Asserts the status, with the body in the failure message.
    #[track_caller]
    pub fn assert_status(&self, status: u16) {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
    }
}

/// A running galleryd for one test.
pub struct TestApp {
    pub backend: Backend,
    server: Option<Server>,
    /// `http://127.0.0.1:<port>`.
    pub http: String,
    /// `https://127.0.0.1:<port>`.
    pub https: String,
    pub client: reqwest::Client,
    /// The development subscription.
    pub subscription: String,
    /// The data directory (holds the TLS material and, on SQLite, the database).
    pub data_dir: PathBuf,
    /// Set on Postgres: the test's database (its URL lets a test restart galleryd on the same data).
    pub database: Option<TestDatabase>,
    _directory: TempDirectory,
}

impl TestApp {
    /// A galleryd with default settings.
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, |_| {}).await
    }

    /// A galleryd whose configuration `configure` adjusts (limits, page size, …).
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
        let directory = TempDirectory::new();
        let database = match backend {
            Backend::Postgres => Some(TestDatabase::create().await),
            Backend::Sqlite => None,
        };
        let mut config = TestApp::config(&directory.0, database.as_ref());
        configure(&mut config);
        let server = Server::start(&config).await.expect("galleryd starts");
        TestApp {
            backend,
            http: format!("http://{}", server.http_address),
            https: format!("https://127.0.0.1:{}", server.https_address.port()),
            server: Some(server),
            client: reqwest::Client::builder().build().expect("client"),
            subscription: DEVELOPMENT_SUBSCRIPTION_ID.to_string(),
            data_dir: directory.0.clone(),
            database,
            _directory: directory,
        }
    }

    /// A `TestApp` whose requests go to a galleryd process the test runs itself (from the binary, to
    /// kill or restart it): `http` is its plain-http base. [`TestApp::server`] is not available;
    /// point `http` at a restarted process's new base URL.
    pub fn for_process(
        backend: Backend,
        http: String,
        data_dir: PathBuf,
        database: Option<TestDatabase>,
        directory: TempDirectory,
    ) -> TestApp {
        TestApp {
            backend,
            server: None,
            https: http.replacen("http://", "https://", 1),
            http,
            client: reqwest::Client::builder().build().expect("client"),
            subscription: DEVELOPMENT_SUBSCRIPTION_ID.to_string(),
            data_dir,
            database,
            _directory: directory,
        }
    }

    /// The configuration tests start from: ephemeral ports, quiet logs, the given database.
    pub fn config(data_dir: &std::path::Path, database: Option<&TestDatabase>) -> Config {
        Config {
            data_dir: data_dir.to_path_buf(),
            https_port: 0,
            http_port: 0,
            log_level: "warn".to_string(),
            database_max_connections: 8,
            database_url: database.map(|database| database.url.clone()),
            ..Config::default()
        }
    }

    /// Starts another galleryd on this app's Postgres database (as several processes sharing one
    /// database would run); returns it with its plain-http base URL. Stop it with
    /// [`Server::shutdown`].
    pub async fn second_server(
        &self,
        configure: impl FnOnce(&mut Config),
    ) -> (Server, String, TempDirectory) {
        let directory = TempDirectory::new();
        let mut config = TestApp::config(&directory.0, self.database.as_ref());
        configure(&mut config);
        let server = Server::start(&config)
            .await
            .expect("second galleryd starts");
        let http = format!("http://{}", server.http_address);
        (server, http, directory)
    }

    /// The running server.
    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("server running")
    }

    /// Stops the server (drains requests, closes the store).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    /// `/subscriptions/{dev}{rest}`.
    pub fn subscription_path(&self, rest: &str) -> String {
        format!("/subscriptions/{}{rest}", self.subscription)
    }

    /// `/subscriptions/{dev}/resourceGroups/{group}`.
    pub fn group_path(&self, group: &str) -> String {
        self.subscription_path(&format!("/resourceGroups/{group}"))
    }

    /// The path of a gallery.
    pub fn gallery_path(&self, group: &str, gallery: &str) -> String {
        format!(
            "{}/providers/Microsoft.Compute/galleries/{gallery}",
            self.group_path(group)
        )
    }

    /// The path of an image definition.
    pub fn image_path(&self, group: &str, gallery: &str, image: &str) -> String {
        format!("{}/images/{image}", self.gallery_path(group, gallery))
    }

    /// Sends a request to `path_and_query` (relative to the plain-http base, or an absolute URL).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let url = if path_and_query.starts_with("http") {
            path_and_query.to_string()
        } else {
            format!("{}{path_and_query}", self.http)
        };
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request sent");
        TestResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    /// Appends `api-version` to a path.
    fn versioned(path: &str, version: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{path}{separator}api-version={version}")
    }

    /// GET at the GalleryRP api-version.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(
            reqwest::Method::GET,
            &TestApp::versioned(path, GALLERY_API),
            None,
        )
        .await
    }

    /// PUT at the GalleryRP api-version.
    pub async fn put(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            reqwest::Method::PUT,
            &TestApp::versioned(path, GALLERY_API),
            Some(body),
        )
        .await
    }

    /// PATCH at the GalleryRP api-version.
    pub async fn patch(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            reqwest::Method::PATCH,
            &TestApp::versioned(path, GALLERY_API),
            Some(body),
        )
        .await
    }

    /// DELETE at the GalleryRP api-version.
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.request(
            reqwest::Method::DELETE,
            &TestApp::versioned(path, GALLERY_API),
            None,
        )
        .await
    }

    /// Creates a resource group in `location`.
    pub async fn create_group(&self, group: &str, location: &str) -> TestResponse {
        let path = TestApp::versioned(
            &self.subscription_path(&format!("/resourcegroups/{group}")),
            RESOURCES_API,
        );
        let response = self
            .request(
                reqwest::Method::PUT,
                &path,
                Some(&serde_json::json!({"location": location})),
            )
            .await;
        assert!(
            matches!(response.status, 200 | 201),
            "resource group {group}: {}",
            response.text
        );
        response
    }

    /// Creates a gallery (in westus unless the body says otherwise) and asserts it was accepted.
    pub async fn create_gallery(&self, group: &str, gallery: &str) -> TestResponse {
        let response = self
            .put(
                &self.gallery_path(group, gallery),
                &serde_json::json!({"location": "westus"}),
            )
            .await;
        assert!(
            matches!(response.status, 200 | 201),
            "gallery {gallery}: {}",
            response.text
        );
        response
    }

    /// The body of a minimal image definition.
    pub fn image_body(publisher: &str, offer: &str, sku: &str) -> Value {
        serde_json::json!({
            "location": "westus",
            "properties": {"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": publisher, "offer": offer, "sku": sku}}
        })
    }

    /// Creates an image definition and asserts it was accepted.
    pub async fn create_image(
        &self,
        group: &str,
        gallery: &str,
        image: &str,
        publisher: &str,
        offer: &str,
        sku: &str,
    ) -> TestResponse {
        let response = self
            .put(
                &self.image_path(group, gallery, image),
                &TestApp::image_body(publisher, offer, sku),
            )
            .await;
        assert!(
            matches!(response.status, 200 | 201),
            "image {image}: {}",
            response.text
        );
        response
    }

    /// Follows the `Azure-AsyncOperation` of a response and returns the status body.
    pub async fn operation_status(&self, response: &TestResponse) -> Value {
        let url = response
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation header")
            .to_string();
        let status = self.request(reqwest::Method::GET, &url, None).await;
        status.assert_status(200);
        status.json()
    }

    /// Polls the `Azure-AsyncOperation` of a write until the operation is no longer in progress (at
    /// most 10 s) and returns its last status body.
    pub async fn wait_for_operation(&self, response: &TestResponse) -> Value {
        let url = response
            .header("azure-asyncoperation")
            .expect("Azure-AsyncOperation header")
            .to_string();
        for _ in 0..200 {
            let status = self.request(reqwest::Method::GET, &url, None).await;
            status.assert_status(200);
            let body = status.json();
            if body["status"] != "InProgress" {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the operation at {url} did not finish within 10 s");
    }

    /// Every item of a list, following `nextLink`s; also returns how many pages it took.
    pub async fn list_all(&self, path_and_query: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut next = Some(path_and_query.to_string());
        while let Some(url) = next {
            let response = self.request(reqwest::Method::GET, &url, None).await;
            response.assert_status(200);
            let body = response.json();
            items.extend(body["value"].as_array().cloned().unwrap_or_default());
            next = body["nextLink"].as_str().map(str::to_string);
            pages += 1;
            assert!(pages < 10_000, "nextLink loop");
        }
        (items, pages)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            // Stop accepting and release the store; the runtime may already be winding down.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(server.shutdown());
            }
        }
    }
}

/// The galleryd binary, built on first use (`cargo build -p galleryd`) unless `GALLERYD_BINARY`
/// names one. Process-level tests (signals, the data directory, logs) run the real binary.
pub fn galleryd_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Ok(path) = std::env::var("GALLERYD_BINARY") {
                return PathBuf::from(path);
            }
            let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let release = !cfg!(debug_assertions);
            let mut build = std::process::Command::new(env!("CARGO"));
            build
                .args(["build", "--quiet", "-p", "galleryd", "--bin", "galleryd"])
                .current_dir(&workspace);
            if release {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build");
            assert!(status.success(), "cargo build -p galleryd failed");
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace.join("target"));
            target
                .join(if release { "release" } else { "debug" })
                .join("galleryd")
        })
        .clone()
}

/// A galleryd process started from the binary; killed when dropped.
pub struct GallerydProcess {
    pub child: std::process::Child,
    /// Files the process's stdout and stderr go to.
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
}

impl GallerydProcess {
    /// Starts `galleryd` with `arguments` and `environment`, in `working_directory`; output goes to
    /// files in `log_directory`.
    pub fn spawn(
        arguments: &[&str],
        environment: &[(&str, &str)],
        working_directory: &std::path::Path,
        log_directory: &std::path::Path,
    ) -> GallerydProcess {
        let stdout_path =
            log_directory.join(format!("stdout-{}.log", uuid::Uuid::new_v4().simple()));
        let stderr_path =
            log_directory.join(format!("stderr-{}.log", uuid::Uuid::new_v4().simple()));
        let mut command = std::process::Command::new(galleryd_binary());
        command
            .args(arguments)
            .current_dir(working_directory)
            .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr_path).expect("stderr file"));
        for key in [
            "GALLERYD_DATA_DIR",
            "GALLERYD_DATABASE_URL",
            "GALLERYD_HTTPS_PORT",
            "GALLERYD_HTTP_PORT",
            "GALLERYD_IN_MEMORY",
            "GALLERYD_LOG_FORMAT",
        ] {
            command.env_remove(key);
        }
        for (key, value) in environment {
            command.env(key, value);
        }
        let child = command.spawn().expect("start galleryd");
        GallerydProcess {
            child,
            stdout_path,
            stderr_path,
        }
    }

    /// What the process printed so far (stdout and stderr).
    pub fn output(&self) -> String {
        format!(
            "{}{}",
            std::fs::read_to_string(&self.stdout_path).unwrap_or_default(),
            std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
        )
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits up to `seconds` for the process to exit and returns its exit code.
    pub async fn wait_for_exit(&mut self, seconds: u64) -> Option<i32> {
        for _ in 0..seconds * 20 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!(
            "galleryd did not exit within {seconds} s; output:\n{}",
            self.output()
        );
    }

    /// Polls `<base>/_galleryd/ready` until it answers 200 (or panics with the output after 20 s).
    pub async fn wait_until_ready(&mut self, http_base: &str) {
        let client = reqwest::Client::new();
        for _ in 0..400 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("galleryd exited with {status}; output:\n{}", self.output());
            }
            if let Ok(response) = client
                .get(format!("{http_base}/_galleryd/ready"))
                .send()
                .await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("galleryd did not become ready; output:\n{}", self.output());
    }

    /// Waits for `endpoints.json` in `data_dir` and returns it.
    pub async fn wait_for_endpoints(&mut self, data_dir: &std::path::Path) -> Value {
        let path = data_dir.join("endpoints.json");
        for _ in 0..400 {
            if let Ok(text) = std::fs::read_to_string(&path)
                && let Ok(value) = serde_json::from_str::<Value>(&text)
            {
                return value;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("galleryd exited with {status}; output:\n{}", self.output());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no {}; output:\n{}", path.display(), self.output());
    }
}

impl Drop for GallerydProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reqwest client that trusts exactly the PEM at `certificate`.
pub fn client_trusting(certificate: &std::path::Path) -> reqwest::Client {
    let pem = std::fs::read(certificate)
        .unwrap_or_else(|error| panic!("read {}: {error}", certificate.display()));
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("PEM certificate"))
        .build()
        .expect("client")
}

// ----- Access control: callers other than the development user, and role assignments -----

/// The Microsoft.Authorization api-version `az role assignment` sends.
pub const AUTHORIZATION_API: &str = "2022-04-01";

/// An unsigned JWT with `claims` (believed in galleryd's default `claims` mode): a caller other
/// than the development user.
pub fn claims_token(claims: &Value) -> String {
    use base64::Engine;
    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!(
        "{}.{}.",
        encode(&serde_json::json!({"alg": "none", "typ": "JWT"})),
        encode(claims)
    )
}

/// A user of the development tenant, by object id and name, as a bearer token.
pub fn user_token(object_id: &str, user_principal_name: &str) -> String {
    claims_token(&serde_json::json!({
        "tid": DEVELOPMENT_TENANT_ID, "oid": object_id, "upn": user_principal_name,
    }))
}

impl TestApp {
    /// Sends a request with a bearer token.
    pub async fn request_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> TestResponse {
        let url = if path_and_query.starts_with("http") {
            path_and_query.to_string()
        } else {
            format!("{}{path_and_query}", self.http)
        };
        let mut request = self.client.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("request sent");
        TestResponse {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    /// The path of a gallery in `subscription` (before any app runs, e.g. for an identities file).
    pub fn new_gallery_path_for_subscription(
        subscription: &str,
        group: &str,
        gallery: &str,
    ) -> String {
        format!(
            "/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Compute/galleries/{gallery}"
        )
    }

    /// As the development user, assigns role `role` (a GUID) to `principal_id` (of
    /// `principal_type`) at `scope` under a new name, and asserts it was created.
    pub async fn assign_role(
        &self,
        scope: &str,
        principal_id: &str,
        principal_type: &str,
        role: &str,
    ) -> Value {
        let name = uuid::Uuid::new_v4();
        let response = self
            .request(
                reqwest::Method::PUT,
                &format!(
                    "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version={AUTHORIZATION_API}"
                ),
                Some(&serde_json::json!({"properties": {
                    "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{role}", self.subscription),
                    "principalId": principal_id,
                    "principalType": principal_type,
                }})),
            )
            .await;
        response.assert_status(201);
        response.json()
    }
}
