// Dates and times as a driver in China reads them (UTC+8), whatever the device's zone.
const CHINA_OFFSET_MS = 8 * 3600 * 1000

function parts(unixSeconds: number) {
  const d = new Date(unixSeconds * 1000 + CHINA_OFFSET_MS)
  const p = (n: number) => String(n).padStart(2, '0')
  return {
    date: `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`,
    time: `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`,
  }
}

/** `2026-11-25 14:05` in China time. */
export function dateTime(unixSeconds: number): string {
  const { date, time } = parts(unixSeconds)
  return `${date} ${time}`
}

/** The live clock on the e-licence, `2026-11-25 14:05:09` in China time (from milliseconds). */
export function clock(unixMillis: number): string {
  const seconds = Math.floor(unixMillis / 1000)
  const { date, time } = parts(seconds)
  return `${date} ${time}:${String(seconds % 60).padStart(2, '0')}`
}

/** `2026-11-25` in China time. */
export function date(unixSeconds: number): string {
  return parts(unixSeconds).date
}

/** The status of an application as a Vant tag type. */
export function statusTone(status: string): 'primary' | 'success' | 'danger' | 'warning' | 'default' {
  switch (status) {
    case 'approved':
    case 'issued':
      return 'success'
    case 'rejected':
      return 'danger'
    case 'submitted':
    case 'under_review':
      return 'primary'
    default:
      return 'default'
  }
}
