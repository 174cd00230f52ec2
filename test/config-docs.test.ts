import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTING_DOCS, settingDefaults } from '../src/config.js';
import { CONFIGURATION_DOC, configurationMarkdown } from '../src/cli/config-docs.js';
import { ROOT } from './helpers.js';

describe('configuration docs', () => {
  it('docs/configuration.md is what `npm run docs:config` writes from the code now', () => {
    expect(readFileSync(`${ROOT}${CONFIGURATION_DOC}`, 'utf8'), 'docs/configuration.md is out of date: run npm run docs:config').toBe(configurationMarkdown());
  });

  it('.env.example names every setting, and only those, with its default where it has one', () => {
    // The part booktape reads: the compose section at the end names compose's own secrets.
    const example = readFileSync(`${ROOT}.env.example`, 'utf8').split('# docker compose reads this file too')[0];
    // `NAME=value`, or commented out as `# NAME=value`.
    const named = new Map([...example.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[2], { commented: m[1] !== undefined, value: m[3].trim() }]));
    const settings = Object.keys(SETTING_DOCS);
    expect([...named.keys()].sort()).toEqual([...settings].sort());
    const defaults = settingDefaults();
    for (const [name, { commented, value }] of named) {
      if (!commented) expect(value, `${name} in .env.example`).toBe(defaults[name] ?? '');
    }
  });
});
