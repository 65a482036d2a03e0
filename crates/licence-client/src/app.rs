//! The driver's app as one object: what each screen asks for, in the shapes of [`crate::views`].
//! The Tauri commands call these methods and nothing else, so everything the app does is
//! tested here without a window.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use licence_credential::DeviceKey;

use serde::{Deserialize, Serialize};

use crate::api::{decode, Api, Session};
use crate::camera::{liveness_frames, FrameSource};
use crate::device::{FileVault, KeyVault};
use crate::outbox::{queue_application, send_due, Delivery};
use crate::registration::{AlipayApp, CodeSent, Person};
use crate::store::LocalStore;
use crate::views::*;
use crate::ClientError;

const ACCOUNT: &str = "account";
const APPLICATIONS: &str = "applications";
/// When this device's session began: messages from before are history, not news.
const SIGNED_IN_AT: &str = "signed_in_at";
/// The newest message already announced.
const INBOX_SEEN: &str = "inbox_seen";
/// The fallback file for the device key, in the app's data folder.
pub const DEVICE_KEY_FILE: &str = "device.key";
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

/// Where the photo of an application comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum PhotoSource {
    /// 档案照片: the photo the traffic police hold (the default).
    OnFile,
    /// 相册: a picture the driver picked.
    Album,
    /// 拍照: taken with the camera.
    Camera,
}

impl PhotoSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoSource::OnFile => "on_file",
            PhotoSource::Album => "album",
            PhotoSource::Camera => "camera",
        }
    }
}

pub struct DriverApp {
    pub(crate) store: LocalStore,
    pub(crate) api: Api,
    /// For the officer's online check: an answer within seconds or none, the offline
    /// result stands on its own.
    pub(crate) quick: Api,
    server: String,
    alipay: Option<AlipayApp>,
    /// Where the device key rests (see [`crate::device`]).
    pub(crate) vault: Box<dyn KeyVault>,
    pub(crate) device: Mutex<Option<Arc<DeviceKey>>>,
}

pub(crate) fn not_signed_in() -> AppError {
    AppError::new("not_signed_in", "请先登录", "Please sign in first")
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(licence_core::CHINA_OFFSET)
        .date()
}

fn json<T: Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| ClientError::Store(e.to_string()).into())
}

impl DriverApp {
    /// Opens (or creates) the app's database in `data_dir` and talks to the platform at
    /// `server` (`http://host:port`).
    pub fn open(data_dir: &Path, server: &str) -> Result<DriverApp, AppError> {
        std::fs::create_dir_all(data_dir).map_err(|e| ClientError::Store(e.to_string()))?;
        let store = LocalStore::open(&data_dir.join("app.sqlite"))?;
        Ok(DriverApp {
            store,
            api: Api::new(server, Duration::from_secs(15))?,
            quick: Api::new(server, Duration::from_secs(5))?,
            server: server.trim_end_matches('/').to_owned(),
            alipay: None,
            vault: Box::new(FileVault::new(&data_dir.join(DEVICE_KEY_FILE))),
            device: Mutex::new(None),
        })
    }

    /// Keeps the device key in `vault` (the OS key store) instead of the fallback file.
    pub fn with_key_vault(mut self, vault: Box<dyn KeyVault>) -> DriverApp {
        self.vault = vault;
        *self.device.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self
    }

    /// Where the Alipay app (or its development stand-in) answers; without it the Alipay
    /// path says Alipay is not available on this device.
    pub fn with_alipay_app(mut self, url: &str) -> Result<DriverApp, AppError> {
        self.alipay = Some(AlipayApp::new(url)?);
        Ok(self)
    }

    pub fn store(&self) -> &LocalStore {
        &self.store
    }

    pub(crate) fn session(&self) -> Result<Session, AppError> {
        match self.store.session()? {
            Some(s) if s.expires_at > now() => Ok(s),
            _ => Err(not_signed_in()),
        }
    }

    /// The home page: who is signed in and where they stand in the three steps. Without a
    /// network, as last fetched.
    pub async fn home(&self) -> Result<HomeView, AppError> {
        let pending: Vec<OutboxView> = self
            .store
            .items()?
            .iter()
            .map(OutboxView::of)
            .filter(|o| o.state == "waiting")
            .collect();
        let Ok(session) = self.session() else {
            return Ok(HomeView {
                account: None,
                step: JourneyStep::Register,
                latest: None,
                pending,
                offline: false,
                server: self.server.clone(),
            });
        };
        let (account, applications, offline) = match self.fetch_account(&session).await {
            Ok(account) => (
                Some(account),
                self.fetch_applications(&session).await?,
                false,
            ),
            Err(e) if e.code == "network" => (
                self.cached::<AccountView>(ACCOUNT)?,
                self.cached::<Vec<ApplicationView>>(APPLICATIONS)?
                    .unwrap_or_default(),
                true,
            ),
            Err(e) => return Err(e),
        };
        let latest = applications.into_iter().next();
        let step = match latest.as_ref().map(|a| a.status.as_str()) {
            _ if !pending.is_empty() => JourneyStep::Waiting,
            Some("submitted" | "under_review") => JourneyStep::Waiting,
            Some("approved" | "issued") => JourneyStep::Show,
            _ => JourneyStep::Apply,
        };
        Ok(HomeView {
            account,
            step,
            latest,
            pending,
            offline,
            server: self.server.clone(),
        })
    }

    fn cached<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, AppError> {
        Ok(self
            .store
            .cached(key)?
            .and_then(|(value, _)| serde_json::from_str(&value).ok()))
    }

    /// The session ended on the platform (expired, signed out elsewhere): forget it here.
    pub(crate) fn forget_if_unauthorised(&self, e: ClientError) -> AppError {
        if matches!(e, ClientError::Server { status: 401, .. }) {
            if let Err(store) = self.store.clear_session() {
                return store.into();
            }
            return not_signed_in();
        }
        e.into()
    }

    async fn fetch_account(&self, session: &Session) -> Result<AccountView, AppError> {
        let body = self
            .api
            .call("GET", "/api/v1/me", Some(&session.token), None)
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        let account = account_view(body)?;
        self.store.put_cached(ACCOUNT, &json(&account)?, now())?;
        Ok(account)
    }

    async fn fetch_applications(
        &self,
        session: &Session,
    ) -> Result<Vec<ApplicationView>, AppError> {
        let body = self
            .api
            .call("GET", "/api/v1/applications", Some(&session.token), None)
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        let list = applications_view(body)?;
        self.store.put_cached(APPLICATIONS, &json(&list)?, now())?;
        Ok(list)
    }

    /// 我的: the account, from the platform (or as last fetched without a network).
    pub async fn account(&self) -> Result<AccountView, AppError> {
        let session = self.session()?;
        match self.fetch_account(&session).await {
            Err(e) if e.code == "network" => self.cached(ACCOUNT)?.ok_or(e),
            other => other,
        }
    }

    /// The account's applications, newest first.
    pub async fn applications(&self) -> Result<Vec<ApplicationView>, AppError> {
        let session = self.session()?;
        match self.fetch_applications(&session).await {
            Err(e) if e.code == "network" => self.cached(APPLICATIONS)?.ok_or(e),
            other => other,
        }
    }

    /// Signs in with an ID or mobile number and the password.
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<AccountView, AppError> {
        if login.trim().is_empty() || password.is_empty() {
            return Err(AppError::new(
                "missing_credentials",
                "请输入证件号码或手机号，以及密码",
                "Enter your ID or mobile number and your password",
            ));
        }
        let session = self.api.sign_in(login.trim(), password).await?;
        self.signed_in(session).await
    }

    async fn signed_in(&self, session: Session) -> Result<AccountView, AppError> {
        if self.store.session()?.map(|s| s.account_id) != Some(session.account_id) {
            // Another person's data must not show under this account.
            self.store.clear_session()?;
        }
        self.store.save_session(&session)?;
        self.store
            .put_cached(SIGNED_IN_AT, &now().to_string(), now())?;
        self.fetch_account(&session).await
    }

    /// Signs out here and on the platform (best effort: without a network, only here).
    pub async fn sign_out(&self) -> Result<(), AppError> {
        if let Some(session) = self.store.session()? {
            let _ = self
                .api
                .exchange(
                    "DELETE",
                    "/api/v1/sessions/current",
                    Some(&session.token),
                    None,
                )
                .await;
        }
        Ok(self.store.clear_session()?)
    }

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
        let code = CodeSent {
            challenge_id: challenge_id.into(),
            expires_in: 0,
            resend_after: 0,
            mobile_masked: String::new(),
        };
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
        let code = CodeSent {
            challenge_id: challenge_id.into(),
            expires_in: 0,
            resend_after: 0,
            mobile_masked: String::new(),
        };
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
        use base64::Engine;
        let session = self.session()?;
        check_field(Field::IdCardValidity, id_card_validity).map_or(Ok(()), Err)?;
        let frames: Vec<String> = frames
            .iter()
            .map(|f| base64::engine::general_purpose::STANDARD.encode(f))
            .collect();
        let body =
            serde_json::json!({"id_card_validity": id_card_validity.trim(), "frames": frames});
        let answer = self
            .api
            .call(
                "POST",
                "/api/v1/me/face-sign",
                Some(&session.token),
                Some(body.to_string()),
            )
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        let account = account_view(answer)?;
        self.store.put_cached(ACCOUNT, &json(&account)?, now())?;
        Ok(account)
    }

    /// R2.6: both sides of the ID card (JPEG) for a reviewer, after the face check failed.
    pub async fn submit_id_card_review(
        &self,
        id_card_validity: &str,
        front: &[u8],
        back: &[u8],
    ) -> Result<IdCardReviewView, AppError> {
        use base64::Engine;
        let session = self.session()?;
        check_field(Field::IdCardValidity, id_card_validity).map_or(Ok(()), Err)?;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let body = serde_json::json!({
            "id_card_validity": id_card_validity.trim(), "front": b64(front), "back": b64(back),
        });
        let answer = self
            .api
            .call(
                "POST",
                "/api/v1/me/id-card-reviews",
                Some(&session.token),
                Some(body.to_string()),
            )
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        Ok(decode(answer)?)
    }

    /// The account's ID card reviews, newest first as the platform lists them.
    pub async fn id_card_reviews(&self) -> Result<Vec<IdCardReviewView>, AppError> {
        let session = self.session()?;
        let answer = self
            .api
            .call(
                "GET",
                "/api/v1/me/id-card-reviews",
                Some(&session.token),
                None,
            )
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        Ok(decode(answer)?)
    }

    /// 我的驾驶证: from the platform, or as last fetched without a network.
    pub async fn my_licence(&self) -> Result<LicenceView, AppError> {
        let session = self.session()?;
        let shown = crate::licence::my_licence(&self.store, &self.api, &session.token, now())
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        Ok(LicenceView::of(
            &shown.licence,
            today(),
            shown.fetched_at,
            shown.offline,
        ))
    }

    /// Checks a photo from the album or the camera on the device. A compliant photo's crop is
    /// kept as the draft to confirm; a non-compliant one replaces nothing and says what to fix.
    pub fn check_photo(
        &self,
        source: PhotoSource,
        photo: &[u8],
    ) -> Result<PhotoCheckView, AppError> {
        if source == PhotoSource::OnFile {
            return Err(AppError::new(
                "photo_source_invalid",
                "档案照片无需检查，请直接提交",
                "The photo on file needs no check; submit directly",
            ));
        }
        let verdict = licence_photo::PhotoChecker::new().check(photo, today());
        if let (true, Some(crop)) = (verdict.compliant, verdict.cropped_jpeg.as_deref()) {
            self.store.save_draft_photo(source.as_str(), crop)?;
        }
        Ok(PhotoCheckView::of(&verdict))
    }

    /// 提交申请: saves the application on the device (the photo on file, or the confirmed
    /// draft photo), then tries to send it at once. A surge or no network leaves it saved and
    /// waiting; it is sent on its own later (see [`DriverApp::send_outbox`]).
    pub async fn submit(
        &self,
        source: PhotoSource,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<SubmitView, AppError> {
        let session = self.session()?;
        let eligible = self.account().await?;
        if let Some(f) = eligible
            .functions
            .iter()
            .find(|f| f.function == "electronic_licence" && !f.allowed)
        {
            let d = f.denial.clone().unwrap_or(Denial {
                code: "function_not_allowed".into(),
                message: "当前账户不能办理此业务".into(),
                message_en: "This account may not use this business".into(),
            });
            return Err(AppError::new(&d.code, &d.message, &d.message_en));
        }
        progress(Progress::Checking);
        let photo = match source {
            PhotoSource::OnFile => None,
            _ => match self.store.draft_photo()? {
                Some((kept, jpeg)) if kept == source.as_str() => Some(jpeg),
                _ => {
                    return Err(AppError::new(
                        "no_checked_photo",
                        "请先选择或拍摄照片，检查通过后再提交",
                        "Choose or take a photo and pass the check before submitting",
                    ))
                }
            },
        };
        let item = queue_application(&self.store, source.as_str(), photo.as_deref(), now())?;
        self.store.clear_draft_photo()?;
        progress(Progress::Saved);
        progress(Progress::Sending);
        let deliveries = send_due(&self.store, &self.api, &session.token, now()).await?;
        progress(Progress::Done);
        let mine = deliveries.into_iter().find(|d| delivery_item(d) == item);
        let saved = self
            .store
            .item(item)?
            .ok_or_else(|| ClientError::Store("the saved application is gone".into()))?;
        let (application, waiting_reason) = match mine {
            Some(Delivery::Sent { application_id, .. }) => (
                self.applications()
                    .await
                    .ok()
                    .and_then(|l| l.into_iter().find(|a| a.id == application_id)),
                None,
            ),
            Some(Delivery::Failed { error, .. }) => return Err(error.into()),
            Some(Delivery::Deferred { error, .. }) => (None, Some(AppError::from(error))),
            Some(Delivery::NeedsSignIn { .. }) => (None, Some(not_signed_in())),
            // An earlier item was in the way (it failed or waits): this one waits its turn.
            None => (None, None),
        };
        Ok(SubmitView {
            item: OutboxView::of(&saved),
            application,
            waiting_reason,
        })
    }

    /// Sends whatever is due (the background loop calls this). Returns what happened, for
    /// telling the UI; nothing when signed out.
    pub async fn send_outbox(&self) -> Result<Vec<Delivery>, AppError> {
        let Ok(session) = self.session() else {
            return Ok(Vec::new());
        };
        Ok(send_due(&self.store, &self.api, &session.token, now()).await?)
    }

    /// Applications saved on the device, newest first.
    pub fn outbox(&self) -> Result<Vec<OutboxView>, AppError> {
        let mut items: Vec<OutboxView> = self.store.items()?.iter().map(OutboxView::of).collect();
        items.reverse();
        Ok(items)
    }

    /// 消息 after `after`; with `wait` seconds, a long-poll that answers when one arrives.
    pub async fn inbox(&self, after: i64, wait: u64) -> Result<Vec<InboxMessageView>, AppError> {
        let session = self.session()?;
        let body = self
            .api
            .call(
                "GET",
                &format!("/api/v1/me/inbox?after={after}&wait={}", wait.min(30)),
                Some(&session.token),
                None,
            )
            .await
            .map_err(|e| self.forget_if_unauthorised(e))?;
        Ok(decode(body)?)
    }

    /// Messages not yet announced on this device, waiting up to `wait` seconds for one: what
    /// the background listener shows as notifications. The first time after a sign-in,
    /// messages from before it are history and are not announced; what arrived since is.
    /// Remembered across restarts, so nothing is announced twice or missed while closed.
    pub async fn new_messages(&self, wait: u64) -> Result<Vec<InboxMessageView>, AppError> {
        let seen: Option<i64> = self.cached(INBOX_SEEN)?;
        let fresh = match seen {
            Some(after) => self.inbox(after, wait).await?,
            None => {
                let since: i64 = self.cached(SIGNED_IN_AT)?.unwrap_or(0);
                let all = self.inbox(0, 0).await?;
                let history = all
                    .iter()
                    .filter(|m| m.created_at < since)
                    .map(|m| m.id)
                    .max()
                    .unwrap_or(0);
                self.store
                    .put_cached(INBOX_SEEN, &history.to_string(), now())?;
                all.into_iter().filter(|m| m.id > history).collect()
            }
        };
        if let Some(newest) = fresh.iter().map(|m| m.id).max() {
            self.store
                .put_cached(INBOX_SEEN, &newest.to_string(), now())?;
        }
        Ok(fresh)
    }

    pub async fn mark_read(&self, id: i64) -> Result<(), AppError> {
        let session = self.session()?;
        self.api
            .call(
                "POST",
                &format!("/api/v1/me/inbox/{id}/read"),
                Some(&session.token),
                None,
            )
            .await?;
        Ok(())
    }
}

fn delivery_item(d: &Delivery) -> i64 {
    match d {
        Delivery::Sent { item, .. }
        | Delivery::Deferred { item, .. }
        | Delivery::NeedsSignIn { item }
        | Delivery::Failed { item, .. } => *item,
    }
}

/// The platform's account answer as the app shows it (`kind` is an object there).
fn account_view(mut body: serde_json::Value) -> Result<AccountView, ClientError> {
    let kind = body["kind"]["kind"].as_str().unwrap_or_default().to_owned();
    body["kind"] = kind.into();
    decode(body)
}

fn applications_view(body: serde_json::Value) -> Result<Vec<ApplicationView>, ClientError> {
    #[derive(Deserialize)]
    struct Raw {
        id: i64,
        status: String,
        status_name: String,
        photo_source: String,
        submitted_at: i64,
        due_at: i64,
        overdue: bool,
        #[serde(default)]
        reasons: Vec<licence_core::Rejection>,
    }
    let raw: Vec<Raw> = decode(body)?;
    Ok(raw
        .into_iter()
        .map(|r| ApplicationView {
            id: r.id,
            status: r.status,
            status_name: r.status_name,
            photo_source: r.photo_source,
            submitted_at: r.submitted_at,
            due_at: r.due_at,
            overdue: r.overdue,
            reasons: r
                .reasons
                .into_iter()
                .map(|reason| ReasonView {
                    code: serde_json::to_value(reason.code)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    text: reason.code.name_zh().into(),
                    note: reason.note,
                })
                .collect(),
        })
        .collect())
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

    #[test]
    fn the_platform_account_answer_becomes_the_view() {
        let body = serde_json::json!({
            "id": 7, "kind": {"kind": "face_signed", "via": "online_liveness"},
            "kind_name": "面签用户", "name": "张伟", "id_number_masked": "1101**********002X",
            "mobile_masked": "138****8000",
            "functions": [{"function": "electronic_licence", "name": "驾驶证电子版",
                           "name_en": "E-licence", "allowed": true, "denial": null}]
        });
        let view = account_view(body).unwrap();
        assert_eq!(view.kind, "face_signed");
        assert!(view.functions[0].allowed);
    }
}
