/** Version of the `--output json` documents; bump on incompatible changes. */
export const JSON_SCHEMA_VERSION = 1;

/** The one JSON document a command writes to stdout with `--output json`. */
export function jsonDocument(command: string, data: unknown, error?: { code: string; message: string; exitCode: number }): string {
  return `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, command, ...(error ? { ok: false, error } : { ok: true }), result: data ?? null }, null, 2)}\n`;
}
