/** The type of an exportContents option, as the server's Swagger spec describes it. */
export type OptionType =
  | { kind: 'boolean' }
  | { kind: 'int32' }
  | { kind: 'string'; format?: 'date-time' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'message'; fields: Readonly<Record<string, OptionType>> }
