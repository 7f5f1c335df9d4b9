/** Messages and incidents: what an operator or another system feeds into running instances. */
import { lookAhead, toPage } from '../pagination.ts';
import { defineRoute, type RouteContext } from '../route.ts';
import {
  BroadcastSignalBody,
  BroadcastSignalResponse,
  IncidentList,
  IncidentListQuery,
  IncidentResolved,
  InstanceIdParams,
  PublishMessageBody,
  PublishMessageResponse,
} from '../schemas.ts';
import { OperonError } from '../../errors.ts';
import { actorOf } from '../actor.ts';

export function messageAndIncidentRoutes(context: RouteContext): void {
  const { engine } = context;

  defineRoute(context, {
    method: 'POST',
    url: '/api/messages',
    summary:
      'Publish a message; it correlates to a waiting subscription (name + correlation key) or is buffered for timeToLiveMs. A messageId published before answers the first answer with duplicate: true and changes nothing',
    tag: 'messages',
    permission: 'operate',
    body: PublishMessageBody,
    responses: { 200: { description: 'Whether the message reached an instance', schema: PublishMessageResponse } },
    async handler({ body, request }) {
      const result = await engine.publishMessage(body);
      if (result.duplicate) return { statusCode: 200, body: result, headers: { 'idempotent-replayed': 'true' } };
      request.log.info(
        { messageName: body.name, correlated: result.correlated, instanceId: result.instanceId },
        'message published',
      );
      return { statusCode: 200, body: result };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/signals',
    summary:
      'Broadcast a signal to every waiting signal catch event and signal start event of that name (not buffered)',
    tag: 'messages',
    permission: 'operate',
    body: BroadcastSignalBody,
    responses: {
      200: { description: 'How many subscriptions and start events it reached', schema: BroadcastSignalResponse },
    },
    async handler({ body, request }) {
      if (!engine.broadcastSignal)
        throw new OperonError('OPERON_ERR_VALIDATION', 'This engine does not support signals');
      const result = await engine.broadcastSignal(body.name, body.variables ?? {});
      request.log.info({ signalName: body.name, receivers: result.receivers }, 'signal broadcast');
      return { statusCode: 200, body: result };
    },
  });

  defineRoute(context, {
    method: 'GET',
    url: '/api/incidents',
    summary: 'Incidents, oldest first, one page at a time; e.g. ?state=open',
    tag: 'incidents',
    permission: 'instances:read',
    query: IncidentListQuery,
    responses: { 200: { description: 'A page of incidents', schema: IncidentList } },
    async handler({ query }) {
      const rows = await engine.listIncidents({
        state: query.state,
        instanceId: query.instanceId,
        ...lookAhead(query),
      });
      const { items, page } = toPage(rows, query);
      return { statusCode: 200, body: { incidents: items, page } };
    },
  });

  defineRoute(context, {
    method: 'POST',
    url: '/api/incidents/:id/resolve',
    summary: 'Resolve an incident: the failed element is tried again',
    tag: 'incidents',
    permission: 'operate',
    params: InstanceIdParams,
    responses: { 200: { description: 'Resolved', schema: IncidentResolved } },
    async handler({ params, request }) {
      await engine.resolveIncident(params.id, { actor: actorOf(request) });
      request.log.info({ incidentId: params.id }, 'incident resolved');
      return { statusCode: 200, body: { incidentId: params.id, state: 'resolved' } };
    },
  });
}
