import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { AppEvent, EventBatch } from './generated/events'

// The app's side of `next_events`, played here: the window's calls are recorded, and each
// call after the first is answered with the next batch the test gives.
const calls: Array<{ command: string; args: unknown }> = []
const batches: Array<(b: EventBatch) => void> = []
vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(async (command: string, args: { after: number | null }) => {
    calls.push({ command, args })
    if (command !== 'next_events') return null
    if (args.after === null) return { events: [], last: 4, missed: false }
    return new Promise<EventBatch>((resolve) => batches.push(resolve))
  }),
}))

const { backend } = await import('./backend')

/** Answers the window's open `next_events` call, and lets the page run. */
async function answer(events: AppEvent[], last: number, missed = false) {
  await vi.waitFor(() => expect(batches.length).toBeGreaterThan(0))
  batches.shift()!({ events, last, missed })
  await new Promise((r) => setTimeout(r, 0))
}

beforeEach(() => {
  calls.length = 0
})

describe('the events from Rust', () => {
  it('are asked for from now on, and each listener hears its kind with the payload', async () => {
    const messages: unknown[] = []
    let outbox = 0
    let elicence = 0
    const stopInbox = await backend.onInboxMessage((m) => messages.push(m))
    await backend.onOutboxChanged(() => outbox++)
    await backend.onElicenceChanged(() => elicence++)
    // One open question to the app, from where "now" was when the first listener came.
    expect(calls.map((c) => c.args)).toEqual([{ after: null }, { after: 4 }])

    const message = { id: 1, title: 'Review result', body: 'Approved', created_at: 0, read: false }
    await answer([{ kind: 'inbox-message', payload: message }, { kind: 'outbox-changed' }], 6)
    expect(messages).toEqual([message])
    expect([outbox, elicence]).toEqual([1, 0])
    // The next question starts after the newest event heard.
    expect(calls[calls.length - 1]?.args).toEqual({ after: 6 })

    stopInbox()
    await answer([{ kind: 'inbox-message', payload: message }], 7)
    expect(messages).toHaveLength(1)
  })

  it('that were let go make what is shown load again', async () => {
    let outbox = 0
    let elicence = 0
    await backend.onOutboxChanged(() => outbox++)
    await backend.onElicenceChanged(() => elicence++)
    await answer([], 200, true)
    expect(outbox).toBeGreaterThanOrEqual(1)
    expect(elicence).toBeGreaterThanOrEqual(1)
  })

  it('carry a submission’s progress to it, and to nothing after it ends', async () => {
    const heard: unknown[] = []
    const submitted = backend.submit('album', (p) => heard.push(p))
    await answer([{ kind: 'progress', payload: 'checking' }], 300)
    await submitted
    await answer([{ kind: 'progress', payload: 'done' }], 301)
    expect(heard).toEqual(['checking'])
    expect(calls.some((c) => c.command === 'submit')).toBe(true)
  })

  it('carry the camera’s frames to the preview until it stops', async () => {
    const frames: number[] = []
    await backend.cameraStart((f) => frames.push(f.width))
    expect(calls.some((c) => c.command === 'camera_start')).toBe(true)
    const frame = (width: number): AppEvent => ({
      kind: 'preview-frame',
      payload: { jpeg_base64: '', width, height: 1, advice: null },
    })
    await answer([frame(1), frame(2)], 402)
    await backend.cameraStop()
    await answer([frame(3)], 403)
    expect(frames).toEqual([1, 2])
  })
})
