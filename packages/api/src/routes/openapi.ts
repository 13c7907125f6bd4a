import type Router from '@koa/router';
import { ROUTE_DOCS } from '../openapi-routes.js';
import { SCHEMAS } from '../openapi-schemas.js';
import type { FieldDoc, RouteDoc } from '../openapi-routes.js';

const envelope = (data: object) => ({
  type: 'object',
  required: ['status_code', 'message', 'data'],
  properties: { status_code: { type: 'integer' }, message: { type: 'string' }, data },
});

const schemaOf = (field: FieldDoc) => {
  const { type, description, format } = field;
  if (type === 'array') return { type, description, items: { type: 'string' } };
  if (type === 'object') return { type, description, additionalProperties: { type: 'string' } };
  return { type, description, ...(format ? { format } : {}) };
};

function operation(doc: RouteDoc | undefined, method: string, path: string, params: string[]) {
  const parameters = [
    ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...Object.entries(doc?.query ?? {}).map(([name, field]) => ({ name, in: 'query', required: false, schema: schemaOf(field) })),
  ];
  const responses: Record<string, object> = {
    '200': doc?.produces
      ? { description: 'OK', content: { [doc.produces]: { schema: { type: 'string' } } } }
      : { description: 'OK', content: { 'application/json': { schema: envelope(doc?.data ?? {}) } } },
  };
  for (const status of [400, 401, ...(doc?.errors ?? [])]) {
    responses[String(status)] = {
      description: 'Error: the message names the field or the reason',
      content: { 'application/json': { schema: envelope({ type: 'object', nullable: true, description: 'null' }) } },
    };
  }
  const op: Record<string, unknown> = {
    operationId: `${method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: doc?.summary ?? 'Undocumented',
    tags: doc?.tags ?? [],
    parameters,
    responses,
  };
  if (!doc) op['x-undocumented'] = true;
  if (doc?.body) {
    // OpenAPI 3.0 takes no empty `required` list: it is left out when nothing is
    const schema = {
      type: 'object',
      ...(doc.required && doc.required.length > 0 ? { required: doc.required } : {}),
      properties: Object.fromEntries(Object.entries(doc.body).map(([k, f]) => [k, schemaOf(f)])),
    };
    op.requestBody = {
      content: { 'multipart/form-data': { schema }, 'application/x-www-form-urlencoded': { schema }, 'application/json': { schema } },
    };
  }
  if (path !== '/health') op.security = [{ bearer: [] }];
  return op;
}

/** `GET /openapi.json`: OpenAPI 3.0 built from the routes actually registered on the router. */
export function openApiRoutes(router: Router): void {
  let document: object | undefined;
  const build = () => {
    const paths: Record<string, Record<string, object>> = {};
    for (const layer of router.stack) {
      const path = String(layer.path).replace(/:([A-Za-z_]+)/g, '{$1}');
      const params = layer.paramNames.map((param) => String(param.name));
      for (const method of layer.methods.filter((m) => m !== 'HEAD')) {
        (paths[path] ??= {})[method.toLowerCase()] = operation(ROUTE_DOCS[`${method} ${path}`], method.toLowerCase(), path, params);
      }
    }
    return {
      openapi: '3.0.3',
      info: {
        title: 'Coyotes HTTP API',
        version: '1',
        description: 'Asynchronous command-execution queue. Responses: {status_code, message, data}.',
      },
      components: {
        schemas: SCHEMAS,
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'Needed on every route but /health when --http-token is set' },
        },
      },
      paths,
    };
  };
  router.get('/openapi.json', (ctx) => {
    document ??= build();
    ctx.body = document;
  });
}
