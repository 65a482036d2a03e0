//! The server's own view of a phase, from its request log (`--log-format json`, one object a
//! line): how long it took to answer what it refused, and where an admitted request's time
//! went (its body arriving, the wait for a slot, the handling). Set beside the phones' view,
//! it tells a refusal the server was slow to make from one that waited before the server
//! read it (in the kernel's queues, or in a generator that shares the cores).

use std::time::Duration;

use serde_json::Value;

use crate::report::percentiles;

/// What the server's log says of one phase. Percentiles are p50, p90, p99, max.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerView {
    /// Request lines.
    pub requests: usize,
    /// Refusals by admission control (`busy…`, `rate_limited…`): from the head read to the
    /// answer made.
    pub refused: usize,
    pub refused_latency: [Duration; 4],
    /// Admitted API requests.
    pub admitted: usize,
    pub admitted_latency: [Duration; 4],
    pub admitted_body: [Duration; 4],
    pub admitted_wait: [Duration; 4],
    pub admitted_work: [Duration; 4],
    /// Seconds in which a pool refused (the `admission` lines), and the longest
    /// `Retry-After` they gave.
    pub refusing_seconds: usize,
    pub longest_retry_after: u64,
}

/// Reads the lines of a phase's stretch of the log; lines that are not JSON objects (a
/// panic's message, say) are passed over.
pub fn read(lines: &str) -> ServerView {
    let (mut refused, mut latency, mut body, mut wait, mut work) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut requests, mut refusing_seconds, mut longest_retry_after) = (0, 0, 0);
    let ms = |line: &Value, field: &str| {
        line[field]
            .as_f64()
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map(|ms| Duration::from_secs_f64(ms / 1000.0))
    };
    for line in lines.lines() {
        let Ok(line) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match line["target"].as_str() {
            Some("request") => {
                requests += 1;
                let admission = line["admission"].as_str().unwrap_or("-");
                if admission.starts_with("busy") || admission.starts_with("rate_limited") {
                    refused.extend(ms(&line, "latency_ms"));
                } else if admission.starts_with("admitted") {
                    latency.extend(ms(&line, "latency_ms"));
                    body.extend(ms(&line, "body_ms"));
                    wait.extend(ms(&line, "wait_ms"));
                    work.extend(ms(&line, "work_ms"));
                }
            }
            Some("admission") => {
                refusing_seconds += 1;
                let wait = line["retry_after_s"].as_u64().unwrap_or(0);
                longest_retry_after = longest_retry_after.max(wait);
            }
            _ => {}
        }
    }
    ServerView {
        requests,
        refused: refused.len(),
        refused_latency: percentiles(refused),
        admitted: latency.len(),
        admitted_latency: percentiles(latency),
        admitted_body: percentiles(body),
        admitted_wait: percentiles(wait),
        admitted_work: percentiles(work),
        refusing_seconds,
        longest_retry_after,
    }
}

/// The log's stretches between successive byte offsets (one a phase boundary), each cut at
/// a line's end: a line being written as a phase ended goes with the phase it finished in.
pub fn stretches(log: &str, boundaries: &[u64]) -> Vec<String> {
    let cut = |offset: u64| {
        let offset = (offset as usize).min(log.len());
        // Forward to the end of the line the offset falls in.
        log[offset..]
            .find('\n')
            .map_or(log.len(), |at| offset + at + 1)
    };
    let cuts: Vec<usize> = boundaries
        .iter()
        .map(|&b| if b == 0 { 0 } else { cut(b - 1) })
        .collect();
    cuts.windows(2)
        .map(|pair| log[pair[0]..pair[1].max(pair[0])].to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: f64) -> Duration {
        Duration::from_secs_f64(n / 1000.0)
    }

    #[test]
    fn refusals_and_admissions_are_told_apart_and_their_stages_read() {
        let log = [
            r#"{"target":"request","admission":"busy","latency_ms":0.05,"status":503}"#,
            r#"{"target":"request","admission":"busy_outside","latency_ms":0.25,"status":503}"#,
            r#"{"target":"request","admission":"rate_limited_address","latency_ms":0.5}"#,
            r#"{"target":"request","admission":"admitted","latency_ms":20.0,"body_ms":1.0,"wait_ms":2.0,"work_ms":16.0}"#,
            r#"{"target":"request","admission":"admitted","latency_ms":30.0,"wait_ms":3.0,"work_ms":26.0}"#,
            r#"{"target":"request","admission":"-","latency_ms":1.0}"#,
            r#"{"target":"admission","pool":"api","refused":2,"retry_after_s":4}"#,
            r#"{"target":"admission","pool":"api","refused":9,"retry_after_s":2}"#,
            "thread 'x' panicked at a place",
            r#"{"target":"licence_server::worker","message":"checked"}"#,
        ]
        .join("\n");
        let view = read(&log);
        assert_eq!(view.requests, 6);
        assert_eq!(view.refused, 3);
        assert_eq!(view.refused_latency, [ms(0.25), ms(0.5), ms(0.5), ms(0.5)]);
        assert_eq!(view.admitted, 2);
        assert_eq!(view.admitted_latency[0], ms(20.0));
        assert_eq!(view.admitted_latency[3], ms(30.0));
        // Only one of the two had a body.
        assert_eq!(view.admitted_body, [ms(1.0); 4]);
        assert_eq!(view.admitted_wait[3], ms(3.0));
        assert_eq!(view.admitted_work[0], ms(16.0));
        assert_eq!((view.refusing_seconds, view.longest_retry_after), (2, 4));
    }

    #[test]
    fn an_empty_stretch_reads_as_nothing() {
        let view = read("");
        assert_eq!((view.requests, view.refused, view.admitted), (0, 0, 0));
        assert_eq!(view.refused_latency, [Duration::ZERO; 4]);
    }

    #[test]
    fn stretches_are_cut_at_line_ends() {
        let log = "a1\na2\nb1\nb2-being-written";
        // The first boundary fell inside "a2": that line goes with the first phase.
        let parts = stretches(log, &[0, 4, 9, log.len() as u64]);
        assert_eq!(parts, ["a1\na2\n", "b1\n", "b2-being-written"]);
        // Boundaries past the end (the log shrank, or was never written) give nothing.
        assert_eq!(stretches("", &[0, 10, 20]), ["", ""]);
    }
}
