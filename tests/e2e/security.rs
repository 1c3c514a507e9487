//! Hostile requests, each refused cleanly with nothing served that should not be: forged tokens
//! (`alg: none`, HS256 signed with galleryd's public key), blob paths with `..` and encoded
//! separators, bodies past 4 MB without a length, clients announcing 449 GB they never send,
//! slow-loris clients (headers and bodies that trickle or stall), and request smuggling
//! (conflicting `Content-Length` and `Transfer-Encoding`).
//!
//! Tampered and expired SAS signatures are in `blob_service.rs`; expired and foreign tokens in
//! `identity.rs`; ARM bodies over 4 MB with a length in `arm_conventions.rs`.
//!
//! Requests that HTTP clients refuse to send (lying lengths, smuggling, stalls) go over raw TCP.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use galleryd_tests::{
    DEVELOPMENT_SUBSCRIPTION_ID, DEVELOPMENT_TENANT_ID, GALLERY_API, TestApp, both_stores,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::disks::{MIN_UPLOAD, create, disk_path, grant_sas, pattern, snapshot_path, upload_body};
use crate::gallery_image_versions::upload_snapshot;

/// Longer than any answer may take: a connection still silent then is a hang.
const HANG: Duration = Duration::from_secs(20);

/// What a raw exchange got back: everything the server sent until it closed the connection (or
/// [`HANG`] passed), and how long that took.
struct RawAnswer {
    text: String,
    closed: bool,
    took: Duration,
}

impl RawAnswer {
    /// The status codes of the responses in the answer, in order.
    fn statuses(&self) -> Vec<u16> {
        self.text
            .match_indices("HTTP/1.1 ")
            .filter_map(|(index, _)| self.text.get(index + 9..index + 12)?.parse().ok())
            .collect()
    }
}

/// Sends `parts` over a fresh connection, pausing `pause` between parts, then reads until the
/// server closes the connection or [`HANG`] passes. Write errors (the server hung up) end sending.
async fn raw_exchange(address: SocketAddr, parts: &[&[u8]], pause: Duration) -> RawAnswer {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).await.expect("connect");
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            tokio::time::sleep(pause).await;
        }
        if stream.write_all(part).await.is_err() {
            break;
        }
    }
    let mut received = Vec::new();
    let closed = tokio::time::timeout(HANG, async {
        let mut buffer = [0u8; 8192];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(count) => received.extend_from_slice(&buffer[..count]),
            }
        }
    })
    .await
    .is_ok();
    RawAnswer {
        text: String::from_utf8_lossy(&received).into_owned(),
        closed,
        took: started.elapsed(),
    }
}

/// The path and query of an absolute URL.
fn path_and_query(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..].to_string()
}

fn http_address(app: &TestApp) -> SocketAddr {
    app.server().http_address
}

/// A JWT from a header and claims, with `signature` (base64url) as its third part.
fn jwt(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Claims Resource Manager would accept, valid for the next hour.
fn management_claims() -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "aud": "https://management.azure.com/",
        "iss": format!("https://sts.windows.net/{DEVELOPMENT_TENANT_ID}/"),
        "iat": now, "nbf": now, "exp": now + 3600,
        "tid": DEVELOPMENT_TENANT_ID,
        "oid": "00000000-0000-0000-0000-00000000beef",
        "sub": "00000000-0000-0000-0000-00000000beef",
        "ver": "1.0",
    })
}

/// DER of a length.
fn der_length(length: usize) -> Vec<u8> {
    if length < 0x80 {
        return vec![length as u8];
    }
    let bytes: Vec<u8> = length
        .to_be_bytes()
        .into_iter()
        .skip_while(|byte| *byte == 0)
        .collect();
    let mut encoded = vec![0x80 | bytes.len() as u8];
    encoded.extend(bytes);
    encoded
}

/// DER of one element: tag, length, contents.
fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut encoded = vec![tag];
    encoded.extend(der_length(contents.len()));
    encoded.extend_from_slice(contents);
    encoded
}

/// DER of a positive INTEGER from its big-endian bytes.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let mut contents = bytes.to_vec();
    if contents.first().is_some_and(|first| first & 0x80 != 0) {
        contents.insert(0, 0);
    }
    der(0x02, &contents)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// Every form an attacker might use as the HMAC secret when signing HS256 "with the public key":
/// the PKCS#1 and SubjectPublicKeyInfo PEMs (with and without the final newline), their DER, the
/// modulus, and the JWK's text.
fn public_key_secrets(jwk: &Value) -> Vec<Vec<u8>> {
    let modulus = URL_SAFE_NO_PAD
        .decode(jwk["n"].as_str().expect("n"))
        .expect("modulus");
    let exponent = URL_SAFE_NO_PAD
        .decode(jwk["e"].as_str().expect("e"))
        .expect("exponent");
    let pkcs1 = der(
        0x30,
        &[der_integer(&modulus), der_integer(&exponent)].concat(),
    );
    let rsa_encryption = der(
        0x06,
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
    );
    let algorithm = der(0x30, &[rsa_encryption, vec![0x05, 0x00]].concat());
    let bit_string = der(0x03, &[vec![0x00], pkcs1.clone()].concat());
    let spki = der(0x30, &[algorithm, bit_string].concat());
    let pkcs1_pem = pem("RSA PUBLIC KEY", &pkcs1);
    let spki_pem = pem("PUBLIC KEY", &spki);
    vec![
        spki_pem.clone().into_bytes(),
        spki_pem.trim_end().as_bytes().to_vec(),
        pkcs1_pem.clone().into_bytes(),
        pkcs1_pem.trim_end().as_bytes().to_vec(),
        spki,
        pkcs1,
        modulus,
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
    ]
}

/// GET of the development subscription with `token` as the bearer token.
async fn with_token(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .client
        .get(format!(
            "{}/subscriptions/{DEVELOPMENT_SUBSCRIPTION_ID}/resourcegroups?api-version=2024-11-01",
            app.http
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// galleryd's signing key, as its JWKS serves it.
async fn signing_jwk(app: &TestApp) -> Value {
    let keys = app
        .request(
            reqwest::Method::GET,
            &format!("/{DEVELOPMENT_TENANT_ID}/discovery/v2.0/keys"),
            None,
        )
        .await;
    keys.assert_status(200);
    keys.json()["keys"][0].clone()
}

/// Tokens naming galleryd's key that no one holding only public material could sign correctly.
fn forged_tokens(jwk: &Value) -> Vec<(String, String)> {
    let kid = jwk["kid"].as_str().expect("kid").to_string();
    let claims = management_claims();
    let mut forged = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
        forged.push((
            format!("alg {alg}, no signature"),
            jwt(&header, &claims, ""),
        ));
        forged.push((
            format!("alg {alg}, junk signature"),
            jwt(&header, &claims, "c2lnbmF0dXJl"),
        ));
    }
    for (index, secret) in public_key_secrets(jwk).into_iter().enumerate() {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&secret),
        )
        .expect("sign HS256");
        forged.push((format!("HS256 with public key form {index}"), token));
    }
    forged
}

both_stores! {
    async fn tokens_with_alg_none_or_hs256_signed_with_the_public_key_are_refused(backend) {
        // Strict mode: only galleryd's RS256 tokens.
        let app = TestApp::start_with(backend, |config| {
            config.authentication = galleryd::config::AuthenticationMode::Strict;
        })
        .await;
        let jwk = signing_jwk(&app).await;
        for (what, token) in forged_tokens(&jwk) {
            let (status, body) = with_token(&app, &token).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("InvalidAuthenticationToken")),
                "{what}: {body}"
            );
        }
        // Without galleryd's key id they are not galleryd's tokens at all.
        let claims = management_claims();
        let (status, body) = with_token(&app, &jwt(&json!({"alg": "none"}), &claims, "")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("InvalidAuthenticationToken")), "{body}");

        // Claims mode believes foreign tokens, but verifies any token naming galleryd's key.
        let claims_app = TestApp::start(backend).await;
        let jwk = signing_jwk(&claims_app).await;
        for (what, token) in forged_tokens(&jwk) {
            let (status, body) = with_token(&claims_app, &token).await;
            assert_eq!(status, 401, "{what}: {body}");
        }
    }

    async fn blob_paths_with_dot_segments_and_encoded_separators_serve_nothing(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = disk_path(&app, "rg", "upload");
        create(&app, &path, &upload_body(MIN_UPLOAD)).await;
        let sas = grant_sas(&app, &path, "Write").await;
        let (url, query) = sas.split_once('?').unwrap();
        let content = url.rsplit('/').next().unwrap();
        let base = format!("{}/gallerydblob", app.http);
        let tricks = [
            format!("{base}/westus/..%2F{content}"),
            format!("{base}/westus/%2E%2E%2F{content}"),
            format!("{base}/westus/{content}%2F..%2F{content}"),
            format!("{base}/westus/..%5C{content}"),
            format!("{base}/..%2Fwestus/{content}"),
            format!("{base}/westus%2F{content}/{content}"),
            format!("{base}/westus/{content}%00"),
            format!("{base}/westus/..%2F..%2F..%2F..%2Fetc%2Fpasswd"),
            format!("{base}/westus/{content}/..%2F..%2Fetc%2Fpasswd"),
        ];
        for trick in tricks {
            for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
                let response = app.client.request(method.clone(), format!("{trick}?{query}")).send().await.expect("sent");
                let status = response.status().as_u16();
                assert!(
                    matches!(status, 400 | 403 | 404),
                    "{method} {trick} answered {status}"
                );
            }
        }
        // Raw paths the HTTP client would normalize.
        let raw_query = path_and_query(&sas);
        let raw_query = raw_query.split_once('?').unwrap().1;
        for raw in [
            format!("/gallerydblob/westus/../westus/{content}"),
            format!("/gallerydblob/westus/./{content}"),
            format!("/gallerydblob/eastus/../westus/{content}"),
        ] {
            let request = format!("GET {raw}?{raw_query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let answer = raw_exchange(http_address(&app), &[request.as_bytes()], Duration::ZERO).await;
            let statuses = answer.statuses();
            assert!(
                statuses.len() == 1 && matches!(statuses[0], 400 | 403 | 404 | 409),
                "GET {raw} answered {}", answer.text
            );
        }

        // ARM paths: names with encoded separators or dot segments never reach another resource.
        app.create_gallery("rg", "gallery").await;
        for name in ["gallery%2F..%2Fgallery", "..%2Fgallery", "%2E%2E", "gallery%2F"] {
            let response = app.get(&format!("{}/providers/Microsoft.Compute/galleries/{name}", app.group_path("rg"))).await;
            assert!(matches!(response.status, 400 | 404), "{name}: {} {}", response.status, response.text);
        }
        let response = app.put(&format!("{}/providers/Microsoft.Compute/galleries/..", app.group_path("rg")), &json!({"location": "westus"})).await;
        assert!(matches!(response.status, 400 | 404), "{}", response.text);
    }

    async fn a_blob_put_announcing_449_gb_is_answered_at_once(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = disk_path(&app, "rg", "upload");
        create(&app, &path, &upload_body(MIN_UPLOAD)).await;
        let sas = path_and_query(&grant_sas(&app, &path, "Write").await);
        let signature_start = sas.find("&sig=").unwrap();
        let unsigned = format!("{}&sig=", &sas[..signature_start]);
        let announced = 449u64 * 1024 * 1024 * 1024;
        for (target, expected) in [
            (format!("{unsigned}&comp=page"), 403),
            (format!("{sas}&comp=page"), 413),
            (sas.clone(), 413),
        ] {
            for expect_continue in ["", "Expect: 100-continue\r\n"] {
                let request = format!(
                    "PUT {target} HTTP/1.1\r\nHost: x\r\nx-ms-page-write: update\r\nx-ms-range: bytes=0-511\r\nx-ms-blob-type: PageBlob\r\nx-ms-blob-content-length: {MIN_UPLOAD}\r\n{expect_continue}Content-Length: {announced}\r\n\r\n"
                );
                let answer = raw_exchange(http_address(&app), &[request.as_bytes()], Duration::ZERO).await;
                assert_eq!(answer.statuses(), vec![expected], "{target} {expect_continue}: {}", answer.text);
                assert!(answer.closed, "the connection stays open for a body galleryd will not read");
            }
        }
        // An ARM request announcing as much is refused at once too.
        let request = format!(
            "PUT {}?api-version={GALLERY_API} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n\r\n{{",
            app.gallery_path("rg", "gallery")
        );
        let answer = raw_exchange(http_address(&app), &[request.as_bytes()], Duration::ZERO).await;
        assert_eq!(answer.statuses(), vec![413], "{}", answer.text);
    }

    async fn bodies_over_4_mb_without_a_length_are_refused(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        // Chunked, no Content-Length: counted as it arrives.
        let chunk = vec![b' '; 1024 * 1024];
        let stream = futures_util::stream::iter(
            (0..5).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        );
        let response = app
            .client
            .put(format!("{}{}?api-version={GALLERY_API}", app.http, app.gallery_path("rg", "big")))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 413);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "RequestEntityTooLarge");
        app.get(&app.gallery_path("rg", "big")).await.assert_status(404);
    }

    async fn request_smuggling_with_conflicting_lengths_is_refused(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let target = format!("{}?api-version={GALLERY_API}", app.gallery_path("rg", "smuggled"));
        let smuggled = format!("PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 22\r\n\r\n{{\"location\":\"westus\"}}");
        let cases = [
            // CL.TE: a front end reading Content-Length forwards the smuggled request as body.
            format!("POST /_galleryd/health HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}", 5 + smuggled.len()),
            // TE.CL: the other way round.
            format!("POST /_galleryd/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n{:x}\r\n{smuggled}\r\n0\r\n\r\n", smuggled.len()),
            // Obfuscated Transfer-Encoding.
            format!("POST /_galleryd/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n{smuggled}"),
            format!("POST /_galleryd/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n{smuggled}"),
            format!("POST /_galleryd/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n{smuggled}"),
            // Two different lengths.
            format!("POST /_galleryd/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{smuggled}", smuggled.len()),
            format!("POST /_galleryd/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0, {}\r\n\r\n{smuggled}", smuggled.len()),
        ];
        // Both lengths: the HTTP parser reads the body as chunked (RFC 9112 §6.3), answers the one
        // request (405: health takes no POST) and closes the connection, so what follows is never
        // read as a request. Every other ambiguity is a 400 from the parser itself.
        for (index, case) in cases.iter().enumerate() {
            let answer = raw_exchange(http_address(&app), &[case.as_bytes()], Duration::ZERO).await;
            let statuses = answer.statuses();
            let expected = if index < 2 { 405 } else { 400 };
            assert_eq!(statuses, vec![expected], "one request, one refusal: {case:?} got {}", answer.text);
            assert!(answer.closed, "the connection stays open after {case:?}");
        }
        let response = app.get(&app.gallery_path("rg", "smuggled")).await;
        response.assert_status(404);
    }
}

both_stores! {
    // Found by the property tests of the range parser: a range header that is not ASCII text was
    // taken for no range at all, and the whole blob was served.
    async fn a_range_header_that_is_not_text_is_refused_not_ignored(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        upload_snapshot(&app, "rg", "source", &pattern(3, 4096)).await;
        let sas = grant_sas(&app, &snapshot_path(&app, "rg", "source"), "Read").await;
        for name in ["x-ms-range", "range"] {
            let response = app
                .client
                .get(&sas)
                .header(name, reqwest::header::HeaderValue::from_bytes(b"bytes=\xe0\xae\xa8-1").unwrap())
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 400, "{name}");
            assert_eq!(response.headers()["x-ms-error-code"], "InvalidHeaderValue", "{name}");
        }
    }

    async fn slow_loris_clients_are_cut_off(backend) {
        let app = TestApp::start_with(backend, |config| {
            config.header_read_timeout_seconds = 1;
            config.body_read_timeout_seconds = 1;
        })
        .await;
        app.create_group("rg", "westus").await;
        let address = http_address(&app);

        // Headers that trickle: cut off once the header timeout passes, never served.
        let trickle: Vec<&[u8]> = vec![
            b"GET /_galleryd/health HTTP/1.1\r\n",
            b"Host: x\r\n",
            b"X-A: 1\r\n",
            b"X-B: 1\r\n",
            b"X-C: 1\r\n",
            b"X-D: 1\r\n",
            b"X-E: 1\r\n",
            b"X-F: 1\r\n",
            b"\r\n",
        ];
        let answer = raw_exchange(address, &trickle, Duration::from_millis(400)).await;
        assert!(answer.closed, "a trickling client holds its connection");
        assert!(!answer.statuses().contains(&200), "served a trickled request: {}", answer.text);
        // Headers that never end.
        let answer = raw_exchange(address, &[b"GET /_galleryd/health HTTP/1.1\r\nHost: x\r\n"], Duration::ZERO).await;
        assert!(answer.closed && answer.statuses().iter().all(|status| *status != 200), "{}", answer.text);

        // A body that stalls: 408, and the connection closes.
        let target = format!("{}?api-version={GALLERY_API}", app.gallery_path("rg", "stalled"));
        let head = format!("PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"location\"");
        let answer = raw_exchange(address, &[head.as_bytes()], Duration::ZERO).await;
        assert_eq!(answer.statuses(), vec![408], "{}", answer.text);
        assert!(answer.text.contains("RequestTimeout"), "{}", answer.text);
        assert!(answer.closed);
        assert!(answer.took < HANG);
        // Chunked bodies that stall mid-way too.
        let head = format!("PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"loc\r\n");
        let answer = raw_exchange(address, &[head.as_bytes()], Duration::ZERO).await;
        assert_eq!(answer.statuses(), vec![408], "{}", answer.text);
        app.get(&app.gallery_path("rg", "stalled")).await.assert_status(404);

        // A well-behaved client on the same server is served throughout.
        app.create_gallery("rg", "fine").await;
    }
}
