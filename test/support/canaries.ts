/** Secrecy checks shared by the unit tests and the e2e scenarios. */

/**
 * Where `canary` shows in `text`: as it is, JSON-escaped, or inside base64 (a Secret's data, an `auth` field),
 * decoded up to two levels deep. Empty when it is nowhere.
 */
export function canaryFindings(text: string, canary: string): string[] {
  const forms = [canary, JSON.stringify(canary).slice(1, -1)];
  const found: string[] = [];
  const search = (t: string, depth: number, where: string): void => {
    for (const form of forms) if (t.includes(form)) found.push(where);
    if (depth === 2) return;
    for (const match of t.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? []) {
      search(Buffer.from(match, "base64").toString("utf8"), depth + 1, `${where} (base64)`);
    }
  };
  search(text, 0, "text");
  return found;
}
