//! The outbox: an application is saved on the device first, then sent when it is due, and
//! sent again until the platform has accepted or refused it for good.
//!
//! - 201/200: accepted (200 is the platform recognising a resend of the same application by its
//!   idempotency key, after an answer was lost).
//! - 429/503 (a surge, 错峰): not before `Retry-After` says.
//! - No answer, or a 5xx: again after a pause that doubles (5 s, 10 s, … 10 minutes).
//! - 401: kept waiting until the driver signs in again.
//! - Any other refusal (an application already open, a bad photo): failed, with the platform's
//!   message for the driver.
//!
//! Every pause is lengthened by up to half at random: the phones a surge refused in the same
//! second were all told the same `Retry-After`, and without it they would all come back in
//! the same second again (the load generator's patient phones do the same; docs/server.md).

use base64::Engine;
use rand::Rng;

use licence_api::{NewApplication, PhotoSource};

use crate::api::{success, Api};
use crate::store::LocalStore;
use crate::ClientError;

const APPLICATION: &str = "application";
const FIRST_PAUSE: i64 = 5;
const LONGEST_PAUSE: i64 = 600;

/// What became of an item in one round of sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        item: i64,
        application_id: i64,
    },
    /// Will be sent again at `until` (Unix seconds); `error` says why not now.
    Deferred {
        item: i64,
        until: i64,
        error: ClientError,
    },
    NeedsSignIn {
        item: i64,
    },
    Failed {
        item: i64,
        error: ClientError,
    },
}

/// Saves an application for sending: the photo on file (`photo` None) or an uploaded one
/// (`album` / `camera`). Returns the outbox item.
pub fn queue_application(
    store: &LocalStore,
    photo_source: PhotoSource,
    photo: Option<&[u8]>,
    now: i64,
) -> Result<i64, ClientError> {
    let key = licence_credential::hex::encode(&rand::thread_rng().gen::<[u8; 16]>());
    let body = NewApplication {
        idempotency_key: key.clone(),
        photo_source,
        photo: photo.map(|p| base64::engine::general_purpose::STANDARD.encode(p)),
    };
    let body = serde_json::to_string(&body).map_err(|e| ClientError::Unexpected(e.to_string()))?;
    store.enqueue(APPLICATION, &key, &body, now)
}

/// A photo from the album or the camera, after the check on the device.
#[derive(Debug)]
pub enum CheckedPhoto {
    /// Compliant: its 260×378 crop is saved for sending as this outbox item. The verdict is
    /// for showing the crop and the measurements before the driver confirms.
    Queued {
        item: i64,
        verdict: licence_photo::Verdict,
    },
    /// Not compliant: nothing is saved; each problem says how to fix it.
    NeedsFixing(licence_photo::Verdict),
}

/// Checks an uploaded photo on the device with the platform's own rules (licence-photo) and,
/// only when it is compliant, saves its crop for sending: the driver learns what is wrong at
/// once instead of a day later, and the upload is the ~20 KB crop, not the original.
pub fn queue_checked_photo(
    store: &LocalStore,
    photo_source: PhotoSource,
    photo: &[u8],
    today: time::Date,
    now: i64,
) -> Result<CheckedPhoto, ClientError> {
    let verdict = licence_photo::PhotoChecker::new().check(photo, today);
    match (&verdict.cropped_jpeg, verdict.compliant) {
        (Some(crop), true) => Ok(CheckedPhoto::Queued {
            item: queue_application(store, photo_source, Some(crop), now)?,
            verdict,
        }),
        _ => Ok(CheckedPhoto::NeedsFixing(verdict)),
    }
}

/// When an item put off now for `pause` seconds (at least one) is due again: after the pause
/// and up to half as long again, at random (see the module's doc).
fn due_after(now: i64, pause: i64, rng: &mut impl Rng) -> i64 {
    let pause = pause.max(1);
    now.saturating_add(pause)
        .saturating_add(rng.gen_range(0..=pause / 2))
}

/// Sends every item due by `now`; returns what became of each.
pub async fn send_due(
    store: &LocalStore,
    api: &Api,
    token: &str,
    now: i64,
) -> Result<Vec<Delivery>, ClientError> {
    let mut deliveries = Vec::new();
    for item in store.due(now)? {
        // Saved by this app as a NewApplication; anything else is a failed item, not a retry.
        let answer = match serde_json::from_str::<NewApplication>(&item.body) {
            Ok(application) => api
                .exchange_with(&application, Some(token))
                .await
                .map(success),
            Err(e) => Ok(Err(ClientError::Unexpected(format!(
                "the saved application does not read back: {e}"
            )))),
        };
        let backoff = due_after(
            now,
            (FIRST_PAUSE << item.attempts.min(8)).min(LONGEST_PAUSE),
            &mut rand::thread_rng(),
        );
        let defer = |until: i64, error: ClientError| -> Result<Delivery, ClientError> {
            store.defer(item.id, until, &error.to_string())?;
            Ok(Delivery::Deferred {
                item: item.id,
                until,
                error,
            })
        };
        let delivery = match answer {
            Ok(Ok(body)) => match body["id"].as_i64() {
                Some(application_id) => {
                    store.mark_sent(item.id, application_id)?;
                    Delivery::Sent {
                        item: item.id,
                        application_id,
                    }
                }
                None => defer(
                    backoff,
                    ClientError::Unexpected("an accepted application without id".into()),
                )?,
            },
            Ok(Err(
                error @ ClientError::Server {
                    status: 429 | 503,
                    retry_after,
                    ..
                },
            )) => defer(
                retry_after.map_or(backoff, |s| {
                    due_after(now, s.min(i64::MAX as u64) as i64, &mut rand::thread_rng())
                }),
                error,
            )?,
            Ok(Err(ClientError::Server { status: 401, .. })) => {
                Delivery::NeedsSignIn { item: item.id }
            }
            // No answer, a server error, or something in between that is not the platform
            // (a proxy's HTML page): try again later.
            Ok(Err(error @ ClientError::Server { status: 500.., .. }))
            | Err(error @ (ClientError::Network(_) | ClientError::Unexpected(_))) => {
                defer(backoff, error)?
            }
            Ok(Err(error)) | Err(error) => {
                store.mark_failed(item.id, &format!("{}: {}", error.code(), message(&error)))?;
                Delivery::Failed {
                    item: item.id,
                    error,
                }
            }
        };
        deliveries.push(delivery);
    }
    Ok(deliveries)
}

/// The driver's message (Chinese) when the platform gave one.
fn message(error: &ClientError) -> String {
    match error {
        ClientError::Server { message, .. } if !message.is_empty() => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::due_after;

    #[test]
    fn a_pause_is_lengthened_by_up_to_half_at_random_and_never_shortened() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for pause in [1, 2, 5, 10, 60] {
            let seen: std::collections::BTreeSet<i64> = (0..2000)
                .map(|_| due_after(1_000, pause, &mut rng) - 1_000)
                .collect();
            // Every whole second from the pause to half as long again, and nothing else.
            let expected: std::collections::BTreeSet<i64> = (pause..=pause + pause / 2).collect();
            assert_eq!(seen, expected, "pause {pause}");
        }
        // Not at once, whatever the pause given; and no overflow at the end of time.
        assert_eq!(due_after(1_000, 0, &mut rng), 1_001);
        assert_eq!(due_after(1_000, -5, &mut rng), 1_001);
        assert_eq!(due_after(i64::MAX - 1, 60, &mut rng), i64::MAX);
    }
}
