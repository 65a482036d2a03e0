//! 注册 and 实人认证 as the screens ask for them: the form's fields checked as typed, the SMS
//! code, 面签 (R2.1), 在线注册 (R2.3), 支付宝 (R2.4), the upgrade by face (R2.5) and the ID
//! card review after repeated face failures (R2.6). The requests themselves are
//! [`crate::registration`]'s.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::app::{today, DriverApp};
use crate::camera::{liveness_frames, FrameSource};
use crate::registration::{CodeSent, Person};
use crate::views::{AccountView, AppError, CodeSentView, IdCardReviewView};

/// Liveness frames sent with a face-sign (the platform takes 1-8).
const LIVENESS_FRAMES: usize = 3;

/// Which registration path a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationPath {
    /// 面签 with the camera (R2.1).
    FaceSign,
    /// 在线注册 with the reserved mobile number (R2.3).
    Online,
}

/// A field of the registration forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    IdNumber,
    Mobile,
    Password,
    Code,
    /// 身份证有效期限, e.g. `2015-03-01至2035-03-01` or `2015-03-01至长期`.
    IdCardValidity,
}

/// Checks one field as it is typed, with licence-core's rules (the ID number's check digit,
/// the mobile number's prefix): the problem to show under it, or `None`.
pub fn check_field(field: Field, value: &str) -> Option<AppError> {
    use licence_core::{IdNumber, MobileNumber, PersonName};
    let problem = |p: &dyn licence_core::Problem| Some(AppError::of_problem(p));
    match field {
        Field::Name => value.parse::<PersonName>().err().and_then(|e| problem(&e)),
        Field::IdNumber => value.parse::<IdNumber>().err().and_then(|e| problem(&e)),
        Field::Mobile => value
            .parse::<MobileNumber>()
            .err()
            .and_then(|e| problem(&e)),
        Field::IdCardValidity => licence_core::IdCardValidity::parse(value.trim(), today())
            .err()
            .and_then(|e| problem(&e)),
        Field::Password if value.chars().count() < 8 => Some(AppError::new(
            "password_too_short",
            "密码至少8位",
            "The password needs at least 8 characters",
        )),
        Field::Code if !(value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit())) => Some(
            AppError::new("code_malformed", "验证码为6位数字", "The code is 6 digits"),
        ),
        Field::Password | Field::Code => None,
    }
}

/// The fields a person types, checked with the platform's own rules.
fn check_person(person: &Person) -> Result<(), AppError> {
    for (field, value) in [
        (Field::Name, &person.name),
        (Field::IdNumber, &person.id_number),
        (Field::Mobile, &person.mobile),
    ] {
        if let Some(problem) = check_field(field, value) {
            return Err(problem);
        }
    }
    Ok(())
}

/// The code a registration finishes with, as the form holds it (only its challenge counts).
fn typed_code(challenge_id: &str) -> CodeSent {
    CodeSent {
        challenge_id: challenge_id.into(),
        expires_in: 0,
        resend_after: 0,
        mobile_masked: String::new(),
    }
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl DriverApp {
    /// Sends a registration code by SMS, after checking what was typed.
    pub async fn registration_code(
        &self,
        path: RegistrationPath,
        person: &Person,
    ) -> Result<CodeSentView, AppError> {
        check_person(person)?;
        let sent = match path {
            RegistrationPath::FaceSign => self.api.face_sign_code(person).await?,
            RegistrationPath::Online => self.api.online_code(person).await?,
        };
        Ok(CodeSentView {
            challenge_id: sent.challenge_id,
            expires_in: sent.expires_in,
            resend_after: sent.resend_after,
            mobile_masked: sent.mobile_masked,
        })
    }

    /// 面签 (R2.1): the code, a password, consent, and liveness frames (JPEG) from the camera
    /// (see [`DriverApp::liveness_frames`]).
    pub async fn face_sign(
        &self,
        person: &Person,
        challenge_id: &str,
        digits: &str,
        password: &str,
        consent: bool,
        frames: Vec<Vec<u8>>,
    ) -> Result<AccountView, AppError> {
        check_person(person)?;
        if !consent {
            return Err(AppError::new(
                "consent_required",
                "请阅读并同意人脸识别授权",
                "Please read and agree to the face check",
            ));
        }
        let code = typed_code(challenge_id);
        let session = self
            .api
            .face_sign(person, &code, digits.trim(), password, consent, &frames)
            .await?;
        self.signed_in(session).await
    }

    /// The frames a face-sign sends, taken from the camera.
    pub fn liveness_frames(camera: &mut dyn FrameSource) -> Result<Vec<Vec<u8>>, AppError> {
        Ok(liveness_frames(camera, LIVENESS_FRAMES)?)
    }

    /// 在线注册 (R2.3) with the code sent to the reserved number.
    pub async fn register_online(
        &self,
        challenge_id: &str,
        digits: &str,
        password: &str,
    ) -> Result<AccountView, AppError> {
        let code = typed_code(challenge_id);
        let session = self
            .api
            .register_online(&code, digits.trim(), password)
            .await?;
        self.signed_in(session).await
    }

    /// 支付宝注册 (R2.4): the person authorises in Alipay (`alipay_account` is who Alipay
    /// holds: name, ID number, bound mobile), then the platform registers them with Alipay's
    /// real-name record if it is the person typed here.
    pub async fn register_alipay(
        &self,
        person: &Person,
        alipay_account: &Person,
        password: &str,
    ) -> Result<AccountView, AppError> {
        check_field(Field::Name, &person.name)
            .or_else(|| check_field(Field::IdNumber, &person.id_number))
            .map_or(Ok(()), Err)?;
        let alipay = self.alipay.as_ref().ok_or_else(|| {
            AppError::new(
                "alipay_unavailable",
                "本设备无法使用支付宝授权，请选择其他注册方式",
                "Alipay cannot be used on this device; choose another way to register",
            )
        })?;
        let auth_code = alipay.authorise(alipay_account).await?;
        let session = self
            .api
            .register_alipay(&person.name, &person.id_number, &auth_code, password)
            .await?;
        self.signed_in(session).await
    }

    /// 实人认证 (R2.5) for an online-registered driver: the ID card's validity period and
    /// liveness frames; success makes the account face-signed at once. After repeated face
    /// failures the error's `next` is `id_card_review` (R2.6).
    pub async fn upgrade_by_face(
        &self,
        id_card_validity: &str,
        frames: Vec<Vec<u8>>,
    ) -> Result<AccountView, AppError> {
        let session = self.session()?;
        check_field(Field::IdCardValidity, id_card_validity).map_or(Ok(()), Err)?;
        let request = licence_api::FaceSignUpgrade {
            id_card_validity: id_card_validity.trim().to_owned(),
            frames: frames.iter().map(|f| base64(f)).collect(),
        };
        let account = self
            .api
            .request(&request, Some(&session.token))
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        self.keep_account(account)
    }

    /// R2.6: both sides of the ID card (JPEG) for a reviewer, after the face check failed.
    pub async fn submit_id_card_review(
        &self,
        id_card_validity: &str,
        front: &[u8],
        back: &[u8],
    ) -> Result<IdCardReviewView, AppError> {
        let session = self.session()?;
        check_field(Field::IdCardValidity, id_card_validity).map_or(Ok(()), Err)?;
        let request = licence_api::IdCardReviewRequest {
            id_card_validity: id_card_validity.trim().to_owned(),
            front: base64(front),
            back: base64(back),
        };
        self.api
            .request(&request, Some(&session.token))
            .await
            .map_err(|e| self.forget_if_unauthorised(e))
    }

    /// The account's ID card reviews, newest first as the platform lists them.
    pub async fn id_card_reviews(&self) -> Result<Vec<IdCardReviewView>, AppError> {
        let session = self.session()?;
        self.api
            .request(&licence_api::endpoint::IdCardReviews, Some(&session.token))
            .await
            .map_err(|e| self.forget_if_unauthorised(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_with_the_platform_rules() {
        assert_eq!(check_field(Field::IdNumber, "11010519491231002X"), None);
        let wrong = check_field(Field::IdNumber, "110105194912310021").unwrap();
        assert_eq!(wrong.code, "id_check_mismatch");
        assert!(!wrong.message.is_empty() && !wrong.message_en.is_empty());
        assert_eq!(check_field(Field::Mobile, "13800138000"), None);
        assert!(check_field(Field::Mobile, "1380013800").is_some());
        assert!(check_field(Field::Name, "").is_some());
        assert_eq!(check_field(Field::Name, "张伟"), None);
        assert_eq!(
            check_field(Field::Password, "short").map(|e| e.code),
            Some("password_too_short".into())
        );
        assert_eq!(
            check_field(Field::Code, "12a456").map(|e| e.code),
            Some("code_malformed".into())
        );
        assert_eq!(check_field(Field::Code, "123456"), None);
        assert_eq!(check_field(Field::IdCardValidity, "2020-01-01至长期"), None);
        assert_eq!(
            check_field(Field::IdCardValidity, "2020-01-01到长期").map(|e| e.code),
            Some("id_card_validity_malformed".into())
        );
    }
}
