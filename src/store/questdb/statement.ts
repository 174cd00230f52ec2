import { nsText } from './rows.js';

/** SQL with $1, $2, ... and their values as text. */
export interface Statement {
  sql: string;
  params: string[];
}

/**
 * A WHERE clause whose values are parameters, never spliced into the text:
 * a lookup or page statement then reads the same for every instant and
 * symbol, so QuestDB compiles it (and JIT-compiles its filter) once and
 * finds it in its cache after. Bound timestamps still give interval scans
 * of the designated timestamp (test/store/questdb.test.ts, plans).
 */
export class Conditions {
  private readonly parts: string[] = [];
  readonly params: string[] = [];

  private param(value: string): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  compare(column: string, op: '=' | '<=' | '>=' | '<' | '>', value: string | number): this {
    this.parts.push(`${column} ${op} ${this.param(String(value))}`);
    return this;
  }

  /** A TIMESTAMP_NS column against an instant, exact to the ns. */
  at(column: string, op: '=' | '<=' | '>=' | '<' | '>', ns: bigint): this {
    return this.compare(column, op, nsText(ns));
  }

  oneOf(column: string, values: string[]): this {
    if (values.length > 0) this.parts.push(`${column} IN (${values.map((v) => this.param(v)).join(', ')})`);
    return this;
  }

  /** " WHERE ..." or nothing. */
  toString(): string {
    return this.parts.length > 0 ? ` WHERE ${this.parts.join(' AND ')}` : '';
  }
}
