/** Builds the OpenAPI 3.1 document from the routes' own zod schemas. */
import { z } from 'zod';
import { ErrorResponse } from './schemas.ts';
import type { AnyRouteSpec, RouteBook } from './route.ts';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parameters(route: AnyRouteSpec): JsonSchema[] {
  const result: JsonSchema[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (!schema) continue;
    const object = jsonSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      result.push({ name, in: where, required: where === 'path' || (object.required ?? []).includes(name), schema: property });
    }
  }
  for (const [name, description] of Object.entries(route.headers ?? {})) {
    result.push({ name, in: 'header', required: false, description, schema: { type: 'string' } });
  }
  return result;
}

function requestBody(route: AnyRouteSpec): JsonSchema | undefined {
  if (route.bodyDoc) {
    const content: Record<string, JsonSchema> = {};
    for (const [type, doc] of Object.entries(route.bodyDoc)) {
      content[type] = { schema: doc.schema ? jsonSchema(doc.schema, 'input') : { type: 'string' }, ...(doc.schema ? {} : { description: doc.description }) };
    }
    return { required: true, content };
  }
  if (!route.body) return undefined;
  return { required: true, content: { 'application/json': { schema: jsonSchema(route.body, 'input') } } };
}

/** The OpenAPI document for every route in the book. */
export function buildOpenApi(book: RouteBook, info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const errorSchema = jsonSchema(ErrorResponse, 'output');
  for (const route of book.routes) {
    const path = openApiPath(route.url);
    const responses: Record<string, JsonSchema> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const type = response.contentType ?? 'application/json';
      responses[status] = {
        description: response.description,
        ...(response.schema ? { content: { [type]: { schema: jsonSchema(response.schema, 'output') } } } : {}),
      };
    }
    responses.default = { description: 'Error', content: { 'application/json': { schema: errorSchema } } };
    const body = requestBody(route);
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: route.summary,
      tags: [route.tag],
      ...(route.auth === 'bearer' ? { security: [{ bearer: [] }] } : { security: [] }),
      parameters: parameters(route),
      ...(body ? { requestBody: body } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Operon API', version: info.version, description: 'BPMN workflow engine: deployments, webhooks, instances, user tasks, messages, incidents and external job workers. See docs/http.md.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
