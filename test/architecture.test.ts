import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/**
 * The layers, read from the import graph of the sources (static imports,
 * re-exports and dynamic import() alike, types included): see docs/design.md.
 */

/** The one module that wires processes together, and so may import jobs/. */
const COMPOSITION_ROOT = 'src/cli/services.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

const SPECIFIER = /(?:^|[;\s])(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]|(?:^|[;\s])import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** Every relative import of `file`, as a path from the repository root ('src/store/port.ts'). */
export function importsOf(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('.')) continue;
    out.push(relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const files = [...sourceFiles('src'), ...sourceFiles('jobs')];
const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to })));

/** A file's layer: its folder under src/ (src/store/duckdb/x.ts -> src/store), jobs, or itself for a file at src/'s top. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'jobs') return 'jobs';
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : file;
}

const violations = (rule: (e: { from: string; to: string }) => boolean) => edges.filter(rule).map((e) => `${e.from} -> ${e.to}`);

describe('architecture: the import graph', () => {
  it('reads the imports it checks (the scanner is not blind)', () => {
    expect(importsOf('x/a.ts', "import { a } from './b.js';\nimport type { C } from '../c/d.js';\nexport * from './e.js';\nconst f = () => import('../g.js');\nimport './h.js';")).toEqual(
      ['x/b.ts', 'c/d.ts', 'x/e.ts', 'g.ts', 'x/h.ts'],
    );
    expect(edges.length).toBeGreaterThan(100);
    expect(edges).toContainEqual({ from: 'src/cli.ts', to: 'src/cli/services.ts' }); // a dynamic import
  });

  it('src/ never imports jobs/, but for the composition root', () => {
    expect(violations((e) => e.from.startsWith('src/') && e.from !== COMPOSITION_ROOT && e.to.startsWith('jobs/'))).toEqual([]);
  });

  it('src/stream never imports src/api', () => {
    expect(violations((e) => e.from.startsWith('src/stream/') && e.to.startsWith('src/api/'))).toEqual([]);
  });

  it('src/config.ts imports nothing above it: no folder of src/, no CLI', () => {
    expect(violations((e) => e.from === 'src/config.ts' && (folderOf(e.to) !== e.to || e.to === 'src/cli.ts'))).toEqual([]);
  });

  it('src/store never imports src/config.ts: stores take their own options', () => {
    expect(violations((e) => e.from.startsWith('src/store/') && e.to === 'src/config.ts')).toEqual([]);
  });

  it('no import cycle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const { from, to } of edges) {
      const a = folderOf(from);
      const b = folderOf(to);
      if (a !== b) graph.set(a, (graph.get(a) ?? new Set()).add(b));
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });


  it('each folder says in one line, atop its first file, what it is for', () => {
    // One file per folder opens with "// <folder>/: <purpose>"; it was the first by name when written.
    const folders = [...new Set(files.map((f) => dirname(f)))].filter((d) => d !== 'src');
    expect(folders.length).toBeGreaterThanOrEqual(10);
    const saying = (d: string) => files.filter((f) => dirname(f) === d && readFileSync(join(ROOT, f), 'utf8').startsWith(`// ${d}/: `));
    expect(folders.filter((d) => saying(d).length !== 1)).toEqual([]);
  });

});
