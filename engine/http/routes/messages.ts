/** Messages and incidents: what an operator or another system feeds into running instances. */
import { defineRoute, type RouteContext } from '../route.ts';
import { IncidentList, IncidentListQuery, IncidentResolved, InstanceIdParams, PublishMessageBody, PublishMessageResponse } from '../schemas.ts';

export function messageAndIncidentRoutes(context: RouteContext): void {
  const { engine } = context;

  defineRoute(context, {
    method: 'POST',
    url: '/api/messages',
    summary: 'Publish a message; it correlates to a waiting subscription (name + correlation key) or is buffered for timeToLiveMs',
    tag: 'messages',
    auth: 'bearer',
    body: PublishMessageBody,
    responses: { 200: { description: 'Whether the message reached an instance', schema: PublishMessageResponse } },
    async handler({ body, request }) {
      const result = await engine.publishMessage(body);
      request.log.info({ messageName: body.name, correlated: result.correlated, instanceId: result.instanceId }, 'message published');
      return { statusCode: 200, body: result };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/incidents',
    summary: 'Incidents, e.g. ?state=open',
    tag: 'incidents',
    auth: 'bearer',
    query: IncidentListQuery,
    responses: { 200: { description: 'Incidents', schema: IncidentList } },
    async handler({ query }) {
      return { statusCode: 200, body: { incidents: await engine.listIncidents({ state: query.state, instanceId: query.instanceId }) } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/incidents/:id/resolve',
    summary: 'Resolve an incident: the failed element is tried again',
    tag: 'incidents',
    auth: 'bearer',
    params: InstanceIdParams,
    responses: { 200: { description: 'Resolved', schema: IncidentResolved } },
    async handler({ params, request }) {
      await engine.resolveIncident(params.id);
      request.log.info({ incidentId: params.id }, 'incident resolved');
      return { statusCode: 200, body: { incidentId: params.id, state: 'resolved' } };
    },
  });
}
