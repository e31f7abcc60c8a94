import { createHash } from 'node:crypto';

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => entities[c] ?? c);

/** The page's only stylesheet, exactly as it sits between `<style>` and `</style>`. */
const style = `
body{font-family:system-ui,sans-serif;margin:0;min-height:100vh;display:grid;place-items:center;background:#f6f7f9;color:#1d2433}
main{background:#fff;border-radius:12px;padding:2rem 2.5rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.6rem;margin:0 0 1rem;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:auto auto;gap:.3rem 1.2rem;margin:0}
dt{color:#5b6577}dd{margin:0;font-family:ui-monospace,monospace}
`;

// The browser hashes the inline style's text as sent, so the hash is taken from the same string.
const styleHash = `'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}'`;

/**
 * The page's response headers. The policy allows nothing but the one inline stylesheet, by
 * its hash: no script (the page has none), no framing, no `<base>`, no form targets.
 */
const headers: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src ${styleHash}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
});

export interface PageFacts {
  readonly time: string;
  readonly wwwInstance: string;
  readonly backendInstance: string | undefined;
  readonly version: string;
}

/** A rendered page: its body and the headers that must go with it. */
export interface Page {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The small HTML page www serves to browsers (the time and who answered), with its security headers. */
export function renderPage(facts: PageFacts): Page {
  const rows: [string, string][] = [
    ['www instance', facts.wwwInstance],
    ['backend instance', facts.backendInstance ?? 'unknown'],
    ['version', facts.version],
  ];
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Castle</title>
<style>${style}</style>
</head>
<body>
<main>
<h1 id="time">${escape(facts.time)}</h1>
<dl>
${rows.map(([k, v]) => `<dt>${k}</dt><dd>${escape(v)}</dd>`).join('\n')}
</dl>
</main>
</body>
</html>
`;
  return { body, headers };
}
