// Open incidents and open tasks for the navigation badges (one page each: "500+" when more follow).
import { usePoll } from './lib.js';
import { api } from './api.js';

export function useCounts() {
  const { data } = usePoll(async () => {
    const [incidents, tasks] = await Promise.all([
      api('/api/incidents?state=open&limit=500'),
      api('/api/tasks?state=open&limit=500'),
    ]);
    const count = (list, page) => (page?.nextOffset != null ? `${list.length}+` : list.length);
    return { incidents: count(incidents.incidents, incidents.page), tasks: count(tasks.tasks, tasks.page) };
  });
  return data ?? { incidents: 0, tasks: 0 };
}
