// Prints the configuration reference of both services as Markdown, from their config schemas.
// The README's tables are this output; a unit test keeps them in step.
import { describeConfig, type ConfigSpec } from '@castle/runtime';
import { backendConfigSpec } from '@castle/backend/config';
import { wwwConfigSpec } from '@castle/www/config';

/** One Markdown table: variable, default, accepted values, meaning. */
export function configTable(spec: ConfigSpec): string {
  const rows = describeConfig(spec).map((r) => `| \`${r.env}\` | \`${r.default}\` | ${r.expected} | ${r.description} |`);
  return ['| Variable | Default | Accepts | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export const services = { www: wwwConfigSpec, backend: backendConfigSpec } as const;

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [name, spec] of Object.entries(services)) {
    process.stdout.write(`#### ${name}\n\n${configTable(spec)}\n\n`);
  }
}
