import { describe, expect, it } from 'vitest';
import {
  DatabentoRequestError, databentoRequest, databentoSource, dayRequest, isDatabentoSource, parseDatabentoSource, utcDays,
} from '../../src/databento-request.js';

describe('a Databento request and its one text form', () => {
  it('normalizes: dataset upper-cased, symbols sorted once each, times in one ISO form whatever was given', () => {
    const a = databentoRequest({ dataset: 'glbx.mdp3', symbols: ['NQ.FUT', 'ES.FUT', 'NQ.FUT'], stype_in: 'parent', start: '2024-06-03', end: '2024-06-04T00:00:00+00:00' });
    const b = databentoRequest({ dataset: 'GLBX.MDP3', symbols: ['ES.FUT', 'NQ.FUT'], stype_in: 'parent', schema: 'mbo', start: '1717372800000000000', end: '2024-06-04' });
    expect(a).toEqual(b);
    expect(a).toEqual({ dataset: 'GLBX.MDP3', schema: 'mbo', stype_in: 'parent', symbols: ['ES.FUT', 'NQ.FUT'], start: '2024-06-03T00:00:00Z', end: '2024-06-04T00:00:00Z' });
    expect(databentoSource(a)).toBe('databento:GLBX.MDP3/mbo?stype_in=parent&symbols=ES.FUT,NQ.FUT&start=2024-06-03T00:00:00Z&end=2024-06-04T00:00:00Z');
    expect(parseDatabentoSource(databentoSource(a))).toEqual(a);
    const odd = databentoRequest({ dataset: 'XNAS.ITCH', symbols: ['BRK B', 'A+B&C'], start: '2024-06-03', end: '2024-06-04' });
    expect(parseDatabentoSource(databentoSource(odd))).toEqual(odd);
    expect(isDatabentoSource(databentoSource(a))).toBe(true);
    expect(isDatabentoSource('https://x/a.dbn')).toBe(false);
    const fine = databentoRequest({ dataset: 'XNAS.ITCH', symbols: ['AAPL'], start: '2024-06-03T13:30:00.5Z', end: '2024-06-03T13:31:00Z' });
    expect(fine).toMatchObject({ stype_in: 'raw_symbol', start: '2024-06-03T13:30:00.500000000Z' });
  });

  it('refuses what is no request, naming the field', () => {
    const bad: Array<[unknown, string]> = [
      [{ dataset: 'GLBX.MDP3', symbols: [], start: '2024-06-03', end: '2024-06-04' }, 'symbols'],
      [{ dataset: 'GLBX.MDP3', symbols: ['A,B'], start: '2024-06-03', end: '2024-06-04' }, 'symbols.0'],
      [{ dataset: 'GLBX', symbols: ['ES'], start: '2024-06-03', end: '2024-06-04' }, 'dataset'],
      [{ dataset: 'GLBX.MDP3', symbols: ['ES'], schema: 'trades', start: '2024-06-03', end: '2024-06-04' }, 'schema'],
      [{ dataset: 'GLBX.MDP3', symbols: ['ES'], stype_in: 'isin', start: '2024-06-03', end: '2024-06-04' }, 'stype_in'],
      [{ dataset: 'GLBX.MDP3', symbols: ['ES'], start: '2024-06-03T00:00:00', end: '2024-06-04' }, 'start'],
      [{ dataset: 'GLBX.MDP3', symbols: ['ES'], start: '2024-06-04', end: '2024-06-04' }, 'end'],
      [{ dataset: 'GLBX.MDP3', symbols: ['ES'], start: '2024-06-03', end: '2024-06-04', key: 'x' }, ''],
    ];
    for (const [input, field] of bad) {
      const err = (() => { try { databentoRequest(input); } catch (e) { return e; } return null; })();
      expect(err, JSON.stringify(input)).toBeInstanceOf(DatabentoRequestError);
      expect((err as DatabentoRequestError).code).toBe('BAD_DATABENTO_REQUEST');
      expect((err as DatabentoRequestError).field ?? '').toBe(field);
    }
    expect(() => parseDatabentoSource('databento:GLBX.MDP3')).toThrow(DatabentoRequestError);
  });

  it('days: UTC calendar days, both ends included; a day\'s request is [its midnight, the next)', () => {
    expect(utcDays('2024-02-27', '2024-03-01')).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01']);
    expect(utcDays('2024-03-01', '2024-02-27')).toEqual([]);
    expect(() => utcDays('2024-03-01T00:00:00Z', '2024-03-02')).toThrow(RangeError);
    expect(dayRequest({ dataset: 'GLBX.MDP3', symbols: ['ES.FUT'], stype_in: 'parent' }, '2024-12-31')).toMatchObject({ start: '2024-12-31T00:00:00Z', end: '2025-01-01T00:00:00Z' });
  });
});
