import { describe, expect, it } from 'vitest'

// Every component's source, as text.
const sources = import.meta.glob('./**/*.vue', { query: '?raw', import: 'default', eager: true })

describe('component styles', () => {
  it('use no :global() in a scoped block (Vue compiles `:global(.a) .b` to `.a` alone)', () => {
    const offenders = Object.entries(sources).filter(([, text]) =>
      [...(text as string).matchAll(/<style[^>]*\bscoped\b[^>]*>([\s\S]*?)<\/style>/g)].some((m) =>
        m[1].includes(':global('),
      ),
    )
    expect(offenders.map(([file]) => file)).toEqual([])
  })
})
