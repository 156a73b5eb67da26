//! A model served by another process over the trustx serving protocol (JSON lines over
//! stdin/stdout, written down in [`protocol`] and in the README): any model in any
//! framework becomes a black-box [`Classifier`], so it can be predicted and explained by
//! every black-box explainer.
//!
//! [`ServedModel::start`] starts the server, checks its handshake against the dataset's
//! labels and holds it until dropped (which stops it). Its [`Classifier::predict`] cuts the
//! inputs into requests of at most `max_batch` and keeps up to
//! [`MAX_IN_FLIGHT`](process::MAX_IN_FLIGHT) of them in flight, so the server computes while
//! trustx prepares the next batch; every answer is checked (row and class counts, finite,
//! non-negative, rows summing to 1) and any failure names the command, what happened and
//! the last lines of the server's stderr.

pub mod process;
pub mod protocol;

use crate::explain::Classifier;
use anyhow::Result;
use process::{Launch, ServerProcess, Ticket};
use protocol::{Handshake, parse_answer, parse_handshake};
use std::collections::VecDeque;
use std::time::Duration;

pub use process::MAX_IN_FLIGHT;
pub use protocol::PROTOCOL_VERSION;

/// How to start a served model and how long to wait for it.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// The process to start.
    pub launch: Launch,
    /// Most inputs per request (the server's own `max_batch` may lower it).
    pub max_batch: usize,
    /// How long an answer may take.
    pub timeout: Duration,
    /// How long the handshake may take (the server loads its model first).
    pub startup_timeout: Duration,
    /// Requests unanswered at a time, at most ([`MAX_IN_FLIGHT`] for a manifest's model).
    pub in_flight: usize,
}

/// A running served model.
pub struct ServedModel {
    process: ServerProcess,
    handshake: Handshake,
    max_batch: usize,
    in_flight: usize,
    timeout: Duration,
    mask_token: String,
}

impl ServedModel {
    /// Starts the server and checks that it serves `labels` (the dataset `dataset`'s, in
    /// order); with `labels` `None`, whatever labels it serves are taken.
    pub fn start(spec: &ServerSpec, dataset: &str, labels: Option<&[String]>) -> Result<ServedModel> {
        let (process, hello) = ServerProcess::start(&spec.launch, &protocol::handshake_request(), spec.in_flight)?;
        let answer = process.handshake(&hello, spec.startup_timeout)?;
        let handshake = parse_handshake(&answer).map_err(|why| process.reject(why))?;
        if let Some(labels) = labels
            && handshake.labels != labels
        {
            return Err(process.reject(format!(
                "serves the labels [{}], but the dataset `{dataset}` has the labels [{}]; a served model must answer in the dataset's classes and order",
                handshake.labels.join(", "),
                labels.join(", ")
            )));
        }
        let in_flight = spec.in_flight.max(1);
        let max_batch = handshake.max_batch.map_or(spec.max_batch, |m| m.min(spec.max_batch)).max(1);
        let mask_token = handshake.mask_token.clone().unwrap_or_else(|| "[MASK]".into());
        Ok(ServedModel { process, handshake, max_batch, in_flight, timeout: spec.timeout, mask_token })
    }

    /// What the server said about itself.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// Inputs per request.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn collect(&self, ticket: Ticket, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>> {
        let id = ticket.id;
        let answer = self.process.wait(ticket, self.timeout)?;
        parse_answer(&answer, id, inputs, &self.handshake.labels).map_err(|why| self.process.reject(why))
    }
}

impl Classifier for ServedModel {
    fn num_classes(&self) -> usize {
        self.handshake.labels.len()
    }

    fn mask_token(&self) -> &str {
        &self.mask_token
    }

    fn predict(&self, inputs: &[Vec<String>]) -> Result<Vec<Vec<f64>>> {
        let mut out = Vec::with_capacity(inputs.len());
        let mut waiting: VecDeque<(Ticket, &[Vec<String>])> = VecDeque::new();
        for chunk in inputs.chunks(self.max_batch) {
            if waiting.len() >= self.in_flight
                && let Some((ticket, sent)) = waiting.pop_front()
            {
                out.extend(self.collect(ticket, sent)?);
            }
            let ticket = self.process.send(|id| protocol::request_line(id, chunk))?;
            waiting.push_back((ticket, chunk));
        }
        for (ticket, sent) in waiting {
            out.extend(self.collect(ticket, sent)?);
        }
        Ok(out)
    }
}
