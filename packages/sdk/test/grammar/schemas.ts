import type { JsonSchema } from '../../src/grammar/json-schema.js';

/** Schemas of the kinds apps send: each case names what it exercises. */
export const SCHEMAS: { name: string; schema: JsonSchema }[] = [
  {
    name: 'object with required and optional members',
    schema: {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 8 },
        age: { type: 'integer' },
        nick: { type: 'string' },
      },
      required: ['name', 'age'],
    },
  },
  { name: 'string enum', schema: { enum: ['red', 'green', 'blue'] } },
  {
    name: 'array with minItems/maxItems',
    schema: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 99 }, minItems: 2, maxItems: 4 },
  },
  { name: 'uuid format', schema: { type: 'string', format: 'uuid' } },
  {
    name: 'email and date-time',
    schema: {
      type: 'array',
      prefixItems: [
        { type: 'string', format: 'email' },
        { type: 'string', format: 'date-time' },
      ],
    },
  },
  {
    name: 'numbers and integer ranges',
    schema: {
      type: 'object',
      properties: {
        t: { type: 'number' },
        p: { type: 'number', minimum: 0, maximum: 1 },
        n: { type: 'integer', minimum: -40, maximum: 125 },
        k: { type: 'integer', exclusiveMinimum: 7 },
      },
      required: ['t', 'p', 'n', 'k'],
    },
  },
  {
    name: 'nested $ref/$defs',
    schema: {
      $defs: {
        point: {
          type: 'object',
          properties: { x: { type: 'integer' }, y: { type: 'integer' } },
          required: ['x', 'y'],
        },
      },
      type: 'object',
      properties: { from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } },
      required: ['from', 'to'],
    },
  },
  {
    name: 'anyOf of shapes',
    schema: {
      anyOf: [
        {
          type: 'object',
          properties: { kind: { const: 'circle' }, r: { type: 'number' } },
          required: ['kind', 'r'],
        },
        {
          type: 'object',
          properties: { kind: { const: 'square' }, side: { type: 'integer' } },
          required: ['kind', 'side'],
        },
      ],
    },
  },
  {
    name: 'all-optional object, booleans and null',
    schema: {
      type: 'object',
      properties: {
        ok: { type: 'boolean' },
        note: { type: ['string', 'null'], maxLength: 5 },
        v: { type: 'null' },
      },
      additionalProperties: false,
    },
  },
  {
    name: 'pattern and length bounds',
    schema: {
      type: 'object',
      properties: {
        code: { type: 'string', pattern: '^[A-Z]{3}-\\d{2,4}$' },
        tag: { type: 'string', minLength: 2, maxLength: 4 },
        day: { type: 'string', format: 'date' },
      },
      required: ['code', 'tag'],
    },
  },
  {
    name: 'recursive tree through $ref',
    schema: {
      $defs: {
        node: {
          type: 'object',
          properties: {
            v: { type: 'integer' },
            kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 },
          },
          required: ['v'],
        },
      },
      $ref: '#/$defs/node',
    },
  },
  { name: 'free-form JSON object', schema: { type: 'object' } },
];

/** Regular expressions with strings they must accept (checked by RegExp too). */
export const REGEXES = [
  '[A-Z][a-z]{2,6} [0-9]{1,3}',
  '(yes|no|maybe)!?',
  '\\d{3}-\\d{4}',
  '(ab|cd)+x?',
  '[^a-z\\n]{1,5}\\.',
];

/** GBNF grammars with an equivalent RegExp that checks their output. */
export const GBNFS: { grammar: string; check: RegExp }[] = [
  {
    grammar: 'root ::= item ("," item){0,3}\nitem ::= [a-z]+ | num\nnum ::= [1-9] [0-9]*',
    check: /^([a-z]+|[1-9][0-9]*)(,([a-z]+|[1-9][0-9]*)){0,3}$/,
  },
  {
    grammar: 'root ::= "(" expr ")"\nexpr ::= term (("+" | "-") term)*\nterm ::= [0-9]{1,2}',
    check: /^\([0-9]{1,2}([+-][0-9]{1,2})*\)$/,
  },
  {
    grammar: '# a greeting\nroot ::= greeting " " name\ngreeting ::= "hello" | "hi"\nname ::= [A-Z] [a-z]*',
    check: /^(hello|hi) [A-Z][a-z]*$/,
  },
];
