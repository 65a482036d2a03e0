import { describe, expect, it } from 'vitest'
import { clock, date, dateTime, statusTone } from './format'

describe('dates in China time', () => {
  it('shows the date and time of UTC+8 whatever the machine zone', () => {
    // 2026-11-24 16:30 UTC is 2026-11-25 00:30 in Beijing.
    expect(dateTime(Date.UTC(2026, 10, 24, 16, 30) / 1000)).toBe('2026-11-25 00:30')
    expect(date(Date.UTC(2026, 10, 24, 15, 59) / 1000)).toBe('2026-11-24')
  })
  it('ticks the e-licence clock to the second', () => {
    expect(clock(Date.UTC(2026, 10, 24, 16, 30, 7, 900))).toBe('2026-11-25 00:30:07')
  })
  it('colours statuses', () => {
    expect(statusTone('rejected')).toBe('danger')
    expect(statusTone('under_review')).toBe('primary')
    expect(statusTone('issued')).toBe('success')
    expect(statusTone('withdrawn')).toBe('default')
  })
})
