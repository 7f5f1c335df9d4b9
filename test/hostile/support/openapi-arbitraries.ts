/**
 * fast-check arbitraries for requests to every operation of an OpenAPI 3.1 document: path
 * parameters, query strings, headers and bodies drawn from the JSON schemas that validate them,
 * then mutated (a field replaced by random JSON, an extra or prototype-polluting key, junk instead
 * of the body). Only the schema keywords our zod-generated document uses are understood; anything
 * else becomes random JSON.
 */
import fc from 'fast-check';

type JsonSchema = Record<string, any>;
type Method = 'GET' | 'POST' | 'PUT';

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema?: JsonSchema;
}

export interface Operation {
  method: Method;
  /** OpenAPI path with `{param}` placeholders. */
  path: string;
  parameters: Parameter[];
  body?: { contentTypes: string[]; schema?: JsonSchema };
}

export interface FuzzRequest {
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

/** Values capped so a valid request cannot make the fuzz wait (a long-poll of up to 60 s). */
const CAPS: Record<string, number> = { requestTimeoutMs: 20 };

const JUNK_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '__proto__',
  'constructor',
  '../../etc/passwd',
  '%00',
  'null',
  '-1',
  '1e309',
  'a'.repeat(5_000),
  '<x/>',
];

export function operationsOf(document: JsonSchema): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<JsonSchema>(document.paths ?? {})) {
    for (const [method, operation] of Object.entries<JsonSchema>(item)) {
      if (!['get', 'post', 'put'].includes(method)) continue;
      const content = operation.requestBody?.content as Record<string, { schema?: JsonSchema }> | undefined;
      operations.push({
        method: method.toUpperCase() as Method,
        path,
        parameters: (operation.parameters ?? []) as Parameter[],
        body: content ? { contentTypes: Object.keys(content), schema: content['application/json']?.schema } : undefined,
      });
    }
  }
  return operations;
}

function resolve(schema: JsonSchema, document: JsonSchema): JsonSchema {
  const ref = schema?.$ref as string | undefined;
  if (!ref?.startsWith('#/')) return schema;
  return (
    ref
      .slice(2)
      .split('/')
      .reduce<any>((node, key) => node?.[key], document) ?? {}
  );
}

/** Values that satisfy `schema` (mostly: formats and bounds are honoured, patterns are not). */
export function valueFor(
  raw: JsonSchema | undefined,
  document: JsonSchema,
  known: string[],
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = raw ? resolve(raw, document) : undefined;
  if (!schema || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => valueFor(s, document, known, depth + 1)));
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => valueFor({ ...schema, type }, document, known, depth)));
  switch (types[0]) {
    case 'string':
      if (schema.format === 'uuid') return fc.oneof(fc.uuid(), fc.constantFrom(...known));
      if (schema.format === 'date-time')
        return fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
      return fc.oneof(
        fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) }),
        fc.constantFrom(...known),
      );
    case 'integer': {
      const min = schema.minimum ?? schema.exclusiveMinimum ?? -1_000_000;
      const max = Math.max(min, schema.maximum ?? schema.exclusiveMaximum ?? 1_000_000);
      return fc.oneof(
        fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }),
        fc.constantFrom(min, max),
      );
    }
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true, min: schema.minimum, max: schema.maximum });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valueFor(schema.items, document, known, depth + 1), { maxLength: 3 });
    case 'object': {
      const properties = Object.entries<JsonSchema>(schema.properties ?? {});
      if (properties.length === 0)
        return fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
      const shape = Object.fromEntries(
        properties.map(([key, value]) => [key, valueFor(value, document, known, depth + 1)]),
      );
      return fc.record(shape, { requiredKeys: (schema.required ?? []) as string[] }).map((value) => {
        const capped = value as Record<string, unknown>;
        for (const [key, cap] of Object.entries(CAPS))
          if (typeof capped[key] === 'number') capped[key] = Math.min(capped[key] as number, cap);
        return capped;
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A schema-shaped value, or a near miss of it, or junk. */
function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.jsonValue({ maxDepth: 2 }), fc.nat()).map(([value, replacement, pick]) => {
        if (!value || typeof value !== 'object' || Array.isArray(value)) return replacement;
        const keys = Object.keys(value);
        return keys.length === 0 ? replacement : { ...value, [keys[pick % keys.length]!]: replacement };
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }))
        .map(([value, key, extra]) =>
          value && typeof value === 'object' && !Array.isArray(value) ? { ...value, [key]: extra } : value,
        ),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}

function textFor(value: fc.Arbitrary<unknown>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))) },
    { weight: 1, arbitrary: fc.constantFrom(...JUNK_STRINGS) },
  );
}

/** Header values must be printable ASCII (the HTTP layer refuses anything else before the app sees it). */
const headerText = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  maxLength: 60,
});

const RAW_BODIES = [
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  `{"a":${'['.repeat(5_000)}`,
  '\u0000',
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
  '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"><bpmn:process id="__proto__"/></bpmn:definitions>',
];

/** encodeURIComponent, except that a lone surrogate is sent as the bytes of one (invalid UTF-8 on the wire). */
function encodePathSegment(value: string): string {
  const lone = /([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/;
  return value
    .split(lone)
    .map((part, i) => (i % 2 === 1 ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');
}

export function requestFor(operation: Operation, document: JsonSchema, known: string[]): fc.Arbitrary<FuzzRequest> {
  const pathParams = operation.parameters.filter((p) => p.in === 'path');
  const queryParams = operation.parameters.filter((p) => p.in === 'query');
  const headerParams = operation.parameters.filter((p) => p.in === 'header');

  const path = fc
    .tuple(
      ...pathParams.map((p) =>
        textFor(mutated(valueFor(p.schema, document, known))).map((value) => [p.name, value] as const),
      ),
    )
    .map((pairs) => {
      let url = operation.path;
      for (const [name, value] of pairs) url = url.replace(`{${name}}`, encodePathSegment(value));
      return url;
    });
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc.option(
          textFor(mutated(valueFor(p.schema, document, known))).map((value) => [p.name, value] as const),
          { nil: undefined },
        ),
      ),
      fc.option(fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), { nil: undefined }),
    )
    .map((pairs) => {
      const search = new URLSearchParams();
      for (const pair of pairs) if (pair) search.append(pair[0], pair[1]);
      const text = search.toString();
      return text ? `?${text}` : '';
    });
  const headers = fc
    .tuple(
      ...headerParams.map((p) =>
        fc.option(
          headerText.map((value) => [p.name, value] as const),
          { nil: undefined },
        ),
      ),
    )
    .map((pairs) => Object.fromEntries(pairs.filter((pair): pair is readonly [string, string] => pair !== undefined)));

  let body: fc.Arbitrary<{ payload?: string; contentType?: string }> = fc.constant({});
  if (operation.body) {
    const json = operation.body.contentTypes.includes('application/json');
    const shaped = json
      ? mutated(valueFor(operation.body.schema, document, known)).map((value) => JSON.stringify(value) ?? 'null')
      : fc.string({ maxLength: 200 });
    body = fc.record({
      payload: fc.oneof(
        { weight: 5, arbitrary: shaped },
        { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) },
        { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
      ),
      contentType: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom(...operation.body.contentTypes.filter((type) => type !== 'multipart/form-data')),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'text/plain',
            'application/json; charset=utf-16',
            'multipart/form-data; boundary=x',
          ),
        },
      ),
    });
  } else if (operation.method !== 'GET') {
    // A body where none is expected.
    body = fc
      .option(
        fc.record({
          payload: fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v) ?? 'null'),
          contentType: fc.constant('application/json'),
        }),
        { nil: undefined },
      )
      .map((b) => b ?? {});
  }

  return fc.tuple(path, query, headers, body).map(([url, search, headerValues, { payload, contentType }]) => ({
    url: url + search,
    headers: { ...headerValues, ...(contentType ? { 'content-type': contentType } : {}) },
    payload,
  }));
}
