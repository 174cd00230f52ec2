import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTING_DOCS, settingDefaults } from '../config.js';

/** Where the generated table lives, from the package root. */
export const CONFIGURATION_DOC = 'docs/configuration.md';

const cell = (text: string) => text.replace(/\|/g, '\\|');

/** docs/configuration.md: every setting, grouped, with its default and meaning, in the schema's order. */
export function configurationMarkdown(): string {
  const defaults = settingDefaults();
  const groups = new Map<string, string[]>();
  for (const [name, [group, meaning]] of Object.entries(SETTING_DOCS)) {
    const value = defaults[name];
    const shown = value === undefined ? 'unset' : value === '' ? 'empty' : `\`${value}\``;
    const rows = groups.get(group) ?? [];
    rows.push(`| \`${name}\` | ${cell(shown)} | ${cell(meaning)} |`);
    groups.set(group, rows);
  }
  const sections = [...groups].map(([group, rows]) => [`## ${group}`, '', '| setting | default | meaning |', '| --- | --- | --- |', ...rows].join('\n'));
  return [
    '# Configuration',
    '',
    'Generated from `src/config.ts` by `npm run docs:config`; a test fails when this file is out of date.',
    '',
    'Every setting comes from the environment, or from a `.env` file in the working directory (the environment wins).',
    'An empty value counts as unset. An invalid value stops the program with `BAD_CONFIG` naming the setting.',
    '`.env.example` lists them all with their defaults.',
    '',
    sections.join('\n\n'),
    '',
  ].join('\n');
}

// `npm run docs:config`: write the file.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL(`../../../${CONFIGURATION_DOC}`, import.meta.url), configurationMarkdown());
}
