/** Builds the OpenAPI 3.1 document from the routes' own zod schemas. */
import { z } from 'zod';
import { ErrorResponse } from './schemas.ts';
import { authOf, type AnyRouteSpec, type RouteBook } from './route.ts';

type JsonSchema = Record<string, unknown>;

function toComponentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toComponentRefs);
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    result[key] =
      key === '$ref' && typeof child === 'string'
        ? child.replace('#/$defs/', '#/components/schemas/')
        : toComponentRefs(child);
  }
  return result;
}

/**
 * Converts zod schemas to JSON Schema; named schemas (zod `.meta({ id })`) are collected for
 * components.schemas and referenced from there, because `#/$defs/...` would point at the document root.
 */
class SchemaConverter {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const {
      $schema: _ignored,
      $defs,
      ...rest
    } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
    for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      this.components[id] ??= toComponentRefs(definition) as JsonSchema;
    }
    return toComponentRefs(rest) as JsonSchema;
  }
}

function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(route: AnyRouteSpec, schemas: SchemaConverter): JsonSchema[] {
  const result: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const object = schemas.convert(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      result.push({
        name,
        in: where,
        required: where === 'path' || (object.required ?? []).includes(name),
        schema: property,
      });
    }
  }
  for (const [name, description] of Object.entries(route.headers ?? {})) {
    result.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
  }
  return result;
}

function requestBody(route: AnyRouteSpec, schemas: SchemaConverter): JsonSchema | undefined {
  if (route.bodyDoc) {
    const content: Record<string, JsonSchema> = {};
    for (const [type, doc] of Object.entries(route.bodyDoc)) {
      content[type] = {
        schema: doc.schema ? schemas.convert(doc.schema, 'input') : { type: 'string' },
        ...(doc.schema ? {} : { description: doc.description }),
      };
    }
    return { required: true, content };
  }
  if (!route.body) return undefined;
  return { required: true, content: { 'application/json': { schema: schemas.convert(route.body, 'input') } } };
}

/** The OpenAPI document for every route in the book. */
export function buildOpenApi(book: RouteBook, info: { version: string }): JsonSchema {
  const schemas = new SchemaConverter();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const errorSchema = schemas.convert(ErrorResponse, 'output');
  for (const route of book.routes) {
    const path = openApiPath(route.url);
    const responses: Record<string, JsonSchema> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const type = response.contentType ?? 'application/json';
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { [type]: { schema: schemas.convert(response.schema, 'output') } } } : {}),
      };
    }
    responses.default = { description: 'Error', content: { 'application/json': { schema: errorSchema } } };
    const body = requestBody(route, schemas);
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: route.summary,
      tags: [route.tag],
      ...(authOf(route.permission) === 'bearer' || authOf(route.permission) === 'metrics'
        ? { security: [{ bearer: [] }] }
        : { security: [] }),
      // The permission a caller's roles must grant (docs/security.md).
      'x-operon-permission': route.permission,
      parameters: parameters(route, schemas),
      ...(body ? { requestBody: body } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Operon API',
      version: info.version,
      description:
        'BPMN workflow engine: deployments, webhooks, instances, user tasks, messages, incidents and external job workers. See docs/http.md.',
    },
    components: { schemas: schemas.components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
