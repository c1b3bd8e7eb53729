// The secrets of a run (password, access token, client secret, every token the server issues), in
// every spelling in which they can come back: as given, JSON-escaped (an error that quotes a JSON
// body), URL-encoded as a query or path part (encodeURIComponent) and as a form body
// (application/x-www-form-urlencoded, spaces as "+"), each in upper- and lower-case hex. We send no
// secret base64-encoded (no Basic auth), so no base64 spelling can come back.

/** Every spelling of a secret that a server or a log could show, longest first, without repeats. */
export function spellingsOf(secret: string): string[] {
  if (!secret) return []
  const json = JSON.stringify(secret).slice(1, -1)
  const uri = encodeURIComponent(secret)
  const form = new URLSearchParams({ s: secret }).toString().slice(2)
  const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, h => h.toLowerCase())
  const all = [secret, json, uri, form, lowerHex(uri), lowerHex(form), JSON.stringify(uri).slice(1, -1)]
  return [...new Set(all)].sort((a, b) => b.length - a.length)
}

/** The run's secrets; mask() hides each in any spelling, however short. */
export class Secrets {
  private spellings: string[] = []

  /** Adds a secret; returns the spellings that are new (for a runner to register). */
  add(secret: string | undefined): string[] {
    if (!secret) return []
    const fresh = spellingsOf(secret).filter(s => !this.spellings.includes(s))
    if (fresh.length) this.spellings = [...this.spellings, ...fresh].sort((a, b) => b.length - a.length)
    return fresh
  }

  mask(text: string): string {
    let out = text
    for (const s of this.spellings) if (out.includes(s)) out = out.split(s).join('***')
    return out
  }

  /** Every string inside a value (an output document) masked; keys and shape kept. */
  maskValues<T>(value: T): T {
    if (typeof value === 'string') return this.mask(value) as T
    if (Array.isArray(value)) return value.map((v: unknown) => this.maskValues(v)) as T
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.maskValues(v)])) as T
    return value
  }
}
