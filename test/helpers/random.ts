/** Small seeded PRNG (mulberry32): a failing fuzz run is reproduced from its printed seed. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  return { next, int, pick };
}

/** The seed of a fuzz run: `COYOTES_FUZZ_SEED` to replay one, else a fresh one (print it on failure). */
export function fuzzSeed(): number {
  return Number(process.env.COYOTES_FUZZ_SEED ?? Date.now() % 1_000_000);
}
