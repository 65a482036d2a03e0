//! What a phase measured: a sample per attempt, gathered per phone, summed up into a
//! [`PhaseReport`] of counts and latency percentiles.

use std::time::Duration;

use crate::phones::ClientModel;

/// One attempt: HTTP status (0: no answer), latency from when it was due, and more.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) status: u16,
    /// False when no connection could be made (nothing sent).
    pub(crate) connected: bool,
    /// A driver's first attempt in the phase (else a retry).
    pub(crate) first: bool,
    pub(crate) latency: Duration,
    /// The answer carried `Retry-After` (whole seconds, at least 1).
    pub(crate) retry_after: bool,
}

/// What one phone (or one closed-loop connection's phones) did in a phase.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) samples: Vec<Sample>,
    /// From each acknowledged driver's first attempt in the phase to the acknowledgement.
    pub(crate) acknowledged_after: Vec<Duration>,
    /// Drivers out of time with an unanswered submission and no final answer.
    pub(crate) uncertain_at_end: usize,
}

impl Log {
    pub(crate) fn append(&mut self, other: Log) {
        self.samples.extend(other.samples);
        self.acknowledged_after.extend(other.acknowledged_after);
        self.uncertain_at_end += other.uncertain_at_end;
    }
}

/// What a phase measured.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    pub name: String,
    pub clients: ClientModel,
    pub elapsed: Duration,
    /// Requests, first attempts and retries (connection failures included).
    pub sent: usize,
    /// Drivers' first attempts in the phase (the paced arrivals).
    pub first_attempts: usize,
    /// Attempts after the first: `sent - first_attempts`.
    pub retries: usize,
    /// Acknowledged: 201 and 200 (replays).
    pub accepted: usize,
    /// 200s: a retry answered with the application an unanswered attempt had stored.
    pub replays: usize,
    pub refused_429: usize,
    pub refused_503: usize,
    /// Refusals (429/503) without `Retry-After`: must be 0.
    pub refusals_without_retry_after: usize,
    /// Any other status, by code.
    pub other: Vec<(u16, usize)>,
    /// Requests with no answer (connection failed or timed out).
    pub unanswered: usize,
    /// Of those, attempts that found no connection (nothing sent).
    pub not_connected: usize,
    /// Drivers whose submission was still unanswered when the phase ended (stored or not).
    pub uncertain: usize,
    /// Connections made; a connection is kept after any answer unless the server closed it.
    pub connections_opened: usize,
    /// Latency percentiles of accepted requests: p50, p90, p99, max.
    pub accepted_latency: [Duration; 4],
    /// Latency percentiles of refusals: p50, p90, p99, max.
    pub refused_latency: [Duration; 4],
    /// From a driver's first attempt to the acknowledgement, retries included: p50, p90,
    /// p99, max.
    pub acknowledged_after: [Duration; 4],
}

impl PhaseReport {
    pub fn offered_per_second(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }

    pub fn first_attempts_per_second(&self) -> f64 {
        self.first_attempts as f64 / self.elapsed.as_secs_f64()
    }

    pub fn retries_per_second(&self) -> f64 {
        self.retries as f64 / self.elapsed.as_secs_f64()
    }

    pub fn accepted_per_second(&self) -> f64 {
        self.accepted as f64 / self.elapsed.as_secs_f64()
    }
}

/// Nearest-rank p50, p90, p99 and the largest; zeros for none.
pub(crate) fn percentiles(mut latencies: Vec<Duration>) -> [Duration; 4] {
    if latencies.is_empty() {
        return [Duration::ZERO; 4];
    }
    latencies.sort_unstable();
    let at = |p: f64| {
        let rank = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
        latencies[rank - 1]
    };
    [at(0.50), at(0.90), at(0.99), latencies[latencies.len() - 1]]
}

pub(crate) fn summarise(
    name: &str,
    clients: ClientModel,
    elapsed: Duration,
    log: Log,
    connections_opened: usize,
) -> PhaseReport {
    let mut other = std::collections::BTreeMap::new();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    let (mut r429, mut r503, mut without, mut unanswered) = (0, 0, 0, 0);
    let (mut first, mut replays, mut not_connected) = (0, 0, 0);
    for s in &log.samples {
        if s.first {
            first += 1;
        }
        match s.status {
            200 | 201 => {
                if s.status == 200 {
                    replays += 1;
                }
                accepted.push(s.latency);
            }
            429 | 503 => {
                if s.status == 429 {
                    r429 += 1;
                } else {
                    r503 += 1;
                }
                if !s.retry_after {
                    without += 1;
                }
                refused.push(s.latency);
            }
            0 => {
                unanswered += 1;
                if !s.connected {
                    not_connected += 1;
                }
            }
            code => *other.entry(code).or_insert(0) += 1,
        }
    }
    PhaseReport {
        name: name.to_owned(),
        clients,
        elapsed,
        sent: log.samples.len(),
        first_attempts: first,
        retries: log.samples.len() - first,
        accepted: accepted.len(),
        replays,
        refused_429: r429,
        refused_503: r503,
        refusals_without_retry_after: without,
        other: other.into_iter().collect(),
        unanswered,
        not_connected,
        uncertain: log.uncertain_at_end,
        connections_opened,
        accepted_latency: percentiles(accepted),
        refused_latency: percentiles(refused),
        acknowledged_after: percentiles(log.acknowledged_after),
    }
}

/// Formats a duration in milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms = |n: u64| Duration::from_millis(n);
        let p = percentiles((1..=100).map(ms).collect());
        assert_eq!(p, [ms(50), ms(90), ms(99), ms(100)]);
        assert_eq!(percentiles(vec![]), [Duration::ZERO; 4]);
    }
}
