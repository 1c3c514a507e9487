//! HTTP/1.1 clients with as little overhead as hyper allows: one raw keep-alive connection per
//! worker (`hyper::client::conn::http1`, no pool, no TLS), used for the setup requests, the GET and
//! create load, and the replication benchmark's page uploads and status polls.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::closed_loop::Worker;

/// The GalleryRP api-version the load uses.
pub const GALLERY_API_VERSION: &str = "2026-03-03";
/// The api-version of resource-group requests.
pub const RESOURCES_API_VERSION: &str = "2024-11-01";

/// One keep-alive HTTP/1.1 connection to a server.
pub struct HttpConnection {
    address: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// A response, read whole.
pub struct HttpResponse {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    /// The body as text, for error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

impl HttpConnection {
    /// Opens a connection to `address`.
    pub async fn open(address: SocketAddr) -> Result<HttpConnection, String> {
        let host = HeaderValue::from_str(&address.to_string())
            .map_err(|error| format!("bad host header {address}: {error}"))?;
        let mut connection = HttpConnection {
            address,
            host,
            sender: None,
        };
        connection.reconnect().await?;
        Ok(connection)
    }

    async fn reconnect(&mut self) -> Result<(), String> {
        self.sender = None;
        let stream = TcpStream::connect(self.address)
            .await
            .map_err(|error| format!("cannot connect to {}: {error}", self.address))?;
        stream
            .set_nodelay(true)
            .map_err(|error| format!("cannot set TCP_NODELAY: {error}"))?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| format!("HTTP handshake with {} failed: {error}", self.address))?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes the connection.
            let _ = connection.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    /// Sends one request and reads the whole response. A broken connection is reopened on the next
    /// request.
    pub async fn send(
        &mut self,
        method: Method,
        path_and_query: &str,
        json_body: Option<Bytes>,
    ) -> Result<HttpResponse, String> {
        let content_type: &[(&str, &str)] = if json_body.is_some() {
            &[("content-type", "application/json")]
        } else {
            &[]
        };
        self.send_with_headers(
            method,
            path_and_query,
            content_type,
            json_body.unwrap_or_default(),
        )
        .await
    }

    /// Sends one request with extra headers and a body of any kind (empty: no body) and reads the
    /// whole response. A broken connection is reopened on the next request.
    pub async fn send_with_headers(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<HttpResponse, String> {
        if self.sender.as_ref().is_none_or(SendRequest::is_closed) {
            self.reconnect().await?;
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err("no connection".to_string());
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(HOST, self.host.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|error| format!("bad request {path_and_query}: {error}"))?;
        let exchanged = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>(HttpResponse {
                status,
                headers,
                body,
            })
        }
        .await;
        exchanged.map_err(|error| {
            self.sender = None;
            format!("HTTP exchange with {} failed: {error}", self.address)
        })
    }
}

/// What the load workers request.
#[derive(Debug, Clone)]
pub enum RequestPlan {
    /// The same GET every time; 200 expected.
    Get { path_and_query: String },
    /// A PUT of a new image definition every time (unique name and publisher/offer/sku); 200 or 201
    /// expected.
    CreateImage {
        /// The gallery's path (no query).
        gallery_path: String,
        /// Distinguishes the names of one phase from another's (warm-up vs measured).
        phase_tag: String,
    },
}

/// A load worker: one connection following a [`RequestPlan`].
pub struct HttpWorker {
    connection: HttpConnection,
    plan: Arc<RequestPlan>,
    index: usize,
}

impl HttpWorker {
    /// `count` workers, each on its own connection to `address`.
    pub async fn connect_many(
        address: SocketAddr,
        plan: RequestPlan,
        count: usize,
    ) -> Result<Vec<HttpWorker>, String> {
        let plan = Arc::new(plan);
        let mut workers = Vec::with_capacity(count);
        for index in 0..count {
            workers.push(HttpWorker {
                connection: HttpConnection::open(address).await?,
                plan: plan.clone(),
                index,
            });
        }
        Ok(workers)
    }
}

impl Worker for HttpWorker {
    async fn perform(&mut self, sequence: u64) -> Result<(), String> {
        let (response, accepted): (HttpResponse, &[StatusCode]) = match &*self.plan {
            RequestPlan::Get { path_and_query } => (
                self.connection
                    .send(Method::GET, path_and_query, None)
                    .await?,
                &[StatusCode::OK],
            ),
            RequestPlan::CreateImage {
                gallery_path,
                phase_tag,
            } => {
                let name = format!("{phase_tag}-w{}-n{sequence}", self.index);
                let path =
                    format!("{gallery_path}/images/{name}?api-version={GALLERY_API_VERSION}");
                let body = image_definition_body(&format!("publisher-{name}"), "offer", "sku");
                (
                    self.connection.send(Method::PUT, &path, Some(body)).await?,
                    &[StatusCode::OK, StatusCode::CREATED],
                )
            }
        };
        if accepted.contains(&response.status) {
            Ok(())
        } else {
            Err(format!("HTTP {}: {}", response.status, response.text()))
        }
    }
}

/// The body of a minimal Linux image definition in westus (as the end-to-end tests create them).
pub fn image_definition_body(publisher: &str, offer: &str, sku: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "location": "westus",
            "properties": {
                "osType": "Linux",
                "osState": "Generalized",
                "identifier": {"publisher": publisher, "offer": offer, "sku": sku}
            }
        })
        .to_string(),
    )
}
