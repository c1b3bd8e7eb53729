// The Node.js the engine needs: 24.5 for tls.setDefaultCACertificates (extra CAs for every
// connection, through any agent). An older one is refused at start, in words, not with a TypeError
// from deep inside a TLS call.

export const NODE_NEEDED = '24.5.0'

/** Why this Node.js cannot run the engine, or undefined when it can. */
export function runtimeProblem(version: string): string | undefined {
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number)
  const [needMajor, needMinor] = NODE_NEEDED.split('.').map(Number)
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined
  return `needs Node.js ${NODE_NEEDED} or later (for tls.setDefaultCACertificates); this is Node.js ${version.replace(/^v/, '')}. Install a newer Node.js, or use the single-file executable, which brings its own`
}
