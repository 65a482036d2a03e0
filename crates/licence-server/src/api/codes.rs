//! One-time SMS codes (registration, sign-in, the mobile check of face-sign): sent under
//! quotas counted atomically in the store (a pause and a day's count per person at an
//! address, per person, per address), answered alike whether or not a text goes out, and
//! redeemed once, with a bounded number of attempts reserved before the code is compared.

use axum::http::StatusCode;
use licence_api::CodeSent;
use licence_core::MobileNumber;

use super::registration::provider_error;
use super::{with_store, Requester};
use crate::error::ApiError;
use crate::store::{CodePurpose, Limit, SmsChallenge};
use crate::{now, security, AppState};

/// Codes sent, by the person or number they were sent for.
const CODE_SENT: &str = "code_sent";

/// Codes sent: by person at one address (pause and day), by person, by address.
const CODE_PAUSE: &str = "code_pause";
const CODE_SENT_PERSON: &str = "code_sent_person";
const CODE_SENT_ADDRESS: &str = "code_sent_address";

/// Whether a code request leads to a text message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Delivery {
    Send,
    /// For a number no account uses: the same limits and the same answer, as late as a real
    /// send, but no text and a challenge that no code opens. The answer tells nothing.
    Withhold,
}

/// A one-time code to send.
pub(super) struct CodeFor<'a> {
    pub purpose: CodePurpose,
    /// Whose code it is, kept with the challenge: an ID number, or an account's id.
    pub subject: &'a str,
    /// What its limits count by: the ID number, or the mobile number signed in with.
    pub counted_as: &'a str,
    pub name: &'a str,
    pub mobile: &'a MobileNumber,
    pub delivery: Delivery,
}

/// Sends a one-time code within its limits, all reserved at once before anything is sent:
/// the pause between codes and the daily count for this person from this address, the daily
/// count for this person from everywhere, and the daily count from this address.
pub(super) async fn send_code(
    state: &AppState,
    requester: &Requester,
    code_for: CodeFor<'_>,
    text: impl Fn(&str) -> String,
) -> Result<CodeSent, ApiError> {
    let CodeFor {
        purpose,
        subject,
        counted_as,
        name,
        mobile,
        delivery,
    } = code_for;
    let policy = &state.policy;
    let here = format!("{}:{counted_as}@{}", purpose.as_str(), requester.key());
    let at = now();
    let (pause, day) = (policy.code_resend_after.as_secs() as i64, at - 86_400);
    let owned: Vec<OwnedLimit> = vec![
        (CODE_PAUSE, here.clone(), at - pause + 1, 1),
        (CODE_SENT, here, day, policy.codes_per_day),
        (
            CODE_SENT_PERSON,
            format!("{}:{counted_as}", purpose.as_str()),
            day,
            policy.codes_per_person,
        ),
        (
            CODE_SENT_ADDRESS,
            requester.key().to_owned(),
            day,
            policy.codes_per_address,
        ),
    ];
    let reserve = owned.clone();
    let full = with_store(state, move |s| {
        let limits: Vec<Limit<'_>> = reserve.iter().map(limit_of).collect();
        let full = s.reserve_events(&limits, at)?;
        // For the pause, how long until the next code may go.
        let last = match full {
            Some(0) => s.last_event(CODE_PAUSE, &reserve[0].1)?,
            _ => None,
        };
        Ok(full.map(|i| (i, last)))
    })
    .await?;
    match full {
        None => {}
        Some((0, last)) => {
            let wait = (last.unwrap_or(at) + pause - at).max(1);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "code_resend_too_soon",
                format!("验证码已发送，请 {wait} 秒后再重新获取"),
                format!("A code was just sent; you can ask for another in {wait} s"),
            )
            .retry_after(wait as u64));
        }
        Some(_) => {
            return Err(too_many_codes());
        }
    }
    let (code, salt, digest) = security::new_code();
    let code_hash = match delivery {
        Delivery::Send => digest,
        // The digest of 256 random bits: no six-digit code has it.
        Delivery::Withhold => security::new_token().1,
    };
    let challenge = SmsChallenge {
        id: security::new_id(),
        purpose,
        subject: subject.to_owned(),
        name: name.to_owned(),
        mobile: *mobile,
        code_hash,
        salt,
        created_at: at,
        expires_at: at + state.policy.code_ttl.as_secs() as i64,
        attempts: 0,
        consumed: false,
    };
    let id = challenge.id.clone();
    with_store(state, move |s| s.put_challenge(&challenge)).await?;
    match delivery {
        Delivery::Send => {
            if let Err(e) = state
                .providers
                .send_sms(mobile.as_str(), &text(&code))
                .await
            {
                // The code never reached the person: it must not count or linger.
                let id = id.clone();
                with_store(state, move |s| {
                    s.delete_challenge(&id)?;
                    let limits: Vec<Limit<'_>> = owned.iter().map(limit_of).collect();
                    s.release_events(&limits, at)
                })
                .await?;
                return Err(provider_error(e));
            }
        }
        Delivery::Withhold => tokio::time::sleep(state.providers.typical_sms_time()).await,
    }
    Ok(CodeSent {
        challenge_id: id,
        expires_in: state.policy.code_ttl.as_secs(),
        resend_after: state.policy.code_resend_after.as_secs(),
        mobile_masked: mobile.masked(),
    })
}

/// A day's codes are used up (for this person here, this person, or this address).
pub(super) fn too_many_codes() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_codes",
        "今日获取验证码次数已达上限，请明天再试",
        "Too many codes have been asked for today; please try again tomorrow",
    )
    .retry_after(3600)
}

/// A limit that can travel to the blocking pool.
type OwnedLimit = (&'static str, String, i64, u32);

fn limit_of((kind, key, since, limit): &OwnedLimit) -> Limit<'_> {
    Limit {
        kind,
        key,
        since: *since,
        limit: *limit,
    }
}

/// Checks a code against its challenge and uses it up. Expired, used, unknown and
/// over-tried codes each get their own answer.
pub(super) async fn redeem_code(
    state: &AppState,
    purpose: CodePurpose,
    challenge_id: &str,
    code: &str,
) -> Result<SmsChallenge, ApiError> {
    let challenge = check_code(state, purpose, challenge_id, code).await?;
    use_up(state, &challenge).await?;
    Ok(challenge)
}

fn code_used() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "code_used",
        "该验证码已使用，请重新获取",
        "This code was already used; please ask for a new one",
    )
    .next("request_code")
}

/// Marks a checked code used; a second request racing with the same code loses.
pub(super) async fn use_up(state: &AppState, challenge: &SmsChallenge) -> Result<(), ApiError> {
    let id = challenge.id.clone();
    if !with_store(state, move |s| s.consume_challenge(&id)).await? {
        return Err(code_used());
    }
    Ok(())
}

/// Checks a code without using it up (a wrong code counts against the limit), for a step
/// that may still fail for another reason, such as a face check.
pub(super) async fn check_code(
    state: &AppState,
    purpose: CodePurpose,
    challenge_id: &str,
    code: &str,
) -> Result<SmsChallenge, ApiError> {
    let lookup = challenge_id.to_owned();
    let challenge = with_store(state, move |s| s.challenge(&lookup))
        .await?
        .filter(|c| c.purpose == purpose)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "challenge_not_found",
                "验证码无效，请重新获取",
                "This code request is unknown; please ask for a new code",
            )
        })?;
    let new_code = |status, code: &str, zh: &str, en: &str| {
        ApiError::new(status, code, zh, en).next("request_code")
    };
    if challenge.consumed {
        return Err(code_used());
    }
    if challenge.expires_at <= now() {
        return Err(new_code(
            StatusCode::GONE,
            "code_expired",
            "验证码已过期，请重新获取",
            "The code has expired; please ask for a new one",
        ));
    }
    let limit = state.policy.code_attempts;
    let too_many = || {
        new_code(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "验证码错误次数过多，请重新获取",
            "Too many wrong codes; please ask for a new one",
        )
    };
    // The attempt is reserved before the code is compared: guesses released together cannot
    // all pass the limit, and a right code among guesses over it is refused like the rest.
    let id = challenge.id.clone();
    let Some(attempts) = with_store(state, move |s| s.reserve_attempt(&id, limit)).await? else {
        return Err(too_many());
    };
    let right = code.len() == 6
        && security::same_digest(
            &security::code_digest(code, &challenge.salt),
            &challenge.code_hash,
        );
    if !right {
        let left = limit.saturating_sub(attempts);
        if left == 0 {
            return Err(too_many().attempts_left(0));
        }
        // A wrong code is a failed proof of the number, like a wrong password: 401.
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_code",
            format!("验证码错误，还可尝试 {left} 次"),
            format!("Wrong code; {left} tries left"),
        )
        .attempts_left(left));
    }
    Ok(challenge)
}
