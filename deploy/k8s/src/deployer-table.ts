import { DEPLOYER_ROLE } from './deployer.js';
import { castleKinds, deployerRules, type DeployerRule } from './deployer-rules.js';
import { render } from './render.js';

const code = (items: readonly string[]): string => items.map((i) => `\`${i}\``).join(', ');

function grantedBy(rule: DeployerRule, namespace: string): string {
  if (rule.namespace === undefined) return `ClusterRole \`castle-deployer:${namespace}\``;
  return rule.namespace === namespace ? `Role \`${DEPLOYER_ROLE}\` in \`${namespace}\`` : `Role \`castle-deployer:${namespace}\` in \`${rule.namespace}\``;
}

/**
 * The deployer's rules as a Markdown table for cli/README.md: those of `production` (the
 * environment with the most kinds) in namespace `castle`. A test keeps it current.
 */
export function deployerRulesTable(): string {
  const namespace = 'castle';
  const rules = deployerRules({ namespace, kinds: castleKinds(render({ env: 'production', version: '0.0.0' })) });
  const rows = rules.map((r) => {
    const what = r.nonResourceURLs ? `— | ${code(r.nonResourceURLs)}` : `${code((r.apiGroups ?? []).map((g) => g || '""'))} | ${code(r.resources ?? [])}`;
    return `| ${grantedBy(r, namespace)} | ${what} | ${r.resourceNames ? code(r.resourceNames) : 'any'} | ${r.verbs.join(', ')} | ${r.commands.join(', ')} | ${r.why} |`;
  });
  return ['| Granted by | API group | Resources | Names | Verbs | Commands | Why |', '|---|---|---|---|---|---|---|', ...rows].join('\n');
}

const start = '<!-- deployer-rules:start -->';
const end = '<!-- deployer-rules:end -->';

/** cli/README.md with its deployer-rules section replaced by the current table. */
export function withDeployerRulesTable(readme: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`cli/README.md has no ${start} … ${end} section`);
  return `${readme.slice(0, from + start.length)}\n${deployerRulesTable()}\n${readme.slice(to)}`;
}
