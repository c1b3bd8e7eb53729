/** What the engine may say. No GitHub Actions types here: the Action adapts @actions/core to it, the
 *  command its stderr writer. */
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warning(message: string): void
}
