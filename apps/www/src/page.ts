const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escape = (s: string) => s.replace(/[&<>"']/g, (c) => entities[c] ?? c);

export interface PageFacts {
  readonly time: string;
  readonly wwwInstance: string;
  readonly backendInstance: string | undefined;
  readonly version: string;
}

/** The small HTML page www serves to browsers: the time and who answered. */
export function renderPage(facts: PageFacts): string {
  const rows: [string, string][] = [
    ['www instance', facts.wwwInstance],
    ['backend instance', facts.backendInstance ?? 'unknown'],
    ['version', facts.version],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Castle</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;min-height:100vh;display:grid;place-items:center;background:#f6f7f9;color:#1d2433}
main{background:#fff;border-radius:12px;padding:2rem 2.5rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}
h1{font-size:1.6rem;margin:0 0 1rem;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:auto auto;gap:.3rem 1.2rem;margin:0}
dt{color:#5b6577}dd{margin:0;font-family:ui-monospace,monospace}
</style>
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
}
