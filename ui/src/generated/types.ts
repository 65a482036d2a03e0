// Generated from crates/licence-client/src/views.rs by
// `UPDATE_TS=1 cargo test -p licence-client --lib views`. Do not edit.

export type AppError = { code: string, message: string, message_en: string, 
/**
 * Seconds to wait before trying again (a surge).
 */
retry_after: number | null, 
/**
 * The step to offer, e.g. `online_registration` after repeated face failures (R2.2).
 */
next: string | null, };

export type ErrorBody = { 
/**
 * Stable, lower_snake_case.
 */
code: string, 
/**
 * 中文提示
 */
message: string, message_en: string, 
/**
 * The next step the client should offer, when the failure has one.
 */
next?: string, 
/**
 * Attempts left, when the failure counts against a limit.
 */
attempts_left?: number, 
/**
 * The request's id (also in `X-Request-Id`): quoted to support, it finds the request in
 * the platform's log.
 */
request_id?: string, };

export type FunctionView = { 
/**
 * e.g. `electronic_licence`
 */
function: string, name: string, name_en: string, allowed: boolean, 
/**
 * Why not, and how to change it.
 */
denial: ErrorBody | null, };

export type AccountView = { id: number, 
/**
 * `{"kind": "face_signed", "via": "online_liveness"}`, `{"kind": "online_registered"}`
 * or `{"kind": "unit"}`.
 */
kind: { kind: "face_signed", via: string } | { kind: "online_registered" } | { kind: "unit" }, 
/**
 * 面签用户 / 在线注册用户 / 单位用户
 */
kind_name: string, name: string, id_number_masked: string | null, mobile_masked: string, 
/**
 * Every business and whether this account may use it (R2.7, R2.10).
 */
functions: Array<FunctionView>, };

export type RejectionView = { code: string, 
/**
 * 照片不符合要求 / …
 */
text: string, 
/**
 * The reviewer's note, when there is one.
 */
note: string | null, };

export type ApplicationView = { id: number, 
/**
 * submitted / under_review / approved / rejected / issued / withdrawn
 */
status: string, 
/**
 * 已提交 / 审核中 / …
 */
status_name: string, 
/**
 * `on_file`, `album` or `camera`.
 */
photo_source: string, 
/**
 * Unix seconds.
 */
submitted_at: number, 
/**
 * Review deadline (1 working day), Unix seconds.
 */
due_at: number, 
/**
 * The deadline has passed without a decision.
 */
overdue: boolean, 
/**
 * Why it was rejected, when it was.
 */
reasons: Array<RejectionView>, };

export type LicenceView = { name: string, 
/**
 * 证号 (the ID number), shown masked; the holder's own screen may reveal it.
 */
number_masked: string, sex: string, birth_date: string, nationality: string, address: string, first_issued: string, 
/**
 * 准驾车型, e.g. `C1`
 */
classes: string, 
/**
 * 有效期限, e.g. `2020-01-01至2026-01-01`
 */
validity: string, points: number, 
/**
 * 状态, e.g. `正常` or `违法未处理、…`
 */
status: string, status_en: string, 
/**
 * The licence is in normal standing today.
 */
normal: boolean, issuing_authority: string, file_number: string, 
/**
 * Unix seconds when the platform last confirmed it.
 */
fetched_at: number, 
/**
 * Shown from the device because the platform could not be reached.
 */
offline: boolean, };

export type PhotoProblemView = { code: string, 
/**
 * `error` (must be fixed) or `warning` (may be submitted).
 */
severity: string, message: string, message_en: string, };

export type PhotoCheckView = { compliant: boolean, problems: Array<PhotoProblemView>, 
/**
 * The 260×378 crop as it would be submitted (JPEG, base64), whenever one could be made.
 */
crop_jpeg_base64: string | null, };

export type OutboxView = { id: number, 
/**
 * `waiting` (saved, will be sent), `sent`, or `failed` (refused; the driver must act).
 */
state: string, photo_source: string, created_at: number, attempts: number, 
/**
 * Unix seconds of the next try while waiting.
 */
next_attempt_at: number, application_id: number | null, last_error: string | null, };

export type JourneyStep = "register" | "apply" | "waiting" | "show";

export type HomeView = { account: AccountView | null, step: JourneyStep, latest: ApplicationView | null, 
/**
 * Applications saved on the device and waiting to be sent.
 */
pending: Array<OutboxView>, 
/**
 * The account and applications are as last fetched (no network).
 */
offline: boolean, 
/**
 * The platform's address this app talks to.
 */
server: string, };

export type InboxMessageView = { id: number, title: string, body: string, created_at: number, read: boolean, };

export type CodeSentView = { challenge_id: string, expires_in: number, resend_after: number, mobile_masked: string, };

export type SubmitView = { item: OutboxView, application: ApplicationView | null, 
/**
 * Why it is not sent yet, when it is not (shown as "saved, will be sent automatically").
 */
waiting_reason: AppError | null, };

export type Progress = "checking" | "saved" | "sending" | "done";

export type PreviewFrame = { jpeg_base64: string, width: number, height: number, 
/**
 * Live framing advice (none while scanning a code, or before the first look).
 */
advice: FramingAdviceView | null, };

export type FramingAdviceView = { 
/**
 * `face_the_camera`, `only_you`, `more_light`, `less_light`, `hold_straight`,
 * `look_straight`, `take_off_dark_glasses`, `open_your_eyes`, `avoid_glare`,
 * `take_off_hat`, `move_closer`, `move_back`, `centre_your_face`, `ready`.
 */
code: string, message: string, message_en: string, 
/**
 * Framed well: the photo can be taken.
 */
ready: boolean, };

export type IdCardReviewView = { id: number, 
/**
 * pending / approved / rejected
 */
state: string, reason: string | null, submitted_at: number, decided_at: number | null, };

export type HolderView = { 
/**
 * 证号 (= the ID number).
 */
number: string, name: string, sex: string, nationality: string, birth_date: string, address: string, first_issued: string, classes: string, validity: string, points: number, 
/**
 * The status codes at issuance, e.g. `A`; the live standing is told apart.
 */
status: string, issuing_authority: string, file_number: string, 
/**
 * The signed portrait (small greyscale JPEG, base64).
 */
portrait_jpeg_base64: string, 
/**
 * Every class the licence permits (those held and all they include), for the 副页.
 */
permitted: Array<VehicleClassView>, };

export type VehicleClassView = { code: string, name: string, name_en: string, 
/**
 * Printed on the licence (not only included by another class).
 */
held: boolean, };

export type StandingView = { 
/**
 * `normal`, `abnormal` (a red QR), `invalid`, or `unknown`.
 */
standing: string, 
/**
 * The status codes, e.g. `B`.
 */
codes: string, 
/**
 * e.g. `正常`, `超分`.
 */
text: string, text_en: string, 
/**
 * Unix seconds: when the platform last said so.
 */
as_of: number, };

export type ElicenceView = { holder: HolderView, 
/**
 * The approved photo in full colour (JPEG, base64) for the holder's own screen, checked
 * against the digest the credential signs; none for a credential without one (then the
 * holder's small portrait is shown).
 */
photo_jpeg_base64: string | null, standing: StandingView, 
/**
 * The QR code (PNG, one pixel per module with the quiet zone, base64), or none when
 * the credential has expired and could not be renewed.
 */
qr_png_base64: string | null, 
/**
 * The QR image's width in modules, for drawing it at a whole number of pixels a module.
 */
qr_modules: number, 
/**
 * Red when the licence is not in normal standing (R4.2).
 */
qr_red: boolean, 
/**
 * Unix seconds: when this QR was made; it is remade every `refresh_seconds`.
 */
generated_at: number, refresh_seconds: number, 
/**
 * Unix seconds: the credential's end; the app renews it well before.
 */
valid_until: number, 
/**
 * When the status and credential were last refreshed from the platform.
 */
refreshed_at: number | null, 
/**
 * Something the driver must know: renewal failed, expired, key changed.
 */
notice: AppError | null, 
/**
 * Where the device key rests: `system_keyring` or `file`.
 */
key_storage: string, };

export type MdocElementView = { namespace: string, 
/**
 * The standard's element identifier, e.g. `family_name`, `age_over_18`.
 */
identifier: string, kind: string, text: string, };

export type MdocShareView = { 
/**
 * `everything`, `rental_desk` or `age_over_18`.
 */
choice: string, qr_png_base64: string, qr_modules: number, 
/**
 * `mdoc:` + base64url of the DeviceEngagement.
 */
qr_text: string, shown: Array<MdocElementView>, shared: Array<MdocElementView> | null, };

export type MdocExchangeView = { message_base64: string, shown: Array<MdocElementView>, };

export type RefreshView = { 
/**
 * Something shown changed (a new credential, a new status): show again.
 */
changed: boolean, 
/**
 * The credential was issued or renewed just now.
 */
issued: boolean, 
/**
 * Why part of it could not be done (no network, not approved yet …).
 */
problem: AppError | null, };

export type OfficerView = { signed_in: boolean, name: string | null, username: string | null, session_expires_at: number | null, 
/**
 * When the trust list was fetched; none: verification cannot work yet.
 */
trust_list_at: number | null, 
/**
 * When the status list was issued by the platform.
 */
status_list_issued_at: number | null, 
/**
 * The status list may still be relied on (within its maximum age).
 */
status_list_fresh: boolean, };

export type VerdictView = { light: string, 
/**
 * licence-credential's code, e.g. `valid`, `presentation_too_old`.
 */
verdict: string, text: string, text_en: string, };

export type OnlineCheckView = { result: VerdictView, 
/**
 * The registry's status now, e.g. `B`, in words, and the points.
 */
live_status: string | null, live_status_text: string | null, live_status_text_en: string | null, live_points: number | null, };

export type VerificationView = { 
/**
 * The result to act on: the online check's when there was one, else the offline one.
 */
result: VerdictView, 
/**
 * The verification on this device with the cached lists (works with no network).
 */
offline: VerdictView, online: OnlineCheckView | null, 
/**
 * Why there is no online check (no network, not signed in online).
 */
online_problem: AppError | null, 
/**
 * Whose licence it is, when the issuer's signature is good (even if a later step fails).
 */
holder: HolderView | null, 
/**
 * The licence's standing in the status list, when it was looked up.
 */
status_codes: string | null, status_text: string | null, status_text_en: string | null, 
/**
 * When the QR code was made on the holder's phone.
 */
generated_at: number | null, 
/**
 * How fresh the offline status information is.
 */
status_list_issued_at: number | null, status_list_fresh: boolean, checked_at: number, };

export type ScanOutcome = { verification: VerificationView | null, error: AppError | null, };

export type RegistrationPath = "face_sign" | "online";

export type PhotoSource = "on_file" | "album" | "camera";

export type Field = "name" | "id_number" | "mobile" | "password" | "code" | "id_card_validity";
