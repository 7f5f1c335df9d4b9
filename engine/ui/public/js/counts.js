// Open incidents and open tasks for the navigation badges.
import { usePoll } from './lib.js';
import { api } from './api.js';

export function useCounts() {
  const { data } = usePoll(async () => {
    const [incidents, tasks] = await Promise.all([api('/api/incidents?state=open'), api('/api/tasks?state=open')]);
    return { incidents: incidents.incidents.length, tasks: tasks.tasks.length };
  });
  return data ?? { incidents: 0, tasks: 0 };
}
