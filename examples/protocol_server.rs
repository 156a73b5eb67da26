//! A server of the trustx serving protocol (version 1) that can misbehave on purpose, one
//! way per `--fail` value, so that the tests in `tests/served_model.rs` can check trustx's
//! message for each failure through the binary.
//!
//! Its model is a fixed toy: P(positive) = sigmoid(Σ over words of a weight from the word's
//! bytes). With `--fail none` it is a correct server.
//!
//! ```text
//! cargo run --example protocol_server -- [--fail WHAT] [--after N] [--labels a,b]
//! ```
//!
//! `--fail` (after answering `--after` requests correctly, default 0):
//! `no-start` (exits with status 3 before the handshake), `exit` (exits with status 4),
//! `malformed` (a line that is not JSON), `rows` (one row too few), `classes` (a third
//! probability per row), `nan` (NaN in a row, as Python's json writes it), `negative`
//! (a negative probability), `unnormalised` (rows summing to 2), `error` (an error answer),
//! `timeout` (never answers), `labels` (the handshake's labels reversed).

use serde_json::{Value, json};
use std::io::{BufRead, Write};

fn positive(segments: &[String]) -> f64 {
    let z: f64 = segments
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(|w| {
            let h = w.bytes().fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            f64::from(h % 9) / 4.0 - 1.0
        })
        .sum();
    1.0 / (1.0 + (-z).exp())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let fail = value("--fail").unwrap_or_else(|| "none".into());
    let after: usize = value("--after").and_then(|a| a.parse().ok()).unwrap_or(0);
    let mut labels: Vec<String> =
        value("--labels").unwrap_or_else(|| "negative,positive".into()).split(',').map(String::from).collect();
    eprintln!("protocol_server: starting, failure mode `{fail}` after {after} answers");
    if fail == "no-start" {
        eprintln!("protocol_server: cannot load the model (failure mode no-start)");
        std::process::exit(3);
    }
    if fail == "labels" {
        labels.reverse();
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut answered = 0;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let message: Value = serde_json::from_str(&line).expect("trustx sends JSON");
        if message.get("trustx").is_some() {
            let hello = json!({"labels": labels, "name": "protocol-server", "version": "1", "max_batch": 16});
            writeln!(out, "{hello}").unwrap();
            out.flush().unwrap();
            continue;
        }
        let id = message["id"].as_u64().expect("an id");
        let inputs: Vec<Vec<String>> = serde_json::from_value(message["inputs"].clone()).expect("inputs");
        let mut rows: Vec<Vec<f64>> = inputs
            .iter()
            .map(|s| {
                let p = positive(s);
                vec![1.0 - p, p]
            })
            .collect();
        let failing = answered >= after;
        answered += 1;
        let answer = if !failing {
            json!({"id": id, "probabilities": rows}).to_string()
        } else {
            match fail.as_str() {
                "exit" => {
                    eprintln!("protocol_server: out of memory (failure mode exit)");
                    std::process::exit(4);
                }
                "timeout" => {
                    eprintln!("protocol_server: stuck (failure mode timeout)");
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                    unreachable!()
                }
                "malformed" => format!("{{\"id\": {id}, \"probabilities\": [[0.5, 0.5"),
                "rows" => {
                    rows.pop();
                    json!({"id": id, "probabilities": rows}).to_string()
                }
                "classes" => {
                    rows.iter_mut().for_each(|r| r.push(0.0));
                    json!({"id": id, "probabilities": rows}).to_string()
                }
                "nan" => format!("{{\"id\": {id}, \"probabilities\": [[NaN, 1.0]]}}"),
                "negative" => {
                    rows[0] = vec![-0.25, 1.25];
                    json!({"id": id, "probabilities": rows}).to_string()
                }
                "unnormalised" => {
                    rows.iter_mut().for_each(|r| r.iter_mut().for_each(|p| *p *= 2.0));
                    json!({"id": id, "probabilities": rows}).to_string()
                }
                "error" => json!({"id": id, "error": "model exploded"}).to_string(),
                _ => json!({"id": id, "probabilities": rows}).to_string(),
            }
        };
        writeln!(out, "{answer}").unwrap();
        out.flush().unwrap();
    }
    eprintln!("protocol_server: stdin closed, exiting");
}
