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

export type Denial = { code: string, message: string, message_en: string, };

export type FunctionView = { 
/**
 * e.g. `electronic_licence`
 */
function: string, name: string, name_en: string, allowed: boolean, denial: Denial | null, };

export type AccountView = { id: number, 
/**
 * `face_signed` (面签用户), `online_registered` (在线注册用户) or `unit` (单位用户).
 */
kind: string, kind_name: string, name: string, id_number_masked: string | null, mobile_masked: string, functions: Array<FunctionView>, };

export type ReasonView = { code: string, text: string, note: string | null, };

export type ApplicationView = { id: number, 
/**
 * submitted / under_review / approved / rejected / issued / withdrawn
 */
status: string, status_name: string, photo_source: string, submitted_at: number, 
/**
 * The review deadline (1 working day), Unix seconds.
 */
due_at: number, overdue: boolean, reasons: Array<ReasonView>, };

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

export type PreviewFrame = { jpeg_base64: string, width: number, height: number, };

export type IdCardReviewView = { id: number, 
/**
 * pending / approved / rejected
 */
state: string, reason: string | null, submitted_at: number, decided_at: number | null, };

export type RegistrationPath = "face_sign" | "online";

export type PhotoSource = "on_file" | "album" | "camera";

export type Field = "name" | "id_number" | "mobile" | "password" | "code" | "id_card_validity";
