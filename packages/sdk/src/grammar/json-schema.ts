import { EdgeLMError } from '../errors.js';
import { integerRange } from './int-range.js';
import { exprToGbnf, parseRegex } from './regex.js';

/** A JSON Schema (draft 2020-12 subset; `true` accepts any value). */
export type JsonSchema = boolean | { [keyword: string]: unknown };
type SchemaObject = { [keyword: string]: unknown };

/** Grammar rules every JSON grammar may use. Whitespace is one optional space: models waste fewer tokens. */
const PRIMITIVES: Record<string, string> = {
  ws: '" "?',
  char: '[^"\\\\\\x7F\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4})',
  string: '"\\"" char* "\\""',
  'int-digits': '[0-9] | [1-9] [0-9]{1,15}',
  integer: '"-"? int-digits',
  fraction: '"." [0-9]{1,15}',
  exponent: '[eE] [-+]? [0-9]{1,3}',
  number: '"-"? int-digits fraction? exponent?',
  unsigned: 'int-digits fraction? exponent?',
  boolean: '"true" | "false"',
  null: '"null"',
  value: 'object | array | string | number | boolean | null',
  object: '"{" ws (string ws ":" ws value (ws "," ws string ws ":" ws value)*)? ws "}"',
  array: '"[" ws (value (ws "," ws value)*)? ws "]"',
};
const DEPENDS: Record<string, string[]> = {
  string: ['char'],
  integer: ['int-digits'],
  number: ['int-digits', 'fraction', 'exponent'],
  unsigned: ['int-digits', 'fraction', 'exponent'],
  value: ['object', 'array', 'string', 'number', 'boolean', 'null', 'ws'],
  object: ['string', 'value', 'ws'],
  array: ['value', 'ws'],
};

const FORMATS: Record<string, string> = {
  date: '[0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | "1" [0-9] | "2" [0-8])',
  time: '([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,3})? "Z"',
  uuid: '[0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12}',
  email: '[a-z0-9_+-]{1,16} ("." [a-z0-9_+-]{1,16})? "@" [a-z0-9]{1,16} "." [a-z]{2,6}',
  uri: '"https://" [a-z0-9]{1,16} "." [a-z]{2,6} ("/" [a-zA-Z0-9_-]{0,16})?',
  ipv4: '([0-9] | [1-9] [0-9] | "1" [0-9]{2} | "2" [0-4] [0-9] | "25" [0-5]) ("." ([0-9] | [1-9] [0-9] | "1" [0-9]{2} | "2" [0-4] [0-9] | "25" [0-5])){3}',
};

/**
 * Converts a JSON Schema to a GBNF grammar whose every match is a JSON document the schema
 * accepts (llama.cpp's json-schema-to-grammar, reduced to what apps use): objects with
 * `properties`/`required` (required first, then optional ones, in declared order), `enum`,
 * `const`, arrays with `items`/`prefixItems`/`minItems`/`maxItems`, strings with `minLength`/
 * `maxLength`/`pattern`/`format` (date, time, date-time, uuid, email, uri, ipv4), integers
 * with bounds, numbers, `$ref` into `$defs`/`definitions`, `anyOf`/`oneOf`, `allOf` of objects,
 * type unions, `nullable`. Unknown keywords that only narrow (like `multipleOf`) are ignored.
 *
 * @example
 * ```ts
 * const gbnf = jsonSchemaToGbnf({ type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] });
 * // `rootName` names the top rule, so the grammar can sit inside a larger one.
 * ```
 */
export function jsonSchemaToGbnf(schema: JsonSchema, rootName = 'root'): string {
  const c = new SchemaConverter(schema);
  const root = c.visit(schema, rootName);
  if (root !== rootName) c.rules.set(rootName, root);
  return [...c.rules].map(([name, body]) => `${name} ::= ${body}`).join('\n');
}

class SchemaConverter {
  readonly rules = new Map<string, string>();
  private readonly refRules = new Map<string, string>();

  constructor(private readonly root: JsonSchema) {}

  private use(name: string): string {
    if (!this.rules.has(name) && name in PRIMITIVES) {
      this.rules.set(name, PRIMITIVES[name]!);
      for (const d of DEPENDS[name] ?? []) this.use(d);
    }
    return name;
  }

  /** A new rule named after its place in the schema; returns its name. */
  private rule(hint: string, body: string): string {
    let name = hint.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'r';
    if (this.rules.has(name) || name in PRIMITIVES) {
      let i = 1;
      while (this.rules.has(`${name}-${i}`)) i++;
      name = `${name}-${i}`;
    }
    this.rules.set(name, body);
    return name;
  }

  /** A GBNF expression matching exactly the JSON texts `schema` accepts. */
  visit(schema: JsonSchema, hint: string): string {
    if (schema === true) return this.use('value');
    if (schema === false) throw bad('a schema of `false` accepts nothing');
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
      throw bad('a schema must be an object');
    const s = schema as SchemaObject;
    if (s.nullable === true) {
      const { nullable: _n, ...rest } = s;
      return `(${this.visit(rest, hint)} | ${this.use('null')})`;
    }
    if (typeof s.$ref === 'string') return this.ref(s.$ref);
    if ('const' in s) return literal(JSON.stringify(s.const));
    if (Array.isArray(s.enum)) {
      if (s.enum.length === 0) throw bad('`enum` is empty');
      return `(${s.enum.map((v) => literal(JSON.stringify(v))).join(' | ')})`;
    }
    const union = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
    if (Array.isArray(union)) return `(${union.map((u, i) => this.visit(u, `${hint}-${i}`)).join(' | ')})`;
    if (Array.isArray(s.allOf))
      return this.visit(
        mergeAll(s.allOf as JsonSchema[], (r) => this.resolve(r)),
        hint,
      );
    if (Array.isArray(s.type))
      return `(${s.type.map((t, i) => this.visit({ ...s, type: t }, `${hint}-${i}`)).join(' | ')})`;
    const type = s.type ?? (s.properties ? 'object' : s.items || s.prefixItems ? 'array' : undefined);
    switch (type) {
      case undefined:
        return this.use('value');
      case 'object':
        return this.rule(hint, this.object(s, hint));
      case 'array':
        return this.rule(hint, this.array(s, hint));
      case 'string':
        return this.string(s, hint);
      case 'integer':
        return this.integer(s, hint);
      case 'number':
        return this.number(s, hint);
      case 'boolean':
        return this.use('boolean');
      case 'null':
        return this.use('null');
      default:
        throw bad(`unknown type ${JSON.stringify(type)}`);
    }
  }

  private resolve(ref: string): JsonSchema {
    if (ref === '#') return this.root;
    const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
    if (!m) throw bad(`only local $refs (#/$defs/…) are supported, not ${ref}`);
    const defs = (this.root as SchemaObject)[m[1]!] as Record<string, JsonSchema> | undefined;
    const target = defs?.[decodeURIComponent(m[2]!).replace(/~1/g, '/').replace(/~0/g, '~')];
    if (target === undefined) throw bad(`$ref ${ref} points nowhere`);
    return target;
  }

  /** A rule per referenced definition, named before it is visited so recursive schemas terminate. */
  private ref(ref: string): string {
    const known = this.refRules.get(ref);
    if (known) return known;
    const target = this.resolve(ref);
    const name = this.rule(`def-${ref.split('/').pop()}`, '""');
    this.refRules.set(ref, name);
    this.rules.set(name, this.visit(target, `${name}-body`));
    return name;
  }

  private object(s: SchemaObject, hint: string): string {
    const props = (s.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
    const names = Object.keys(props);
    if (names.length === 0) {
      if (s.additionalProperties === false) return '"{" ws "}"';
      const valueRule =
        typeof s.additionalProperties === 'object'
          ? this.visit(s.additionalProperties as JsonSchema, `${hint}-value`)
          : this.use('value');
      const kv = `${this.use('string')} ws ":" ws ${valueRule}`;
      return `"{" ws (${kv} (ws "," ws ${kv})*)? ws "}"`;
    }
    for (const r of required) if (!(r in props)) throw bad(`required property "${r}" has no schema`);
    this.use('ws');
    const kv = (k: string) =>
      `${literal(JSON.stringify(k))} ws ":" ws ${this.visit(props[k]!, `${hint}-${k}`)}`;
    const req = names.filter((k) => required.has(k)).map(kv);
    const opt = names.filter((k) => !required.has(k)).map(kv);
    const comma = (x: string) => `(ws "," ws ${x})?`;
    let body: string;
    if (req.length > 0) body = [req.join(' ws "," ws '), ...opt.map(comma)].join(' ');
    else {
      // No required member: whichever optional one comes first carries no comma.
      body = `(${opt.map((first, i) => [first, ...opt.slice(i + 1).map(comma)].join(' ')).join(' | ')})?`;
    }
    return `"{" ws ${body} ws "}"`;
  }

  private array(s: SchemaObject, hint: string): string {
    this.use('ws');
    const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as JsonSchema[]) : [];
    if (prefix.length > 0) {
      const items = prefix.map((p, i) => this.visit(p, `${hint}-${i}`));
      return `"[" ws ${items.join(' ws "," ws ')} ws "]"`;
    }
    const item = this.visit((s.items as JsonSchema | undefined) ?? true, `${hint}-item`);
    const min = typeof s.minItems === 'number' ? s.minItems : 0;
    const max = typeof s.maxItems === 'number' ? s.maxItems : Infinity;
    if (max < min) throw bad('maxItems < minItems');
    if (max === 0) return '"[" ws "]"';
    const more = `(ws "," ws ${item}){${Math.max(0, min - 1)},${max === Infinity ? '' : max - 1}}`;
    const some = `${item} ${more}`;
    return `"[" ws ${min === 0 ? `(${some})?` : some} ws "]"`;
  }

  private string(s: SchemaObject, hint: string): string {
    if (typeof s.format === 'string' && s.format in FORMATS)
      return this.rule(`${hint}-${s.format}`, `"\\"" ${FORMATS[s.format]} "\\""`);
    if (s.format === 'date-time')
      return this.rule(`${hint}-date-time`, `"\\"" ${FORMATS.date} "T" ${FORMATS.time} "\\""`);
    if (typeof s.pattern === 'string')
      return this.rule(`${hint}-pattern`, `"\\"" ${exprToGbnf(parseRegex(s.pattern))} "\\""`);
    const min = typeof s.minLength === 'number' ? s.minLength : 0;
    const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
    if (min === 0 && max === Infinity) return this.use('string');
    this.use('char');
    return this.rule(hint, `"\\"" char{${min},${max === Infinity ? '' : max}} "\\""`);
  }

  private integer(s: SchemaObject, hint: string): string {
    const lo = bound(s.minimum, s.exclusiveMinimum, 1);
    const hi = bound(s.maximum, s.exclusiveMaximum, -1);
    if (lo === undefined && hi === undefined) return this.use('integer');
    return this.rule(hint, integerRange(lo, hi));
  }

  private number(s: SchemaObject, hint: string): string {
    const lo = typeof s.minimum === 'number' ? s.minimum : undefined;
    const hi = typeof s.maximum === 'number' ? s.maximum : undefined;
    if (
      lo !== undefined &&
      hi !== undefined &&
      Number.isInteger(lo) &&
      Number.isInteger(hi) &&
      lo >= 0 &&
      lo < hi
    ) {
      // An integer part in [lo, hi-1] with any fraction, or hi itself.
      this.use('fraction');
      return this.rule(hint, `(${integerRange(lo, hi - 1)}) fraction? | ${literal(String(hi))}`);
    }
    if (lo !== undefined && lo >= 0) return this.use('unsigned');
    return this.use('number');
  }
}

/** The integer bound a (possibly exclusive) minimum/maximum sets; `dir` 1 for lower bounds. */
function bound(inclusive: unknown, exclusive: unknown, dir: 1 | -1): number | undefined {
  const round = dir === 1 ? Math.ceil : Math.floor;
  const a = typeof inclusive === 'number' ? round(inclusive) : undefined;
  const e =
    typeof exclusive === 'number'
      ? Number.isInteger(exclusive)
        ? exclusive + dir
        : round(exclusive)
      : undefined;
  if (a === undefined) return e;
  if (e === undefined) return a;
  return dir === 1 ? Math.max(a, e) : Math.min(a, e);
}

/** `allOf` of object schemas: properties and required lists merged. */
function mergeAll(parts: JsonSchema[], resolve: (ref: string) => JsonSchema): JsonSchema {
  const out: SchemaObject = { type: 'object', properties: {}, required: [] };
  for (let p of parts) {
    if (typeof p === 'object' && typeof p.$ref === 'string') p = resolve(p.$ref);
    if (p === true) continue;
    if (p === false || (p.type !== undefined && p.type !== 'object'))
      throw bad('`allOf` is supported for object schemas only');
    Object.assign(out.properties as object, p.properties ?? {});
    (out.required as string[]).push(...((p.required as string[] | undefined) ?? []));
  }
  return out;
}

/** A GBNF string literal. */
export function literal(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

function bad(why: string): EdgeLMError {
  return new EdgeLMError('INVALID_ARGUMENT', `JSON Schema: ${why}`);
}
