//! Added latency and throughput of the proxy API and of invokeurl through `functions/run`,
//! against a loopback upstream, compared with calling the upstream directly in the same run.
//! Needs oidc-provider (TRESTLE_TEST_OIDC_ISSUER) to authorize the connection.
//! Run with scripts/bench-proxy.sh, which starts the peer and repeats the run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/functions_support/mod.rs"]
mod functions_support;

use std::time::{Duration, Instant};

use functions_support::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const WARMUP: usize = 300;
const SAMPLES: usize = 3000;
const CONCURRENCY: usize = 8;
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(3);

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

async fn latencies(client: &reqwest::Client, url: &str, token: Option<&str>) -> Vec<Duration> {
    let send = || {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for _ in 0..WARMUP {
        let response = send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
    }
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let started = Instant::now();
        let response = send().await.unwrap();
        response.bytes().await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

async fn throughput(client: &reqwest::Client, url: &str, token: Option<&str>) -> f64 {
    let deadline = Instant::now() + THROUGHPUT_WINDOW;
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let url = url.to_owned();
        let token = token.map(str::to_owned);
        workers.push(tokio::spawn(async move {
            let mut done = 0u64;
            while Instant::now() < deadline {
                let mut request = client.get(&url);
                if let Some(token) = &token {
                    request = request.bearer_auth(token);
                }
                request.send().await.unwrap().bytes().await.unwrap();
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap();
    }
    total as f64 / THROUGHPUT_WINDOW.as_secs_f64()
}

fn report(
    name: &str,
    direct: &[Duration],
    through: &[Duration],
    direct_rps: f64,
    through_rps: f64,
) {
    let added = |fraction| {
        percentile(through, fraction).as_micros() as i128
            - percentile(direct, fraction).as_micros() as i128
    };
    println!(
        "{name}: direct p50 {} us p99 {} us; through p50 {} us p99 {} us; added p50 {} us p99 {} us; throughput direct {:.0}/s through {:.0}/s ratio {:.3}",
        percentile(direct, 0.5).as_micros(),
        percentile(direct, 0.99).as_micros(),
        percentile(through, 0.5).as_micros(),
        percentile(through, 0.99).as_micros(),
        added(0.5),
        added(0.99),
        direct_rps,
        through_rps,
        through_rps / direct_rps
    );
}

fn main() {
    let Some(issuer) = peer("TRESTLE_TEST_OIDC_ISSUER", "bench proxy") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let harness = start(issuer).await;
        Mock::given(method("GET"))
            .and(path("/api/v3/contacts"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({ "code": 0, "contacts": [{ "contact_id": "1", "contact_name": "Ada" }] }),
            ))
            .mount(&harness.books)
            .await;
        let client = reqwest::Client::new();
        let direct_url = format!("{}/api/v3/contacts", harness.books.uri());
        let proxy_url = format!(
            "{}/api/v1/environments/sandbox/proxy/{BOOKS_LINK}/contacts",
            harness.base_url
        );
        let direct = latencies(&client, &direct_url, None).await;
        let proxied = latencies(&client, &proxy_url, Some(&harness.token)).await;
        let direct_rps = throughput(&client, &direct_url, None).await;
        let proxied_rps = throughput(&client, &proxy_url, Some(&harness.token)).await;
        report("proxy", &direct, &proxied, direct_rps, proxied_rps);

        // invokeurl: one functions/run doing N calls, per call, against N direct calls.
        let calls = 200;
        let script = format!(
            "for each i in {{1,2,3,4,5,6,7,8,9,10}} {{ for each j in {{1,2,3,4,5,6,7,8,9,10}} {{ r = invokeurl [ url: \"https://books.zoho.com/api/v3/contacts\" type: GET connection: \"{BOOKS_LINK}\" ]; s = invokeurl [ url: \"https://books.zoho.com/api/v3/contacts\" type: GET connection: \"{BOOKS_LINK}\" ]; }} }}\nreturn 1;"
        );
        let mut per_call_run = Vec::new();
        let mut per_call_direct = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            let report = harness.run(&script, json!({})).await;
            assert!(report.get("error").is_none(), "{report}");
            per_call_run.push(started.elapsed() / calls);
            let started = Instant::now();
            for _ in 0..calls {
                client.get(&direct_url).send().await.unwrap().bytes().await.unwrap();
            }
            per_call_direct.push(started.elapsed() / calls);
        }
        per_call_run.sort();
        per_call_direct.sort();
        let run_median = per_call_run[per_call_run.len() / 2];
        let direct_median = per_call_direct[per_call_direct.len() / 2];
        println!(
            "invokeurl: per call through functions/run {} us, direct {} us, added {} us, throughput ratio {:.3}",
            run_median.as_micros(),
            direct_median.as_micros(),
            run_median.as_micros() as i128 - direct_median.as_micros() as i128,
            direct_median.as_secs_f64() / run_median.as_secs_f64()
        );
    });
}
