/**
 * Stands in for Azure's ABAC condition evaluation, for the subset that repository conditions use (Microsoft Learn,
 * "Azure role assignment condition format and syntax" and `container-registry-rbac-abac-repository-permissions`):
 * `OR`, `AND`, `!`, parentheses, `ActionMatches{'<action>'}` (exact action match; wildcards not modelled), and
 * `@Request[...repositories:name]` with StringEquals, StringEqualsIgnoreCase, StringStartsWith,
 * StringStartsWithIgnoreCase. Operator keywords are case-insensitive, as Azure's are. Not modelled: other
 * attribute sources (@Resource, @Principal), list operators (ForAnyOfAnyValues...), `SubOperation`, and the
 * precedence of AND over OR beyond what explicit parentheses say (the conditions here always parenthesise).
 */
export interface AbacRequest {
  readonly action: string;
  readonly repository: string;
}

type Token = { kind: "word" | "string" | "punct" | "attr" | "action"; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "(" || c === ")" || c === "!") {
      tokens.push({ kind: "punct", text: c });
      i++;
    } else if (c === "'") {
      const end = source.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated string at ${i}`);
      tokens.push({ kind: "string", text: source.slice(i + 1, end) });
      i = end + 1;
    } else if (c === "@") {
      const end = source.indexOf("]", i);
      if (end < 0) throw new Error(`unterminated attribute at ${i}`);
      tokens.push({ kind: "attr", text: source.slice(i, end + 1) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (j < source.length && /[A-Za-z]/.test(source[j])) j++;
      const word = source.slice(i, j);
      if (word.toLowerCase() === "actionmatches") {
        const m = /^\{'([^']*)'\}/.exec(source.slice(j));
        if (!m) throw new Error(`ActionMatches without {'...'} at ${j}`);
        tokens.push({ kind: "action", text: m[1] });
        j += m[0].length;
      } else {
        tokens.push({ kind: "word", text: word });
      }
      i = j;
    } else {
      throw new Error(`unexpected character ${JSON.stringify(c)} at ${i}`);
    }
  }
  return tokens;
}

const NAME_ATTRIBUTE = "@request[microsoft.containerregistry/registries/repositories:name]";

/** Evaluates the condition for one request; throws on anything outside the modelled subset. */
export function evaluateCondition(condition: string, request: AbacRequest): boolean {
  const tokens = tokenize(condition);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t?.kind === "word" && t.text.toLowerCase() === w;

  function primary(): boolean {
    const t = tokens[pos++];
    if (!t) throw new Error("unexpected end of condition");
    if (t.kind === "punct" && t.text === "!") return !primary();
    if (t.kind === "punct" && t.text === "(") {
      const value = or();
      const close = tokens[pos++];
      if (close?.text !== ")") throw new Error("missing )");
      return value;
    }
    if (t.kind === "action") return request.action === t.text;
    if (t.kind === "attr") {
      if (t.text.toLowerCase() !== NAME_ATTRIBUTE) throw new Error(`attribute not modelled: ${t.text}`);
      const op = tokens[pos++];
      const operand = tokens[pos++];
      if (op?.kind !== "word" || operand?.kind !== "string") throw new Error("expected operator and string");
      const name = request.repository;
      switch (op.text.toLowerCase()) {
        case "stringequals":
          return name === operand.text;
        case "stringequalsignorecase":
          return name.toLowerCase() === operand.text.toLowerCase();
        case "stringstartswith":
          return name.startsWith(operand.text);
        case "stringstartswithignorecase":
          return name.toLowerCase().startsWith(operand.text.toLowerCase());
        default:
          throw new Error(`operator not modelled: ${op.text}`);
      }
    }
    throw new Error(`unexpected token ${t.text}`);
  }
  function and(): boolean {
    let value = primary();
    while (isWord(peek(), "and")) {
      pos++;
      const right = primary();
      value = value && right;
    }
    return value;
  }
  function or(): boolean {
    let value = and();
    while (isWord(peek(), "or")) {
      pos++;
      const right = and();
      value = value || right;
    }
    return value;
  }
  const result = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens from ${pos}`);
  return result;
}
