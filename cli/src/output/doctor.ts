import type { DoctorReport } from '../commands/doctor.js';

const MARK = { ok: '✓', missing: '✗', unknown: '?' } as const;

/** `castle doctor`'s result: one line per prerequisite, what provides each that is not there, a verdict. */
export function formatDoctor(r: DoctorReport): string {
  const head = `prerequisites of ${r.env ? `environment ${r.env}` : 'the manifests'} ${r.version} in namespace ${r.namespace} (context ${r.context}):\n`;
  const width = Math.max(...r.prerequisites.map((p) => p.check.length));
  const lines = r.prerequisites.map((p) => {
    const line = ` ${MARK[p.status]} ${p.check.padEnd(width)}  ${p.what}: ${p.detail}`;
    return p.fix && p.status !== 'ok' ? `${line}\n   ${' '.repeat(width)}  fix: ${p.fix}` : line;
  });
  const unknown = r.prerequisites.filter((p) => p.status === 'unknown').length;
  const tail =
    r.missing > 0
      ? `${r.missing} missing: a deploy would fail or run without them; fix them first`
      : `nothing missing${unknown > 0 ? ` (${unknown} castle cannot tell from here: see ?)` : ''}`;
  return `${head}${lines.join('\n')}\n${tail}\n`;
}
