import type { JsonSchema } from '@edgelm/sdk';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { h } from '../lib/dom.js';

/** A schema as the structured mode starts with: small enough for a tiny model to fill quickly. */
export const SAMPLE_SCHEMA = JSON.stringify(
  {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 12 },
      age: { type: 'integer', minimum: 0, maximum: 120 },
      mood: { enum: ['happy', 'sad', 'curious'] },
    },
    required: ['name', 'age', 'mood'],
  },
  null,
  2,
);

export interface SchemaPanel {
  el: HTMLElement;
  /** The pasted schema, or null with the parse error shown when it is not JSON. */
  schema(): JsonSchema | null;
  show(visible: boolean): void;
}

/** The structured mode's schema editor: paste a JSON Schema, and every answer must validate. */
export function schemaPanel(initial: string, onChange: (text: string) => void): SchemaPanel {
  const error = h('div', { class: 'hint', 'data-testid': 'schema-error' });
  const area = h('textarea', {
    class: 'schema-input',
    rows: 12,
    spellcheck: false,
    'data-testid': 'schema-input',
  }) as HTMLTextAreaElement;
  area.value = initial;
  area.addEventListener('input', () => {
    onChange(area.value);
    parse();
  });
  const parse = (): JsonSchema | null => {
    try {
      const s = JSON.parse(area.value) as JsonSchema;
      error.textContent = 'Output is constrained to this schema, token by token.';
      return s;
    } catch (e) {
      error.textContent = `Not JSON: ${(e as Error).message}`;
      return null;
    }
  };
  parse();
  const el = h(
    'section',
    { class: 'card', 'data-testid': 'schema-panel' },
    h('header', null, h('h2', null, 'JSON Schema')),
    h('div', { class: 'body' }, area, error),
  );
  return {
    el,
    schema: parse,
    show: (v) => {
      el.hidden = !v;
    },
  };
}

const ajv = new Ajv2020({ strict: false, validateFormats: false });

/** A chip saying whether `text` parses and validates against `schema`. */
export function validityBadge(text: string, schema: JsonSchema): HTMLElement {
  let verdict: [string, string];
  try {
    const value: unknown = JSON.parse(text);
    const validate = ajv.compile(schema as object);
    verdict = validate(value)
      ? ['local', 'Valid JSON ✓ matches the schema']
      : ['error', `Invalid: ${ajv.errorsText(validate.errors)}`];
  } catch (e) {
    verdict = ['error', `Not JSON: ${(e as Error).message}`];
  }
  return h('span', { class: `chip ${verdict[0]}`, 'data-testid': 'validity-badge' }, verdict[1]);
}
