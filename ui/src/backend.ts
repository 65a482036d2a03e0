// The one seam between the UI and Rust: every call to the app's commands and every event
// it tells the window goes through here. The types are generated from Rust: the views
// (generated/types.ts, from licence-client) and the events (generated/events.ts, from
// src-tauri/src/events.rs, which says why the window asks for them rather than listening).
import { invoke } from '@tauri-apps/api/core'
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
  MdocShareView,
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
import type { AppEvent, EventBatch } from './generated/events'
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

export type UnlistenFn = () => void
type Kind = AppEvent['kind']
type Of<K extends Kind> = Extract<AppEvent, { kind: K }>

const listeners = new Set<(e: AppEvent) => void>()
let asking: Promise<number> | undefined

/** Keeps one `next_events` call open, for as long as the page lives. Resolves once the app
 * has said where "from now on" starts, so that a command started after it cannot send an
 * event before the window asks. */
function startAsking(): Promise<number> {
  asking ??= (async () => {
    let first: EventBatch
    try {
      first = await invoke<EventBatch>('next_events', { after: null })
    } catch (error) {
      asking = undefined // the next listener tries again
      throw error
    }
    void (async () => {
      let after = first.last
      for (;;) {
        try {
          const batch = await invoke<EventBatch>('next_events', { after })
          after = batch.last
          if (batch.missed) {
            // Some were let go while the page was away: reload what is shown.
            deliver({ kind: 'outbox-changed' })
            deliver({ kind: 'elicence-changed' })
          }
          batch.events.forEach(deliver)
        } catch {
          await new Promise((r) => setTimeout(r, 1000))
        }
      }
    })()
    return first.last
  })()
  return asking
}

function deliver(e: AppEvent) {
  for (const f of [...listeners]) {
    try {
      f(e)
    } catch (error) {
      console.error(error)
    }
  }
}

/** Listens to one kind of the app's events, with the payload Rust declares for it. */
async function on<K extends Kind>(kind: K, f: (e: Of<K>) => void): Promise<UnlistenFn> {
  const listener = (e: AppEvent) => {
    if (e.kind === kind) f(e as Of<K>)
  }
  listeners.add(listener)
  try {
    await startAsking()
  } catch (error) {
    listeners.delete(listener)
    throw asAppError(error)
  }
  return () => listeners.delete(listener)
}

/** Runs `command` with `f` hearing events of `kind` until it ends. */
async function hearing<T, K extends Kind>(kind: K, f: (e: Of<K>) => void, command: () => Promise<T>): Promise<T> {
  const stop = await on(kind, f)
  try {
    return await command()
  } finally {
    stop()
  }
}

/** The camera's frames go to one preview at a time, from `command` (which starts the camera)
 * until `cameraStop`, a scan's result, or the command's failure. */
let stopPreview: UnlistenFn | undefined
async function preview(onFrame: (f: PreviewFrame) => void, command: string, more: UnlistenFn[] = []) {
  stopPreview?.()
  const frames = await on('preview-frame', (e) => onFrame(e.payload))
  stopPreview = () => {
    frames()
    more.forEach((f) => f())
    stopPreview = undefined
  }
  try {
    await call<void>(command)
  } catch (e) {
    stopPreview?.()
    throw e
  }
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
  submit: (source: PhotoSource, onProgress: (p: Progress) => void) =>
    hearing('progress', (e) => onProgress(e.payload), () => call<SubmitView>('submit', { source })),
  outbox: () => call<OutboxView[]>('outbox'),
  inbox: (after = 0) => call<InboxMessageView[]>('inbox', { after }),
  markRead: (id: number) => call<void>('mark_read', { id }),
  cameraStart: (onFrame: (f: PreviewFrame) => void) => preview(onFrame, 'camera_start'),
  cameraCapture: () => call<PhotoCheckView>('camera_capture'),
  cameraStop: () => {
    stopPreview?.()
    return call<void>('camera_stop')
  },
  /** The e-licence (出示使用) with a QR code signed on the device just now. */
  elicence: () => call<ElicenceView>('elicence'),
  refreshElicence: () => call<RefreshView>('refresh_elicence'),
  /** 出示给其他核验方: an engagement QR for the choice (everything, rental_desk, age_over_18). */
  mdocShare: (choice: string) => call<MdocShareView>('mdoc_share', { choice }),
  mdocShareStatus: () => call<MdocShareView>('mdoc_share_status'),
  mdocShareStop: () => call<void>('mdoc_share_stop'),
  officer: () => call<OfficerView>('officer'),
  officerSignIn: (username: string, password: string) =>
    call<OfficerView>('officer_sign_in', { username, password }),
  officerSignOut: (everywhere = false) => call<void>('officer_sign_out', { everywhere }),
  verifyPicture: (pictureBase64: string) => call<VerificationView>('verify_picture', { pictureBase64 }),
  /** The officer's camera: preview frames, then the verification of the first code read. */
  scanStart: async (onFrame: (f: PreviewFrame) => void, onResult: (o: ScanOutcome) => void) => {
    const results = await on('scan-outcome', (e) => {
      stopPreview?.()
      onResult(e.payload)
    })
    return preview(onFrame, 'scan_start', [results])
  },
  /** The e-licence's status or credential changed in the background. */
  onElicenceChanged: (f: () => void) => on('elicence-changed', () => f()),
  /** A review result arrived (the background inbox listener). */
  onInboxMessage: (f: (m: InboxMessageView) => void) => on('inbox-message', (e) => f(e.payload)),
  /** The outbox sent or gave up on an application in the background. */
  onOutboxChanged: (f: () => void) => on('outbox-changed', () => f()),
}
