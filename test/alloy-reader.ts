// Reads an Alloy configuration back into data, for tests that check what a rendered configuration does
// (which rules a component applies, what it forwards to) rather than how its text looks. It knows the part
// of the Alloy syntax the platform writes: components, blocks, attributes, strings, numbers, booleans,
// lists, objects, references, function calls and `+`; anything else is a parse error, so a test fails
// rather than reading a configuration wrongly.

export type Expr =
  | string | number | boolean | Expr[] | { readonly [k: string]: Expr }
  | { readonly ref: string } | { readonly call: string; readonly args: Expr[] } | { readonly concat: Expr[] };

export interface Block {
  readonly name: string;
  readonly label?: string;
  readonly attributes: Record<string, Expr>;
  readonly blocks: Block[];
}

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string; value?: string | number };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const rest = src.slice(i);
    const ws = /^(\s+|\/\/[^\n]*)/.exec(rest);
    if (ws) { i += ws[0].length; continue; }
    const str = /^"(?:[^"\\\n]|\\.)*"/.exec(rest);
    if (str) { out.push({ kind: 'string', text: str[0], value: JSON.parse(str[0]) }); i += str[0].length; continue; }
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num) { out.push({ kind: 'number', text: num[0], value: Number(num[0]) }); i += num[0].length; continue; }
    const id = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(rest);
    if (id) { out.push({ kind: 'ident', text: id[0] }); i += id[0].length; continue; }
    if ('{}[]()=,+'.includes(rest[0])) { out.push({ kind: 'punct', text: rest[0] }); i += 1; continue; }
    throw new Error(`alloy config: unexpected "${rest.slice(0, 20)}" at offset ${i}`);
  }
  return out;
}

/** The components of a configuration, in order. */
export function readAlloyConfig(src: string): Block[] {
  const tokens = tokenize(src);
  let p = 0;
  const peek = () => tokens[p];
  const next = () => tokens[p++] ?? (() => { throw new Error('alloy config: unexpected end'); })();
  const expect = (text: string) => {
    const t = next();
    if (t.text !== text) throw new Error(`alloy config: expected "${text}", found "${t.text}"`);
  };

  function body(): { attributes: Record<string, Expr>; blocks: Block[] } {
    const attributes: Record<string, Expr> = {};
    const blocks: Block[] = [];
    while (peek() && peek().text !== '}') {
      const name = next();
      if (name.kind !== 'ident') throw new Error(`alloy config: expected a name, found "${name.text}"`);
      if (peek()?.text === '=') {
        next();
        if (name.text in attributes) throw new Error(`alloy config: attribute ${name.text} set twice`);
        attributes[name.text] = expression();
      } else {
        let label: string | undefined;
        if (peek()?.kind === 'string') label = next().value as string;
        expect('{');
        const inner = body();
        expect('}');
        blocks.push({ name: name.text, label, ...inner });
      }
    }
    return { attributes, blocks };
  }

  function expression(): Expr {
    const parts = [primary()];
    while (peek()?.text === '+') { next(); parts.push(primary()); }
    return parts.length === 1 ? parts[0] : { concat: parts };
  }

  function primary(): Expr {
    const t = next();
    if (t.kind === 'string' || t.kind === 'number') return t.value!;
    if (t.text === '[') {
      const items: Expr[] = [];
      while (peek().text !== ']') { items.push(expression()); if (peek().text === ',') next(); }
      next();
      return items;
    }
    if (t.text === '{') {
      const obj: Record<string, Expr> = {};
      while (peek().text !== '}') {
        const k = next();
        expect('=');
        obj[k.kind === 'string' ? (k.value as string) : k.text] = expression();
        if (peek().text === ',') next();
      }
      next();
      return obj;
    }
    if (t.kind === 'ident') {
      if (t.text === 'true' || t.text === 'false') return t.text === 'true';
      if (peek()?.text === '(') {
        next();
        const args: Expr[] = [];
        while (peek().text !== ')') { args.push(expression()); if (peek().text === ',') next(); }
        next();
        return { call: t.text, args };
      }
      return { ref: t.text };
    }
    throw new Error(`alloy config: unexpected "${t.text}"`);
  }

  const { attributes, blocks } = body();
  if (p !== tokens.length) throw new Error(`alloy config: unexpected "${tokens[p].text}"`);
  if (Object.keys(attributes).length > 0) throw new Error(`alloy config: top-level attributes ${Object.keys(attributes).join(', ')}`);
  return blocks;
}
