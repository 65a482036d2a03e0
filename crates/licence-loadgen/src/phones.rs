//! How a phone behaves after each attempt (issue 17): the client models, what an attempt
//! got, and the decision to stop or send the same submission again, and when.

use std::time::Duration;

/// How a phone behaves when it is refused or hears nothing back (issue 17). Either way it
/// sends the same submission again, with the same idempotency key, until it has a final
/// answer or the phase is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientModel {
    /// Waits what `Retry-After` says times a random factor in [1, 1.5) (so that phones
    /// refused together do not all come back together); after no answer or a proxy's error,
    /// a pause that doubles with each attempt (0.25 s to 4 s, the same jitter). The offered
    /// load adapts, as real apps make it.
    Patient,
    /// Sends again after a random pause of 0-100 ms, whatever `Retry-After` says.
    Impatient,
}

/// `patient` or `impatient`.
pub fn client_name(model: ClientModel) -> &'static str {
    match model {
        ClientModel::Patient => "patient",
        ClientModel::Impatient => "impatient",
    }
}

/// What one attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP answer, with `Retry-After` in whole seconds when the server gave one.
    Status { code: u16, retry_after: Option<u64> },
    /// Sent, and no answer came (timeout, reset, closed): stored or not, the phone cannot tell.
    NoAnswer,
    /// No connection could be made: nothing was sent.
    NotConnected,
}

/// What a phone does after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Acknowledged: 201, or 200 when the server already had this submission (a replay of
    /// an earlier attempt whose answer was lost).
    Acknowledged { replay: bool },
    /// Send the same submission (same key) again after this pause.
    Retry(Duration),
    /// A final answer that is not an acceptance (another 4xx or 5xx): the phone shows it and
    /// stops.
    GiveUp,
}

/// A patient phone's first pause after no answer; it doubles with each attempt, up to
/// [`BACKOFF_MAX`].
pub const BACKOFF_FIRST: Duration = Duration::from_millis(250);
pub const BACKOFF_MAX: Duration = Duration::from_secs(4);
/// An impatient phone's pause before sending again is random below this.
pub const IMPATIENT_PAUSE: Duration = Duration::from_millis(100);

/// `base` plus `unit` (in [0, 1)) of `span`, to the nanosecond below; always under
/// `base + span` when `span` is not zero (f64 rounding could otherwise reach it).
fn jittered(base: Duration, span: Duration, unit: f64) -> Duration {
    let span = span.as_nanos() as u64;
    let extra = (span as f64 * unit.clamp(0.0, 1.0)) as u64;
    base + Duration::from_nanos(extra.min(span.saturating_sub(1)))
}

/// The phone's decision after attempt number `attempt` (from 1) got `answer`. `unit` is a
/// random number in [0, 1) for the jitter: a patient phone's pause is its base times a
/// factor in [1, 1.5) (`1 + unit / 2`), an impatient phone's `unit` × 100 ms.
pub fn next_step(answer: Answer, model: ClientModel, attempt: u32, unit: f64) -> Next {
    let backoff = || {
        let doublings = attempt.saturating_sub(1).min(16);
        (BACKOFF_FIRST * 2u32.pow(doublings)).min(BACKOFF_MAX)
    };
    let base = match answer {
        Answer::Status { code: 201, .. } => return Next::Acknowledged { replay: false },
        Answer::Status { code: 200, .. } => return Next::Acknowledged { replay: true },
        // Refused before anything was stored: come back when told.
        Answer::Status {
            code: 429 | 503,
            retry_after: Some(seconds @ 1..),
        } => Duration::from_secs(seconds),
        // A refusal without a usable Retry-After, a proxy's error or a request timeout, or no
        // answer at all: stored or not, the same key again is safe.
        Answer::Status {
            code: 408 | 429 | 502 | 503 | 504,
            ..
        }
        | Answer::NoAnswer
        | Answer::NotConnected => backoff(),
        Answer::Status { .. } => return Next::GiveUp,
    };
    Next::Retry(match model {
        ClientModel::Patient => jittered(base, base / 2, unit),
        ClientModel::Impatient => jittered(Duration::ZERO, IMPATIENT_PAUSE, unit),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_retry_as_their_model_says() {
        use ClientModel::{Impatient, Patient};
        let ms = |n: u64| Duration::from_millis(n);
        let status = |code, retry_after| Answer::Status { code, retry_after };
        let retry = |d| Next::Retry(d);
        // Acknowledged, whoever asks and however late; 200 is the replay of a stored one.
        for model in [Patient, Impatient] {
            for attempt in [1, 7] {
                assert_eq!(
                    next_step(status(201, None), model, attempt, 0.3),
                    Next::Acknowledged { replay: false }
                );
                assert_eq!(
                    next_step(status(200, None), model, attempt, 0.3),
                    Next::Acknowledged { replay: true }
                );
                // Other answers are final: nothing to gain by sending again.
                for code in [400, 401, 403, 409, 413, 422, 500] {
                    assert_eq!(
                        next_step(status(code, Some(1)), model, attempt, 0.3),
                        Next::GiveUp,
                        "{code}"
                    );
                }
            }
        }

        // Patient: Retry-After times [1, 1.5), whatever the attempt.
        assert_eq!(
            next_step(status(503, Some(1)), Patient, 1, 0.0),
            retry(ms(1000))
        );
        assert_eq!(
            next_step(status(503, Some(1)), Patient, 9, 0.5),
            retry(ms(1250))
        );
        assert_eq!(
            next_step(status(429, Some(3)), Patient, 2, 0.5),
            retry(ms(3750))
        );
        assert_eq!(
            next_step(status(429, Some(2)), Patient, 1, 1.0 - f64::EPSILON / 2.0),
            retry(ms(3000) - Duration::from_nanos(1)),
            "the jitter stays below 1.5"
        );
        // No answer, a proxy's error, or a refusal without Retry-After: 0.25 s doubling per
        // attempt up to 4 s, with the same jitter.
        assert_eq!(next_step(Answer::NoAnswer, Patient, 1, 0.0), retry(ms(250)));
        assert_eq!(next_step(Answer::NoAnswer, Patient, 2, 0.5), retry(ms(625)));
        assert_eq!(
            next_step(Answer::NotConnected, Patient, 3, 0.0),
            retry(ms(1000))
        );
        assert_eq!(
            next_step(status(502, None), Patient, 4, 0.0),
            retry(ms(2000))
        );
        assert_eq!(
            next_step(status(504, None), Patient, 5, 0.0),
            retry(ms(4000))
        );
        assert_eq!(
            next_step(status(408, None), Patient, 1, 0.0),
            retry(ms(250))
        );
        assert_eq!(
            next_step(status(503, None), Patient, 6, 0.5),
            retry(ms(5000))
        );
        assert_eq!(
            next_step(status(429, Some(0)), Patient, 1, 0.0),
            retry(ms(250))
        );
        assert_eq!(
            next_step(Answer::NoAnswer, Patient, u32::MAX, 0.0),
            retry(ms(4000))
        );

        // Impatient: 0-100 ms, Retry-After or not.
        assert_eq!(
            next_step(status(503, Some(1)), Impatient, 1, 0.0),
            retry(ms(0))
        );
        assert_eq!(
            next_step(status(503, Some(5)), Impatient, 3, 0.5),
            retry(ms(50))
        );
        assert_eq!(
            next_step(status(429, Some(2)), Impatient, 1, 0.25),
            retry(ms(25))
        );
        assert_eq!(
            next_step(Answer::NoAnswer, Impatient, 9, 0.5),
            retry(ms(50))
        );
        assert_eq!(
            next_step(Answer::NotConnected, Impatient, 1, 0.0),
            retry(ms(0))
        );
        assert_eq!(
            next_step(status(502, None), Impatient, 1, 0.5),
            retry(ms(50))
        );
        assert_eq!(
            next_step(status(503, Some(1)), Impatient, 1, 1.0 - f64::EPSILON / 2.0),
            retry(ms(100) - Duration::from_nanos(1))
        );

        // The bounds hold for the generator's own random numbers.
        for _ in 0..10_000 {
            let unit = rand::random::<f64>();
            let Next::Retry(wait) = next_step(status(503, Some(2)), Patient, 1, unit) else {
                panic!("a 503 is retried");
            };
            assert!((ms(2000)..ms(3000)).contains(&wait), "{wait:?}");
            let Next::Retry(wait) = next_step(Answer::NoAnswer, Patient, 2, unit) else {
                panic!("no answer is retried");
            };
            assert!((ms(500)..ms(750)).contains(&wait), "{wait:?}");
            let Next::Retry(wait) = next_step(status(503, Some(2)), Impatient, 1, unit) else {
                panic!("a 503 is retried");
            };
            assert!(wait < ms(100), "{wait:?}");
        }
    }
}
