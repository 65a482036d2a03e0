import { describe, expect, it } from 'vitest'
import { components } from './vant'

// Every component's source, as text.
const sources = import.meta.glob('./**/*.vue', { query: '?raw', import: 'default', eager: true })

describe('the Vant components registered', () => {
  it('include every <van-*> tag the app uses, so none renders as an unknown element', () => {
    const registered = new Set(components.map((c) => c.name))
    const used = new Set(
      Object.values(sources).flatMap((text) =>
        [...(text as string).matchAll(/<(van-[a-z-]+)/g)].map((m) => m[1]),
      ),
    )
    expect(used.size).toBeGreaterThan(10)
    expect([...used].filter((tag) => !registered.has(tag))).toEqual([])
  })
})
