import { describe, expect, it } from 'vitest';
import { readSettings, SettingsError } from '../../bench/lib/settings.js';

const withWrk = () => true;

describe("the bench's settings", () => {
  it('defaults to 6 s measurements after a 2 s warm-up, 5 rounds, 100 connections and a 15 s overload', () => {
    expect(readSettings({}, withWrk)).toMatchObject({ durationS: 6, warmupS: 2, rounds: 5, connections: 100, overloadS: 15 });
  });

  it('reports every bad variable at once, each by name with what it must be', () => {
    const read = () => readSettings({ BENCH_DURATION_S: 'six', BENCH_ROUNDS: '0', BENCH_PIN: 'maybe' }, withWrk);
    expect(read).toThrow(SettingsError);
    expect(read).toThrow(/BENCH_DURATION_S: must be a number from 1 to 600, got "six"\n.*BENCH_ROUNDS: must be a number from 1 to 20, got "0"\n.*BENCH_PIN: must be auto, on or off/s);
  });

  it('refuses to run without wrk and says how to install it', () => {
    expect(() => readSettings({}, () => false)).toThrow(/wrk: not installed.*apt-get install wrk/);
  });
});
