import { STATUS_CODES } from 'node:http';

/**
 * An error with a stable code and an HTTP status. Its message is safe to show a client:
 * the error handler sends it as is, whereas any other 5xx is masked.
 */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(statusCode: number, code: string, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.headers = options?.headers ?? {};
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly error: string;
  readonly message: string;
}

/** Builds the error body; 5xx errors that are not `HttpError`s lose their message. */
export function errorBody(err: { statusCode?: number; code?: string; message: string }, exposed: boolean): ErrorBody {
  const statusCode = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  const visible = exposed || statusCode < 500;
  return {
    statusCode,
    code: visible && err.code ? err.code : 'INTERNAL',
    error: STATUS_CODES[statusCode] ?? 'Error',
    message: visible ? err.message : 'Internal Server Error',
  };
}
