/** How error messages show names: escaped so that what looks alike reads apart, and with a near miss named. */

/**
 * A name as messages show it: in double quotes, with every character outside printable ASCII escaped
 * (`"team\u200b-a"`, a Cyrillic `"\u0441i"` that looks like `ci`), so that what looks alike reads apart.
 */
export function quoted(name: string): string {
  return JSON.stringify(name).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Levenshtein distance (insert, delete, substitute one character), letters compared without regard to case. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      next.push(Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1)));
    }
    row = next;
  }
  return row[y.length];
}

/** At most this many edits away, a key is taken for a misspelling of an allowed one. */
export const NEAR_MISS_EDITS = 2;

/** An allowed name at least this long that begins the given one also makes a near miss. */
export const NEAR_MISS_PREFIX = 4;

/**
 * The allowed name `given` most likely misspells: the nearest within NEAR_MISS_EDITS edits, the first declared
 * on a tie; else the first of NEAR_MISS_PREFIX characters or more that begins the given one (`config` for
 * `configuration`); else undefined. Not the other way round: `password` on an ACR registry is no
 * misspelling of `passwordLifetimeDays`.
 */
export function nearMiss(given: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = NEAR_MISS_EDITS + 1;
  for (const name of allowed) {
    const d = editDistance(given, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  if (best !== undefined) return best;
  const g = given.toLowerCase();
  return allowed.find((name) => {
    const a = name.toLowerCase();
    return a.length >= NEAR_MISS_PREFIX && g.startsWith(a);
  });
}

/** `did you mean \`resourceGroup\`? ` for a near miss, or nothing. */
export function didYouMean(given: string, allowed: readonly string[]): string {
  const near = nearMiss(given, allowed);
  return near === undefined ? "" : `did you mean \`${near}\`? `;
}
