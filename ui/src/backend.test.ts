import { describe, expect, it, vi } from 'vitest'

// The event bus as tauri's API gives it, recorded.
const listened: Array<{ event: string; handler: (e: { payload: unknown }) => void }> = []
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (event: string, handler: (e: { payload: unknown }) => void) => {
    listened.push({ event, handler })
    return () => {}
  }),
}))

const { backend } = await import('./backend')
const { EVENTS } = await import('./generated/events')

describe('the events from Rust', () => {
  it('are listened to by the generated names, and hand over the payload', async () => {
    const messages: unknown[] = []
    let changed = 0
    await backend.onInboxMessage((m) => messages.push(m))
    await backend.onOutboxChanged(() => changed++)
    await backend.onElicenceChanged(() => changed++)
    expect(listened.map((l) => l.event)).toEqual([
      EVENTS.InboxMessage,
      EVENTS.OutboxChanged,
      EVENTS.ElicenceChanged,
    ])
    expect(EVENTS.InboxMessage).toBe('inbox-message')
    const message = { id: 1, title: 'Review result', body: 'Approved', created_at: 0, read: false }
    listened[0].handler({ payload: message })
    listened[1].handler({ payload: null })
    listened[2].handler({ payload: null })
    expect(messages).toEqual([message])
    expect(changed).toBe(2)
  })
})
