/** What the octoplant client, the poller and the download may say. No GitHub Actions types here:
 *  the entry point adapts @actions/core to it, a CLI front end could adapt console. */
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warning(message: string): void
}
