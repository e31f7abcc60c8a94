// Prints the configuration reference of both services as Markdown, from their config schemas.
// `--write` puts it into the README between its markers; a unit test keeps the two in step.
import { readFileSync, writeFileSync } from 'node:fs';
import { describeConfig, type ConfigSpec } from '@castle/runtime';
import { backendConfigSpec } from '@castle/backend/config';
import { wwwConfigSpec } from '@castle/www/config';

/** One Markdown table: variable, default, accepted values, meaning. */
export function configTable(spec: ConfigSpec): string {
  const rows = describeConfig(spec).map((r) => `| \`${r.env}\` | \`${r.default}\` | ${r.expected} | ${r.description} |`);
  return ['| Variable | Default | Accepts | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export const services = { www: wwwConfigSpec, backend: backendConfigSpec } as const;

/** The whole reference: a table per service. */
export function configReference(): string {
  return Object.entries(services)
    .map(([name, spec]) => `#### ${name}\n\n${configTable(spec)}\n`)
    .join('\n');
}

const start = '<!-- config-reference:start -->';
const end = '<!-- config-reference:end -->';

/** The README with its reference section replaced by the current one. */
export function withReference(readme: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} section`);
  return `${readme.slice(0, from + start.length)}\n${configReference()}${readme.slice(to)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const readme = new URL('../README.md', import.meta.url);
    writeFileSync(readme, withReference(readFileSync(readme, 'utf8')));
    process.stderr.write('README.md: configuration reference updated\n');
  } else {
    process.stdout.write(configReference());
  }
}
