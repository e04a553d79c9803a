// UTC time of day as "HH:MM" or "HH:MM:SS", in ms since midnight (building profiles and EV sessions).
export const DAY_MS = 86_400_000

export function parseTimeOfDay (text: string): number | undefined {
  const m = /^(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim())
  if (m === null) return undefined
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
  if (h > 23 || min > 59 || s > 59) return undefined
  return ((h * 60 + min) * 60 + s) * 1000
}

/** ms since the UTC midnight before `t`. */
export const timeOfDay = (t: number): number => ((t % DAY_MS) + DAY_MS) % DAY_MS

/** sin(π·x) over [fromMs, toMs) of the day, 0 outside: a smooth daily bell. */
export function dailyBell (t: number, fromMs: number, toMs: number): number {
  const x = (timeOfDay(t) - fromMs) / (toMs - fromMs)
  return x <= 0 || x >= 1 ? 0 : Math.sin(Math.PI * x)
}
