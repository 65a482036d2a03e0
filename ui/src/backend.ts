// The one seam between the UI and Rust: every call to the app's commands and every event
// it sends goes through here. The types are generated from Rust: the views
// (generated/types.ts, from licence-client) and the events' names and payloads
// (generated/events.ts, from src-tauri/src/events.rs).
import { Channel, invoke } from '@tauri-apps/api/core'
import { listen, type UnlistenFn } from '@tauri-apps/api/event'
import type {
  AccountView,
  AppError,
  ApplicationView,
  CodeSentView,
  ElicenceView,
  Field,
  HomeView,
  IdCardReviewView,
  InboxMessageView,
  LicenceView,
  OfficerView,
  OutboxView,
  PhotoCheckView,
  PhotoSource,
  PreviewFrame,
  Progress,
  RefreshView,
  RegistrationPath,
  ScanOutcome,
  SubmitView,
  VerificationView,
} from './generated/types'
import { EVENTS, type EventPayloads } from './generated/events'
import { bothLanguages } from './i18n'

export type * from './generated/types'

export interface Person {
  name: string
  id_number: string
  mobile: string
}

/** A command's failure, always in the shape of AppError (an IPC failure included). */
export function asAppError(e: unknown): AppError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) return e as AppError
  const text = bothLanguages('internalError')
  return {
    code: 'internal',
    message: text.zh,
    message_en: `${text.en} (${String(e)})`,
    retry_after: null,
    next: null,
  }
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args)
  } catch (e) {
    throw asAppError(e)
  }
}

/** Listens to one of the app's events, with the payload type Rust declares for it. */
function on<E extends keyof EventPayloads>(event: E, f: (payload: EventPayloads[E]) => void): Promise<UnlistenFn> {
  return listen<EventPayloads[E]>(event, (e) => f(e.payload))
}

export const backend = {
  home: () => call<HomeView>('home'),
  account: () => call<AccountView>('account'),
  checkField: (field: Field, value: string) => call<AppError | null>('check_field', { field, value }),
  signIn: (login: string, password: string) => call<AccountView>('sign_in', { login, password }),
  /** Signs out here, or (`everywhere`) on every device of the account. */
  signOut: (everywhere = false) => call<void>('sign_out', { everywhere }),
  registrationCode: (path: RegistrationPath, person: Person) =>
    call<CodeSentView>('registration_code', { path, person }),
  faceSign: (person: Person, challengeId: string, code: string, password: string, consent: boolean) =>
    call<AccountView>('face_sign', { person, challengeId, code, password, consent }),
  registerOnline: (challengeId: string, code: string, password: string) =>
    call<AccountView>('register_online', { challengeId, code, password }),
  registerAlipay: (person: Person, alipayAccount: Person, password: string) =>
    call<AccountView>('register_alipay', { person, alipayAccount, password }),
  upgradeByFace: (idCardValidity: string) => call<AccountView>('upgrade_by_face', { idCardValidity }),
  idCardReview: (idCardValidity: string, frontBase64: string, backBase64: string) =>
    call<IdCardReviewView>('id_card_review', { idCardValidity, frontBase64, backBase64 }),
  idCardReviews: () => call<IdCardReviewView[]>('id_card_reviews'),
  myLicence: () => call<LicenceView>('my_licence'),
  applications: () => call<ApplicationView[]>('applications'),
  checkPhoto: (source: PhotoSource, photoBase64: string) =>
    call<PhotoCheckView>('check_photo', { source, photoBase64 }),
  submit: (source: PhotoSource, onProgress: (p: Progress) => void) => {
    const channel = new Channel<Progress>()
    channel.onmessage = onProgress
    return call<SubmitView>('submit', { source, onProgress: channel })
  },
  outbox: () => call<OutboxView[]>('outbox'),
  inbox: (after = 0) => call<InboxMessageView[]>('inbox', { after }),
  markRead: (id: number) => call<void>('mark_read', { id }),
  cameraStart: (onFrame: (f: PreviewFrame) => void) => {
    const channel = new Channel<PreviewFrame>()
    channel.onmessage = onFrame
    return call<void>('camera_start', { onFrame: channel })
  },
  cameraCapture: () => call<PhotoCheckView>('camera_capture'),
  cameraStop: () => call<void>('camera_stop'),
  /** The e-licence (出示使用) with a QR code signed on the device just now. */
  elicence: () => call<ElicenceView>('elicence'),
  refreshElicence: () => call<RefreshView>('refresh_elicence'),
  officer: () => call<OfficerView>('officer'),
  officerSignIn: (username: string, password: string) =>
    call<OfficerView>('officer_sign_in', { username, password }),
  officerSignOut: (everywhere = false) => call<void>('officer_sign_out', { everywhere }),
  verifyPicture: (pictureBase64: string) => call<VerificationView>('verify_picture', { pictureBase64 }),
  /** The officer's camera: preview frames, then the verification of the first code read. */
  scanStart: (onFrame: (f: PreviewFrame) => void, onResult: (o: ScanOutcome) => void) => {
    const frames = new Channel<PreviewFrame>()
    frames.onmessage = onFrame
    const results = new Channel<ScanOutcome>()
    results.onmessage = onResult
    return call<void>('scan_start', { onFrame: frames, onResult: results })
  },
  /** The e-licence's status or credential changed in the background. */
  onElicenceChanged: (f: () => void) => on(EVENTS.ElicenceChanged, () => f()),
  /** A review result arrived (the background inbox listener). */
  onInboxMessage: (f: (m: InboxMessageView) => void) => on(EVENTS.InboxMessage, f),
  /** The outbox sent or gave up on an application in the background. */
  onOutboxChanged: (f: () => void) => on(EVENTS.OutboxChanged, () => f()),
}
