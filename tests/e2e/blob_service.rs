//! The blob endpoint (`/gallerydblob/{region}/{contentId}`): SAS checks, Put Blob and Put Page of
//! page blobs, Get Blob Properties, ranged Get Blob with holes read as zeros, Get Page Ranges, and
//! the Blob service's XML errors.

use galleryd_tests::{TestApp, both_stores};
use reqwest::Method;
use serde_json::json;

use crate::disks::{
    BlobResponse, MIB, MIN_UPLOAD, blob_request, create, disk_path, download, get, grant,
    grant_sas, pattern, put_page, revoke, sas_of, snapshot_path, upload_body, with_query,
};

/// `url` with the value of query parameter `name` replaced by `value`.
fn replace_query(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').expect("a query");
    let parameters: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key == name => format!("{key}={value}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", parameters.join("&"))
}

/// The value of query parameter `name` of `url`.
fn query_value(url: &str, name: &str) -> String {
    url.split_once('?')
        .expect("a query")
        .1
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .expect("parameter present")
        .to_string()
}

/// Asserts the exact shape of an authentication failure.
#[track_caller]
fn assert_authentication_failed(response: &BlobResponse) {
    response.assert_error(403, "AuthenticationFailed");
    assert_eq!(response.header("content-type"), Some("application/xml"));
    let text = response.text();
    let prefix = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.\nRequestId:";
    assert!(text.starts_with(prefix), "{text}");
    assert!(text.contains("\nTime:"), "{text}");
    assert!(
        text.contains("</Message><AuthenticationErrorDetail>"),
        "{text}"
    );
    assert!(text.ends_with("</Error>"), "{text}");
    assert!(response.header("x-ms-request-id").is_some());
    assert!(response.header("x-ms-version").is_some());
}

/// An upload disk with a write SAS.
async fn upload_disk(app: &TestApp, name: &str) -> (String, String) {
    let path = disk_path(app, "rg", name);
    create(app, &path, &upload_body(MIN_UPLOAD)).await;
    let sas = grant_sas(app, &path, "Write").await;
    (path, sas)
}

both_stores! {
    async fn sas_urls_are_checked(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let (path, sas) = upload_disk(&app, "d1").await;
        let written = put_page(&app, &sas, 0, pattern(1, 512)).await;
        assert_eq!(written.status, 201, "{}", written.text());
        let base = sas.split_once('?').unwrap().0.to_string();

        // No SAS at all, or parts of it missing.
        for url in [
            base.clone(),
            replace_query(&sas, "sig", ""),
            sas.replace("&si=", "&grant="),
            sas.replace("&se=", "&expiry="),
        ] {
            let response = blob_request(&app, Method::HEAD, &url, &[], None).await;
            assert_eq!((response.status, response.header("x-ms-error-code")), (403, Some("AuthenticationFailed")), "{url}");
            assert_authentication_failed(&blob_request(&app, Method::GET, &url, &[], None).await);
        }
        // Tampering with any signed field breaks the signature.
        let signature = query_value(&sas, "sig");
        let tampered_signature = format!("{}{}", if signature.starts_with('A') { "B" } else { "A" }, &signature[1..]);
        let future = "2099-01-01T00%3A00%3A00Z";
        for url in [
            replace_query(&sas, "sig", &tampered_signature),
            replace_query(&sas, "sig", "bm90IGEgc2lnbmF0dXJl"),
            replace_query(&sas, "sig", "%%%"),
            replace_query(&sas, "sp", "rwd"),
            replace_query(&sas, "se", future),
            replace_query(&sas, "si", "0123456789abcdef0123456789abcdef"),
            sas.replace("/gallerydblob/westus/", "/gallerydblob/eastus/"),
        ] {
            let response = put_page(&app, &url, 512, pattern(2, 512)).await;
            assert_authentication_failed(&response);
            assert!(response.text().contains("Signature did not match") || response.text().contains("signature"), "{}", response.text());
        }
        // A read SAS cannot write, and a copy of its token on another blob does not sign that blob.
        let other = disk_path(&app, "rg", "other");
        create(&app, &other, &json!({"location": "westus", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 1}})).await;
        let read = grant_sas(&app, &other, "Read").await;
        let refused = put_page(&app, &read, 0, pattern(3, 512)).await;
        refused.assert_error(403, "AuthorizationPermissionMismatch");
        assert!(refused.text().contains("This request is not authorized to perform this operation using this permission."));
        let read_content = read.split_once('?').unwrap().0.rsplit('/').next().unwrap().to_string();
        let moved = sas.replace(&base, &format!("{}/gallerydblob/westus/{read_content}", app.http));
        assert_authentication_failed(&blob_request(&app, Method::GET, &moved, &[], None).await);

        // Expired.
        let short = grant(&app, &other, "Read", 1).await;
        let short = sas_of(&app, &short).await;
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let expired = blob_request(&app, Method::GET, &short, &[], None).await;
        assert_authentication_failed(&expired);
        assert!(expired.text().contains("Signed expiry time"), "{}", expired.text());
        // The earlier read grant was replaced by the short one.
        assert_authentication_failed(&blob_request(&app, Method::GET, &read, &[], None).await);

        // Used after endGetAccess, and after the disk is gone.
        revoke(&app, &path).await;
        assert_authentication_failed(&put_page(&app, &sas, 512, pattern(4, 512)).await);
        assert_authentication_failed(&blob_request(&app, Method::GET, &sas, &[], None).await);
        let read = grant_sas(&app, &path, "Read").await;
        assert_eq!(download(&app, &read).await[..512], pattern(1, 512)[..]);
        revoke(&app, &path).await;
        let read = grant_sas(&app, &other, "Read").await;
        revoke(&app, &other).await;
        assert_authentication_failed(&blob_request(&app, Method::GET, &read, &[], None).await);
        let read = grant_sas(&app, &path, "Read").await;
        revoke(&app, &path).await;
        app.request(Method::DELETE, &format!("{path}?api-version=2026-03-02"), None).await.assert_status(202);
        // Refused: the owner is gone (or, once garbage collection ran, the blob itself).
        let gone = blob_request(&app, Method::GET, &read, &[], None).await;
        match gone.status {
            404 => gone.assert_error(404, "BlobNotFound"),
            _ => assert_authentication_failed(&gone),
        }

        // Methods the endpoint does not serve, and paths that are not blobs.
        let response = blob_request(&app, Method::DELETE, &sas, &[], None).await;
        response.assert_error(405, "UnsupportedHttpVerb");
    }

    async fn page_writes_are_aligned_and_bounded(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let (_, sas) = upload_disk(&app, "d1").await;
        let page_url = with_query(&sas, "comp=page");
        let put = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
            let app = &app;
            let page_url = page_url.clone();
            async move { blob_request(app, Method::PUT, &page_url, &headers, Some(body)).await }
        };
        let update = || ("x-ms-page-write", "update".to_string());
        let range = |value: &str| ("x-ms-range", value.to_string());

        put(vec![update(), range("bytes=1-512")], vec![0; 512]).await.assert_error(416, "InvalidPageRange");
        put(vec![update(), range("bytes=0-510")], vec![0; 511]).await.assert_error(416, "InvalidPageRange");
        put(vec![update(), range("bytes=1024-511")], vec![]).await.assert_error(416, "InvalidPageRange");
        let past_end = format!("bytes={}-{}", MIN_UPLOAD, MIN_UPLOAD + 511);
        put(vec![update(), range(&past_end)], vec![0; 512]).await.assert_error(416, "InvalidPageRange");
        let too_big = format!("bytes=0-{}", 4 * MIB + 511);
        put(vec![update(), range(&too_big)], vec![0; 4 * MIB as usize + 512]).await.assert_error(413, "RequestBodyTooLarge");
        let mismatch = put(vec![update(), range("bytes=0-1023")], vec![0; 512]).await;
        mismatch.assert_error(400, "InvalidHeaderValue");
        assert!(mismatch.text().contains("<HeaderName>Content-Length</HeaderName>"), "{}", mismatch.text());
        let missing = put(vec![update()], vec![0; 512]).await;
        missing.assert_error(400, "MissingRequiredHeader");
        assert!(missing.text().contains("<HeaderName>x-ms-range</HeaderName>"), "{}", missing.text());
        put(vec![range("bytes=0-511")], vec![0; 512]).await.assert_error(400, "MissingRequiredHeader");
        put(vec![("x-ms-page-write", "append".to_string()), range("bytes=0-511")], vec![0; 512]).await.assert_error(400, "InvalidHeaderValue");
        put(vec![update(), range("pages 0-1")], vec![0; 512]).await.assert_error(400, "InvalidHeaderValue");
        put(vec![update(), range("bytes=0-")], vec![0; 512]).await.assert_error(400, "InvalidHeaderValue");

        // Range works as well as x-ms-range; clear writes zeros and needs no body.
        let written = put(vec![update(), ("Range", "bytes=0-1023".to_string())], pattern(5, 1024)).await;
        assert_eq!(written.status, 201, "{}", written.text());
        assert_eq!(written.header("x-ms-blob-sequence-number"), Some("0"));
        assert_eq!(written.header("x-ms-request-server-encrypted"), Some("true"));
        assert!(written.header("etag").unwrap().starts_with("\"0x"));
        assert!(written.header("last-modified").unwrap().ends_with("GMT"));
        assert_eq!(written.header("x-ms-version"), Some("2025-01-05"));
        let cleared = put(vec![("x-ms-page-write", "clear".to_string()), range("bytes=512-1023")], vec![]).await;
        assert_eq!(cleared.status, 201, "{}", cleared.text());
        put(vec![("x-ms-page-write", "clear".to_string()), range("bytes=0-511")], vec![1; 512]).await.assert_error(400, "InvalidHeaderValue");

        // Put Blob: only the page blob the disk already is, at its size.
        let put_blob = |headers: Vec<(&'static str, String)>| {
            let app = &app;
            let sas = sas.clone();
            async move { blob_request(app, Method::PUT, &sas, &headers, Some(Vec::new())).await }
        };
        let created = put_blob(vec![("x-ms-blob-type", "PageBlob".to_string()), ("x-ms-blob-content-length", MIN_UPLOAD.to_string())]).await;
        assert_eq!(created.status, 201, "{}", created.text());
        put_blob(vec![("x-ms-blob-type", "PageBlob".to_string()), ("x-ms-blob-content-length", "1048576".to_string())]).await.assert_error(400, "InvalidHeaderValue");
        put_blob(vec![("x-ms-blob-type", "BlockBlob".to_string()), ("x-ms-blob-content-length", MIN_UPLOAD.to_string())]).await.assert_error(400, "InvalidHeaderValue");
        put_blob(vec![("x-ms-blob-content-length", MIN_UPLOAD.to_string())]).await.assert_error(400, "MissingRequiredHeader");
        blob_request(&app, Method::PUT, &with_query(&sas, "comp=block"), &[], Some(vec![1])).await.assert_error(400, "InvalidQueryParameterValue");

        // The page list shows what was written so far, cleared ranges included.
        let pages = blob_request(&app, Method::GET, &with_query(&sas, "comp=pagelist"), &[], None).await;
        assert_eq!(pages.status, 200, "{}", pages.text());
        assert!(pages.text().contains("<PageList><PageRange><Start>0</Start><End>1023</End></PageRange></PageList>"), "{}", pages.text());
        // The upload is not readable until it ends.
        blob_request(&app, Method::GET, &sas, &[], None).await.assert_error(409, "UploadInProgress");
        let head = blob_request(&app, Method::HEAD, &sas, &[], None).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some(MIN_UPLOAD.to_string().as_str()));
        assert!(head.body.is_empty());
    }

    async fn page_ranges_at_the_edge_of_u64_are_refused(backend) {
        // A range ending at u64::MAX is aligned (it ends one byte before a multiple of 512), so only
        // its end past the blob refuses it; checking the alignment must not compute `last + 1`.
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let (_, sas) = upload_disk(&app, "d1").await;
        let page_url = with_query(&sas, "comp=page");
        let max = u64::MAX;
        let aligned_start = max - 511;
        for (mode, range, body) in [
            ("update", format!("bytes=0-{max}"), vec![0; 512]),
            ("update", format!("bytes={aligned_start}-{max}"), vec![0; 512]),
            ("clear", format!("bytes=0-{max}"), Vec::new()),
            ("clear", format!("bytes={aligned_start}-{max}"), Vec::new()),
        ] {
            let headers = [("x-ms-page-write", mode.to_string()), ("x-ms-range", range.clone())];
            let response = blob_request(&app, Method::PUT, &page_url, &headers, Some(body)).await;
            response.assert_error(416, "InvalidPageRange");
            assert!(response.text().contains("past the end of the blob"), "{mode} {range}: {}", response.text());
        }
        // Ranges beyond u64 do not parse at all.
        let headers = [("x-ms-page-write", "update".to_string()), ("x-ms-range", format!("bytes=0-{max}0"))];
        blob_request(&app, Method::PUT, &page_url, &headers, Some(vec![0; 512])).await.assert_error(400, "InvalidHeaderValue");
        // Reads and page lists clamp such ranges to the blob.
        let pages = blob_request(&app, Method::GET, &with_query(&sas, "comp=pagelist"), &[("x-ms-range", format!("bytes=0-{max}"))], None).await;
        assert_eq!(pages.status, 200, "{}", pages.text());
        // The server is still serving the upload.
        assert_eq!(put_page(&app, &sas, 0, pattern(1, 512)).await.status, 201);
    }

    async fn reads_are_ranged_and_holes_are_zeros(backend) {
        let app = TestApp::start(backend).await;
        app.create_group("rg", "westus").await;
        let path = snapshot_path(&app, "rg", "s1");
        create(&app, &path, &upload_body(MIN_UPLOAD)).await;
        let sas = grant_sas(&app, &path, "Write").await;
        let first = pattern(11, 4 * MIB as usize);
        let second = pattern(12, 1024);
        assert_eq!(put_page(&app, &sas, 0, first.clone()).await.status, 201);
        assert_eq!(put_page(&app, &sas, 12 * MIB, second.clone()).await.status, 201);
        // Overwrite part of the first page, then clear some of it.
        assert_eq!(put_page(&app, &sas, MIB, pattern(13, 512)).await.status, 201);
        let cleared = blob_request(&app, Method::PUT, &with_query(&sas, "comp=page"), &[("x-ms-page-write", "clear".to_string()), ("x-ms-range", format!("bytes={}-{}", 2 * MIB, 2 * MIB + 511))], None).await;
        assert_eq!(cleared.status, 201, "{}", cleared.text());
        revoke(&app, &path).await;
        assert_eq!(get(&app, &path).await.json()["properties"]["diskState"], "Unattached");

        let mut expected = vec![0u8; MIN_UPLOAD as usize];
        expected[..first.len()].copy_from_slice(&first);
        expected[MIB as usize..MIB as usize + 512].copy_from_slice(&pattern(13, 512));
        expected[2 * MIB as usize..2 * MIB as usize + 512].fill(0);
        expected[12 * MIB as usize..12 * MIB as usize + 1024].copy_from_slice(&second);

        let read = grant_sas(&app, &path, "Read").await;
        let head = blob_request(&app, Method::HEAD, &read, &[("x-ms-version", "2021-08-06".to_string()), ("x-ms-client-request-id", "abc".to_string())], None).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-length"), Some(MIN_UPLOAD.to_string().as_str()));
        assert_eq!(head.header("x-ms-blob-type"), Some("PageBlob"));
        assert_eq!(head.header("content-type"), Some("application/octet-stream"));
        assert_eq!(head.header("accept-ranges"), Some("bytes"));
        assert_eq!(head.header("x-ms-blob-sequence-number"), Some("0"));
        assert_eq!(head.header("x-ms-version"), Some("2021-08-06"));
        assert_eq!(head.header("x-ms-client-request-id"), Some("abc"));
        assert!(head.header("last-modified").unwrap().ends_with("GMT"));
        let etag = head.header("etag").unwrap().to_string();

        let whole = blob_request(&app, Method::GET, &read, &[], None).await;
        assert_eq!(whole.status, 200);
        assert_eq!(whole.header("etag"), Some(etag.as_str()));
        assert_eq!(whole.body.len(), expected.len());
        assert!(whole.body == expected, "the whole blob differs from what was written");

        let ranged = blob_request(&app, Method::GET, &read, &[("x-ms-range", format!("bytes={}-{}", MIB - 256, MIB + 767))], None).await;
        assert_eq!(ranged.status, 206);
        assert_eq!(ranged.header("content-range"), Some(format!("bytes {}-{}/{MIN_UPLOAD}", MIB - 256, MIB + 767).as_str()));
        assert_eq!(ranged.body, expected[(MIB - 256) as usize..(MIB + 768) as usize]);
        // A hole, across the cleared range, through the Range header.
        let hole = blob_request(&app, Method::GET, &read, &[("Range", format!("bytes={}-{}", 5 * MIB, 6 * MIB - 1))], None).await;
        assert_eq!(hole.status, 206);
        assert_eq!(hole.body, vec![0u8; MIB as usize]);
        // Open-ended and overlong ranges end at the blob's end.
        let tail = blob_request(&app, Method::GET, &read, &[("x-ms-range", format!("bytes={}-", MIN_UPLOAD - 100))], None).await;
        assert_eq!(tail.status, 206);
        assert_eq!(tail.body.len(), 100);
        let overlong = blob_request(&app, Method::GET, &read, &[("x-ms-range", format!("bytes={}-{}", 12 * MIB, MIN_UPLOAD * 2))], None).await;
        assert_eq!(overlong.header("content-range"), Some(format!("bytes {}-{}/{MIN_UPLOAD}", 12 * MIB, MIN_UPLOAD - 1).as_str()));
        assert_eq!(overlong.body, expected[12 * MIB as usize..]);
        let beyond = blob_request(&app, Method::GET, &read, &[("x-ms-range", format!("bytes={MIN_UPLOAD}-"))], None).await;
        beyond.assert_error(416, "InvalidRange");
        assert_eq!(beyond.header("content-range"), Some(format!("bytes */{MIN_UPLOAD}").as_str()));
        blob_request(&app, Method::GET, &read, &[("x-ms-range", "bytes=a-b".to_string())], None).await.assert_error(400, "InvalidHeaderValue");

        // Conditions on the ETag.
        let matched = blob_request(&app, Method::GET, &read, &[("if-match", etag.clone()), ("x-ms-range", "bytes=0-511".to_string())], None).await;
        assert_eq!(matched.status, 206);
        blob_request(&app, Method::GET, &read, &[("if-match", "\"0x8D000\"".to_string())], None).await.assert_error(412, "ConditionNotMet");
        let unchanged = blob_request(&app, Method::GET, &read, &[("if-none-match", etag.clone())], None).await;
        assert_eq!(unchanged.status, 304);

        // The page list of the sealed content.
        let pages = blob_request(&app, Method::GET, &with_query(&read, "comp=pagelist"), &[], None).await;
        assert_eq!(pages.status, 200);
        assert!(pages.text().contains(&format!("<PageRange><Start>0</Start><End>{}</End></PageRange>", 4 * MIB - 1)), "{}", pages.text());
        assert!(pages.text().contains(&format!("<PageRange><Start>{}</Start><End>{}</End></PageRange>", 12 * MIB, 12 * MIB + 1023)), "{}", pages.text());
        // A HEAD error has no body but says what went wrong.
        let refused = blob_request(&app, Method::HEAD, &replace_query(&read, "sp", "rw"), &[], None).await;
        assert_eq!((refused.status, refused.header("x-ms-error-code")), (403, Some("AuthenticationFailed")));
        assert!(refused.body.is_empty());
    }
}
