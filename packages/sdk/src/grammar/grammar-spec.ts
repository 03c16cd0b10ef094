import { EdgeLMError } from '../errors.js';
import { parseGbnf } from './gbnf.js';
import { type CompiledGrammar, compileRules } from './ir.js';
import { type JsonSchema, jsonSchemaToGbnf } from './json-schema.js';
import { exprToGbnf, parseRegex } from './regex.js';

/**
 * What a constrained generation must match.
 *
 * @example
 * ```ts
 * engine.generate(prompt, { grammar: { type: 'regex', pattern: '\\d{3}-\\d{4}' } });
 * engine.generate(prompt, { grammar: 'root ::= "yes" | "no"' }); // GBNF
 * engine.generate(prompt, { jsonSchema: { type: 'object', properties: { n: { type: 'integer' } } } });
 * ```
 */
export type GrammarSpec =
  | { type: 'gbnf'; grammar: string; root?: string }
  | { type: 'regex'; pattern: string }
  | { type: 'json_schema'; schema: JsonSchema }
  /** Any JSON object (OpenAI's `json_object`). */
  | { type: 'json' };

/** Normalises the `grammar` / `jsonSchema` generate options into one spec, or null. */
export function grammarSpecOf(options: {
  grammar?: string | GrammarSpec;
  jsonSchema?: JsonSchema;
}): GrammarSpec | null {
  if (options.grammar !== undefined && options.jsonSchema !== undefined)
    throw new EdgeLMError('INVALID_ARGUMENT', 'Pass either `grammar` or `jsonSchema`, not both');
  if (options.jsonSchema !== undefined) return { type: 'json_schema', schema: options.jsonSchema };
  if (typeof options.grammar === 'string') return { type: 'gbnf', grammar: options.grammar };
  return options.grammar ?? null;
}

/** The GBNF text of a spec: what the matcher runs, and what a user can read to see why. */
export function specToGbnf(spec: GrammarSpec): { gbnf: string; root: string } {
  switch (spec.type) {
    case 'gbnf':
      return { gbnf: spec.grammar, root: spec.root ?? 'root' };
    case 'regex':
      return { gbnf: `root ::= ${exprToGbnf(parseRegex(spec.pattern))}`, root: 'root' };
    case 'json_schema':
      return { gbnf: jsonSchemaToGbnf(spec.schema), root: 'root' };
    case 'json':
      return { gbnf: jsonSchemaToGbnf({ type: 'object' }), root: 'root' };
    default:
      throw new EdgeLMError(
        'INVALID_ARGUMENT',
        `Unknown grammar type ${JSON.stringify((spec as { type: unknown }).type)}`,
      );
  }
}

/** Parses and flattens a spec. */
export function compileSpec(spec: GrammarSpec): CompiledGrammar {
  const { gbnf, root } = specToGbnf(spec);
  return compileRules(parseGbnf(gbnf), root);
}
