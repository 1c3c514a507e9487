//! The reset benchmark: how long `POST /_galleryd/reset` takes with N resources (target: under
//! 50 ms with 1,000 resources on SQLite), so a test suite can reset between every test.
//!
//! How: galleryd starts with its defaults (SQLite in a fresh data directory). Each round creates a
//! resource group, a gallery and image definitions until the world holds N resources (galleries
//! and image definitions; 8 connections at once, untimed), then times one subscription reset
//! from its request to its answer, which must report N resources deleted. The figures are the
//! median and the slowest round, as the client saw them and as galleryd measured itself.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use hyper::Method;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::http_load::{
    GALLERY_API_VERSION, HttpConnection, RESOURCES_API_VERSION, image_definition_body,
};
use crate::server_process::GallerydLaunch;

/// Connections that create the resources of a round.
const SETUP_CONNECTIONS: usize = 8;

/// What the reset benchmark measured.
pub struct ResetFigures {
    pub resources: usize,
    /// Client-side time of each round's reset.
    pub rounds: Vec<Duration>,
    /// galleryd's own measure of each round's reset (`elapsedMilliseconds`).
    pub server_rounds: Vec<f64>,
}

impl ResetFigures {
    /// The figures as lines for the report.
    pub fn describe(&self) -> String {
        let mut client: Vec<f64> = self
            .rounds
            .iter()
            .map(|round| round.as_secs_f64() * 1000.0)
            .collect();
        client.sort_by(f64::total_cmp);
        let mut server = self.server_rounds.clone();
        server.sort_by(f64::total_cmp);
        let median = |values: &[f64]| values.get(values.len() / 2).copied().unwrap_or(f64::NAN);
        let slowest = |values: &[f64]| values.last().copied().unwrap_or(f64::NAN);
        format!(
            "reset of {} resources (SQLite), {} rounds: median {:.1} ms, slowest {:.1} ms (client); \
             median {:.1} ms, slowest {:.1} ms (galleryd's own measure); target < 50 ms",
            self.resources,
            client.len(),
            median(&client),
            slowest(&client),
            median(&server),
            slowest(&server),
        )
    }
}

/// Runs the benchmark: `rounds` resets of a world of `resources` resources.
pub async fn run(
    launch: &GallerydLaunch,
    resources: usize,
    rounds: usize,
) -> Result<ResetFigures, String> {
    if resources < 2 || rounds == 0 {
        return Err("the reset benchmark needs at least 2 resources and 1 round".to_string());
    }
    let started = crate::start_galleryd(launch).await?;
    let galleryd = started.process;
    let address = galleryd.http_address;
    let subscription = started.endpoints["subscriptionId"]
        .as_str()
        .ok_or("endpoints.json has no subscriptionId")?
        .to_string();
    let mut figures = ResetFigures {
        resources,
        rounds: Vec::new(),
        server_rounds: Vec::new(),
    };
    for round in 0..rounds {
        populate(address, &subscription, resources, round).await?;
        let mut connection = HttpConnection::open(address).await?;
        let path = format!("/_galleryd/reset?subscriptionId={subscription}");
        let timer = Instant::now();
        let response = connection.send(Method::POST, &path, None).await?;
        let elapsed = timer.elapsed();
        if response.status.as_u16() != 200 {
            return Err(format!(
                "POST {path} answered {}: {}",
                response.status,
                response.text()
            ));
        }
        let report: Value = serde_json::from_slice(&response.body)
            .map_err(|error| format!("the reset's answer is not JSON: {error}"))?;
        let deleted = report["deleted"]["resources"].as_u64().unwrap_or(0);
        if deleted != resources as u64 {
            return Err(format!(
                "the reset deleted {deleted} resources, not {resources}: {report}"
            ));
        }
        figures.rounds.push(elapsed);
        figures
            .server_rounds
            .push(report["elapsedMilliseconds"].as_f64().unwrap_or(f64::NAN));
        println!(
            "  round {}: {:.1} ms",
            round + 1,
            elapsed.as_secs_f64() * 1000.0
        );
    }
    crate::blocking(move || galleryd.stop()).await?;
    Ok(figures)
}

/// Creates a group, a gallery and `resources - 1` image definitions in it.
async fn populate(
    address: SocketAddr,
    subscription: &str,
    resources: usize,
    round: usize,
) -> Result<(), String> {
    let group = format!("/subscriptions/{subscription}/resourceGroups/reset-bench");
    let gallery = format!("{group}/providers/Microsoft.Compute/galleries/resetbench");
    let location = Bytes::from(json!({"location": "westus"}).to_string());
    let mut connection = HttpConnection::open(address).await?;
    put(
        &mut connection,
        &format!("{group}?api-version={RESOURCES_API_VERSION}"),
        location.clone(),
    )
    .await?;
    put(
        &mut connection,
        &format!("{gallery}?api-version={GALLERY_API_VERSION}"),
        location,
    )
    .await?;
    let mut connections = Vec::new();
    for _ in 0..SETUP_CONNECTIONS {
        connections.push(HttpConnection::open(address).await?);
    }
    let gallery = &gallery;
    stream::iter(connections.into_iter().enumerate())
        .map(Ok)
        .try_for_each_concurrent(None, |(lane, mut connection)| async move {
            for index in (lane..resources - 1).step_by(SETUP_CONNECTIONS) {
                let name = format!("image-{round}-{index}");
                put(
                    &mut connection,
                    &format!("{gallery}/images/{name}?api-version={GALLERY_API_VERSION}"),
                    image_definition_body("publisher", &format!("offer-{round}"), &name),
                )
                .await?;
            }
            Ok::<(), String>(())
        })
        .await
}

async fn put(connection: &mut HttpConnection, path: &str, body: Bytes) -> Result<(), String> {
    let response = connection.send(Method::PUT, path, Some(body)).await?;
    if matches!(response.status.as_u16(), 200 | 201) {
        Ok(())
    } else {
        Err(format!(
            "PUT {path} answered {}: {}",
            response.status,
            response.text()
        ))
    }
}
